//! The `azure-sessions-lsp` binary: the language server (default), `run`, and `pool`.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use azure_sessions_lsp::auth::{AuthMode, Credentials};
use azure_sessions_lsp::pool::{Language, LocalPool, PoolOptions};
use azure_sessions_lsp::server::{self, ServerOptions};
use azure_sessions_lsp::sessions::{
    Api, ExecuteRequest, ExecutionStatus, HttpOptions, PoolTarget, SessionsClient,
};
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
    /// The pool management endpoint, or `local` for the built-in local pool.
    #[arg(long, env = "AZURE_SESSIONS_ENDPOINT", default_value = "")]
    endpoint: String,
    #[arg(long, env = "AZURE_SESSIONS_API", default_value = "executions", value_parser = ["executions", "legacy", "custom"])]
    api: String,
    #[arg(long, env = "AZURE_SESSIONS_API_VERSION")]
    api_version: Option<String>,
    #[arg(long, env = "AZURE_SESSIONS_CUSTOM_PATH", default_value = settings::DEFAULT_CUSTOM_PATH)]
    custom_path: String,
    #[arg(long, env = "AZURE_SESSIONS_AUTH", default_value = "auto", value_parser = ["auto", "azure-cli", "managed-identity", "none"])]
    auth: String,
    /// The pool's name for the language: python or javascript (bash on a Shell pool), or any
    /// name a custom container knows (c++, rust, java, …). By default from the file's extension.
    #[arg(long, env = "AZURE_SESSIONS_LANGUAGE")]
    language: Option<String>,
    /// The session identifier; by default the one of the current directory (as the editor would use).
    #[arg(long, env = "AZURE_SESSIONS_SESSION")]
    session: Option<String>,
    /// Text given to the code as standard input.
    #[arg(long)]
    stdin: Option<String>,
    /// How long the run may take (1-3600). Azure ends code-interpreter runs at 220 s and
    /// Container Apps ingress at 240 s; longer runs are for custom containers and the local pool.
    #[arg(long, env = "AZURE_SESSIONS_TIMEOUT_SECONDS", default_value_t = settings::DEFAULT_TIMEOUT_SECONDS)]
    timeout_seconds: u64,
    #[arg(long, env = "AZURE_SESSIONS_COLD_START_TIMEOUT_SECONDS", default_value_t = settings::DEFAULT_COLD_START_TIMEOUT_SECONDS)]
    cold_start_timeout_seconds: u64,
    /// The file to run, or `-` for standard input.
    file: String,
}

/// The language a `run` sends: `--language` (a code-interpreter pool's aliases normalised), else
/// the pool's name for the file's extension. Refused before any request when the pool cannot
/// run it.
fn run_language(api: Api, args: &RunArgs) -> Result<String, String> {
    use azure_sessions_lsp::languages;
    let (id, language) = match &args.language {
        Some(given) => {
            let given = given.trim().to_owned();
            let normalised = match (api, given.parse::<Language>()) {
                (Api::Custom, _) | (_, Err(_)) => given.clone(),
                (_, Ok(known)) => known.as_str().to_owned(),
            };
            (given, normalised)
        }
        None => {
            let id = languages::language_id("", &args.file).to_owned();
            let language = languages::pool_language(&id, &languages::Overrides::new());
            (id, language)
        }
    };
    languages::check_runnable(api, &id, &language).map_err(|e| {
        e.replace("azureSessions.api \"custom\"", "--api custom")
            .replace("azureSessions.languages", "--language")
    })?;
    Ok(language)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `run` keeps stderr for the program's own stderr unless RUST_LOG asks for more.
    azure_sessions_lsp::logging::init(match cli.command {
        Some(Command::Run(_)) => "azure_sessions_lsp=warn",
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
    let api = Api::parse(&args.api).ok_or("unknown api")?;
    let language = run_language(api, &args)?;
    let auth = AuthMode::parse(&args.auth).ok_or("unknown auth")?;
    let endpoint_setting = settings::Endpoint::parse(&args.endpoint)?;
    let mut local = None;
    let (endpoint, credentials) = match &endpoint_setting {
        settings::Endpoint::NotConfigured => {
            return Err(
                "no session pool is configured: pass --endpoint URL (the pool management endpoint) \
                 or --endpoint local, or set AZURE_SESSIONS_ENDPOINT"
                    .to_owned(),
            );
        }
        settings::Endpoint::Refused(reason) => return Err(reason.clone()),
        settings::Endpoint::Local => {
            // A custom pool's language travels in the path: any local pool serves it.
            let pool_language = match api {
                Api::Custom => Language::Python,
                _ => language.parse().map_err(|e| format!("{e}"))?,
            };
            let pool = LocalPool::start(PoolOptions {
                language: pool_language,
                max_timeout: Duration::from_secs(3600),
                ..PoolOptions::default()
            })
            .await
            .map_err(|e| format!("could not start the local pool: {e:#}"))?;
            let endpoint = pool.endpoint();
            let key = Credentials::PoolKey(pool.key().into());
            local = Some(pool);
            (endpoint, key)
        }
        settings::Endpoint::Remote(url) => (url.clone(), Credentials::None),
    };
    let target = PoolTarget::new(
        &endpoint,
        api,
        args.api_version.as_deref(),
        &args.custom_path,
    )
    .map_err(|e| e.to_string())?;
    // Tokens go only over https; a plain-http loopback pool gets its key (or nothing).
    let credentials = match (&endpoint_setting, target.endpoint().scheme()) {
        (settings::Endpoint::Local, _) => credentials,
        (_, "https") => Credentials::for_mode(auth),
        _ => azure_sessions_lsp::pool::key::find_key(target.endpoint())
            .map(|key| Credentials::PoolKey(key.into()))
            .unwrap_or(Credentials::None),
    };
    let identifier = match args.session {
        Some(id) => id,
        None => {
            let dir = std::env::current_dir().map_err(|e| e.to_string())?;
            let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
            let store = azure_sessions_lsp::identity::IdentityStore::open(
                &azure_sessions_lsp::identity::default_state_dir(),
            )
            .map_err(|e| format!("could not open the state directory: {e}"))?;
            store.identifier(&azure_sessions_lsp::identity::session_key(
                &endpoint_setting.identity(),
                api.name(),
                &format!("folder:{}", dir.display()),
            ))
        }
    };
    let mut timeout = Duration::from_secs(args.timeout_seconds.clamp(1, 3600));
    if timeout > settings::AZURE_RUN_LIMIT && settings::is_code_interpreter_host(&endpoint) {
        eprintln!(
            "azure-sessions-lsp: --timeout-seconds {} is beyond what Azure allows: code-interpreter pools end a run at 220 s; using 220",
            timeout.as_secs()
        );
        timeout = settings::AZURE_RUN_LIMIT;
    }
    let client = SessionsClient::new(&HttpOptions::default()).map_err(|e| e.to_string())?;
    let request = ExecuteRequest {
        identifier: &identifier,
        code: &code,
        language: &language,
        stdin: args.stdin.as_deref(),
        timeout,
        cold_start_budget: Duration::from_secs(args.cold_start_timeout_seconds.min(600)),
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
