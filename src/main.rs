//! The `azure-sessions-lsp` binary: the language server (default), `run`, `doctor` and `pool`.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use azure_sessions_lsp::cli::{self, PoolArgs, Reached};
use azure_sessions_lsp::doctor::{self, Pool};
use azure_sessions_lsp::pool::{Language, PoolOptions};
use azure_sessions_lsp::server::{self, ServerOptions};
use azure_sessions_lsp::sessions::{ExecuteRequest, ExecutionStatus};
use azure_sessions_lsp::settings;

#[derive(Parser)]
#[command(
    name = "azure-sessions-lsp",
    version,
    about = "Run code from your editor in Azure Container Apps dynamic sessions"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Accepted for editors that pass it; the server always speaks over stdio.
    #[arg(long, global = true, hide = true)]
    stdio: bool,
}

#[derive(Subcommand)]
enum Command {
    /// The language server over stdin/stdout (the default).
    Serve,
    /// Run a file (or `-` for standard input) in a session and print its output.
    Run(Box<RunArgs>),
    /// Check a pool step by step (endpoint, DNS, TLS, token, role, a one-line run, cold start)
    /// and print ok or the fix for each; exit 0 when all pass, 1 when one fails.
    Doctor(Box<DoctorArgs>),
    /// A Model Context Protocol server over stdio that runs code in the same session as the
    /// editor for the workspace folder (settings from flags/environment, then the folder's
    /// .vscode/settings.json azureSessions.* keys).
    Mcp(Box<McpArgs>),
    /// The local pool: a loopback server that speaks the dynamic-sessions API.
    Pool {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        #[arg(long, default_value = "python")]
        language: Language,
        /// Idle sessions end after this many seconds.
        #[arg(long, default_value_t = 1800)]
        cooldown_seconds: u64,
        /// Write the key here (0600) instead of $XDG_RUNTIME_DIR/azure-sessions-lsp/pool-PORT.key.
        #[arg(long)]
        key_file: Option<std::path::PathBuf>,
    },
    /// Print the settings schema (keys, types, defaults) as JSON.
    #[command(hide = true)]
    SettingsSchema,
}

#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    pool: PoolArgs,
    /// The session identifier; by default the one of the current directory (as the editor would use).
    #[arg(long, env = "AZURE_SESSIONS_SESSION")]
    session: Option<String>,
    /// Text given to the code as standard input.
    #[arg(long)]
    stdin: Option<String>,
    /// The file to run, or `-` for standard input.
    file: String,
}

#[derive(clap::Args)]
struct McpArgs {
    #[command(flatten)]
    pool: PoolArgs,
    /// The workspace folder (default: the current directory): its session, its settings, and
    /// the only place local files are read from or written to.
    #[arg(long)]
    workspace: Option<std::path::PathBuf>,
    /// Never use a running editor's language server for this folder: run alone, with the
    /// settings of the flags and `.vscode/settings.json`.
    #[arg(long)]
    standalone: bool,
}

#[derive(clap::Args)]
struct DoctorArgs {
    #[command(flatten)]
    pool: PoolArgs,
    /// Print the report as JSON (for editors) instead of one line per check.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `run` keeps stderr for the program's own stderr unless RUST_LOG asks for more.
    azure_sessions_lsp::logging::init(match cli.command {
        Some(Command::Run(_) | Command::Doctor(_) | Command::Mcp(_)) => "azure_sessions_lsp=warn",
        _ => "azure_sessions_lsp=info",
    });
    // The language server does little CPU work per message: one thread avoids handing every
    // message between threads (a third of the per-run overhead). Big answers are parsed on
    // the blocking pool so they never hold that thread.
    let mut builder = match cli.command {
        None | Some(Command::Serve) => tokio::runtime::Builder::new_current_thread(),
        Some(_) => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("azure-sessions-lsp: could not start: {error}");
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match runtime.block_on(server::serve_stdio(ServerOptions::default())) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("azure-sessions-lsp: {error}");
                ExitCode::from(2)
            }
        },
        Command::Run(args) => runtime.block_on(run(*args)),
        Command::Doctor(args) => runtime.block_on(doctor(*args)),
        Command::Mcp(args) => {
            let workspace = args
                .workspace
                .unwrap_or_else(|| std::path::PathBuf::from("."));
            match runtime.block_on(azure_sessions_lsp::mcp::serve_stdio(
                &args.pool,
                &workspace,
                args.standalone,
            )) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("azure-sessions-lsp mcp: {error}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Pool {
            port,
            language,
            cooldown_seconds,
            key_file,
        } => {
            let options = PoolOptions {
                port,
                language,
                cooldown: Duration::from_secs(cooldown_seconds.max(1)),
                ..PoolOptions::default()
            };
            match runtime.block_on(azure_sessions_lsp::pool::serve_forever(options, key_file)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("azure-sessions-lsp pool: {error:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::SettingsSchema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&settings::schema()).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
    }
}

/// `run`: exit 0 when the code succeeded, 1 when it failed, 2 for any other error.
async fn run(args: RunArgs) -> ExitCode {
    match run_inner(args).await {
        Ok(status) => status,
        Err(reason) => {
            eprintln!("azure-sessions-lsp: {reason}");
            ExitCode::from(2)
        }
    }
}

async fn run_inner(args: RunArgs) -> Result<ExitCode, String> {
    let code = if args.file == "-" {
        let mut code = String::new();
        std::io::stdin()
            .read_to_string(&mut code)
            .map_err(|e| format!("could not read standard input: {e}"))?;
        code
    } else {
        std::fs::read_to_string(&args.file)
            .map_err(|e| format!("could not read {}: {e}", args.file))?
    };
    let settings = args.pool.settings();
    let language = args.pool.language_for(&args.file)?;
    let Reached { pool, local } = cli::reach(&settings, &language).await?;
    let Pool {
        target,
        credentials,
        http: client,
        ..
    } = pool;
    let identifier = match args.session {
        Some(id) => id,
        None => {
            let dir = std::env::current_dir().map_err(|e| e.to_string())?;
            let dir = azure_sessions_lsp::identity::path_identity(&dir);
            let store = azure_sessions_lsp::identity::IdentityStore::open(
                &azure_sessions_lsp::identity::default_state_dir(),
            )
            .map_err(|e| format!("could not open the state directory: {e}"))?;
            store.identifier(&azure_sessions_lsp::identity::session_key(
                &settings.endpoint.identity(),
                settings.api.name(),
                &format!("folder:{dir}"),
            ))
        }
    };
    let mut timeout = settings.timeout;
    if timeout > settings::AZURE_RUN_LIMIT
        && settings::is_code_interpreter_host(target.endpoint().as_str())
    {
        eprintln!(
            "azure-sessions-lsp: --timeout-seconds {} is beyond what Azure allows: code-interpreter pools end a run at 220 s; using 220",
            timeout.as_secs()
        );
        timeout = settings::AZURE_RUN_LIMIT;
    }
    let request = ExecuteRequest {
        identifier: &identifier,
        code: &code,
        language: &language,
        stdin: args.stdin.as_deref(),
        timeout,
        cold_start_budget: settings.cold_start_timeout,
    };
    let on_retry = |notice: azure_sessions_lsp::sessions::RetryNotice| {
        // A long-running execution is polled quietly; only container waits are worth a line.
        if !notice.polling {
            eprintln!(
                "azure-sessions-lsp: waiting for the session container ({}, {:.0?} so far)",
                notice.reason, notice.waited
            );
        }
    };
    let outcome = client
        .execute(&target, &credentials, &request, &on_retry)
        .await;
    if let Some(pool) = local {
        pool.shutdown().await;
    }
    let execution = outcome.map_err(|e| e.to_string())?;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(execution.stdout.as_bytes());
    let _ = std::io::stderr().write_all(execution.stderr.as_bytes());
    match &execution.result {
        serde_json::Value::Null => {}
        serde_json::Value::String(s) => {
            let _ = writeln!(stdout, "{s}");
        }
        other if other.get("type").and_then(|t| t.as_str()) == Some("image") => {
            let _ = writeln!(
                stdout,
                "[image result: {} format]",
                other.get("format").and_then(|f| f.as_str()).unwrap_or("?")
            );
        }
        other => {
            let _ = writeln!(stdout, "{other}");
        }
    }
    let _ = stdout.flush();
    Ok(match execution.status {
        ExecutionStatus::Succeeded => ExitCode::SUCCESS,
        ExecutionStatus::Failed => ExitCode::from(1),
    })
}

/// `doctor`: exit 0 when no check failed (warnings allowed), 1 when one did.
async fn doctor(args: DoctorArgs) -> ExitCode {
    let settings = args.pool.settings();
    let language = match args.pool.language_for("") {
        Ok(language) => language,
        Err(reason) => {
            eprintln!("azure-sessions-lsp: {reason}");
            return ExitCode::from(2);
        }
    };
    let reached = cli::reach(&settings, &language).await;
    let (pool, local) = match reached {
        Ok(Reached { pool, local }) => (Ok(pool), local),
        Err(reason) => (Err(reason), None),
    };
    let input = doctor::Input {
        settings,
        language,
        pool,
    };
    let report = doctor::diagnose(&input).await;
    if let Some(pool) = local {
        pool.shutdown().await;
    }
    let mut stdout = std::io::stdout().lock();
    let _ = if args.json {
        writeln!(stdout, "{}", report.to_json_text())
    } else {
        write!(stdout, "{}", report.to_text())
    };
    let _ = stdout.flush();
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
