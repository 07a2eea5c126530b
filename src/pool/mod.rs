//! The local pool: a loopback HTTP server that speaks the dynamic-sessions data-plane API and
//! runs code on this machine, one long-lived interpreter per session.
//!
//! Layout: `routes` (HTTP surface) and `files` (files API) sit on `session` (registry and
//! per-session actor), which drives `interpreter` (process and worker protocol, with `capture`
//! bounding output); `errors` shapes Azure error bodies. `worker.py` and `worker.js` (with
//! `toplevel.js`) are the scripts the interpreters run. `piston` answers the custom-container
//! route the way Piston does: one stateless job per request, with this machine's toolchains.

mod capture;
mod errors;
mod executions;
mod files;
mod guard;
mod interpreter;
pub mod key;
mod piston;
mod routes;
mod session;
mod shell;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use capture::{EARLIER_OUTPUT_BEGIN, EARLIER_OUTPUT_END};
pub use errors::PoolError;

use interpreter::{Launcher, ProcessTable};
use session::{Registry, Settings};

const WORKER_PY: &str = include_str!("worker.py");
const WORKER_JS: &str = include_str!("worker.js");
const TOPLEVEL_JS: &str = include_str!("toplevel.js");
/// Temporary data roots are named `azure-sessions-pool-<uuid>` and hold `owner.pid`.
const TEMP_PREFIX: &str = "azure-sessions-pool-";
const OWNER_FILE: &str = "owner.pid";
/// Under the data root: one directory per running Piston-like job, removed when it ends.
const JOBS_DIR: &str = "jobs";

/// The language a pool runs by default (`/executions`, `/code/execute`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    Python,
    JavaScript,
    /// A Shell pool: each execution is one `bash` command (`shellCommand`).
    Shell,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::Shell => "shell",
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A language name the pool does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language '{0}': expected python, javascript or shell")]
pub struct UnknownLanguage(pub String);

impl FromStr for Language {
    type Err = UnknownLanguage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "python" | "py" | "python3" => Ok(Language::Python),
            "javascript" | "js" | "node" | "nodejs" => Ok(Language::JavaScript),
            "shell" | "shellscript" | "bash" | "sh" => Ok(Language::Shell),
            _ => Err(UnknownLanguage(s.to_string())),
        }
    }
}

/// How to run a local pool.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    pub language: Language,
    /// A session idle this long ends: interpreter killed, files deleted.
    pub cooldown: Duration,
    /// More live sessions than this get 404 `SessionsCountExceedsLimit` (as Azure answers).
    pub max_sessions: usize,
    /// Default and largest `timeoutInSeconds`.
    pub max_timeout: Duration,
    /// Where session directories live; `None`: a fresh temporary directory, removed on shutdown.
    pub data_root: Option<PathBuf>,
    /// Hard cap on the bytes of stdout (and of stderr) kept per execution.
    pub output_cap_bytes: usize,
    /// The key every request must carry (`Authorization: Bearer KEY`); `None`: a random
    /// 256-bit key.
    pub key: Option<String>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            port: 0,
            language: Language::Python,
            cooldown: Duration::from_secs(1800),
            max_sessions: 64,
            max_timeout: Duration::from_secs(220),
            data_root: None,
            output_cap_bytes: 8 * 1024 * 1024,
            key: None,
        }
    }
}

/// A running local pool. Dropping it kills its interpreters; `shutdown` also stops cleanly.
pub struct LocalPool {
    addr: SocketAddr,
    key: String,
    registry: Arc<Registry>,
    processes: ProcessTable,
    runtimes: Arc<piston::Runtimes>,
    stop_server: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    reaper: JoinHandle<()>,
    temp_root: Option<PathBuf>,
}

impl LocalPool {
    /// Binds 127.0.0.1:`port` and starts serving.
    pub async fn start(opts: PoolOptions) -> anyhow::Result<LocalPool> {
        let (root, temp_root) = match &opts.data_root {
            Some(root) => (root.clone(), None),
            None => {
                sweep_stale_temp_roots();
                let root = std::env::temp_dir()
                    .join(format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple()));
                (root.clone(), Some(root))
            }
        };
        let settings = match prepare_root(&root, &opts) {
            Ok(settings) => Arc::new(settings),
            Err(e) => {
                if let Some(temp) = &temp_root {
                    let _ = std::fs::remove_dir_all(temp);
                }
                return Err(e);
            }
        };

        let listener = match tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, opts.port)).await {
            Ok(listener) => listener,
            Err(e) => {
                if let Some(temp) = &temp_root {
                    let _ = std::fs::remove_dir_all(temp);
                }
                return Err(e).with_context(|| format!("binding 127.0.0.1:{}", opts.port));
            }
        };
        let addr = listener.local_addr()?;

        let processes = ProcessTable::default();
        let registry = Arc::new(Registry::new(settings.clone(), processes.clone()));
        // Detected on first use (or by `serve_forever`, after the banner), so starting is quick.
        let runtimes =
            piston::Runtimes::new(&settings.python.program, &settings.javascript.program);
        let state = routes::AppState {
            registry: registry.clone(),
            settings: settings.clone(),
            started_at: OffsetDateTime::now_utc(),
            runtimes: Default::default(),
            piston: Arc::new(piston::Piston::new(runtimes.clone(), root.join(JOBS_DIR))),
            processes: processes.clone(),
        };
        let key = opts
            .key
            .clone()
            .filter(|k| !k.is_empty())
            .unwrap_or_else(crate::private::random_key);
        let app = routes::router(state, guard::Guard::new(key.clone(), addr.port()));
        let (stop_server, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!("local pool server ended: {e}");
            }
        });

        // Idle sessions expire like Azure's; check often enough for small cooldowns.
        let period =
            (settings.cooldown / 4).clamp(Duration::from_millis(20), Duration::from_secs(30));
        let reaping = registry.clone();
        let reaper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                reaping.reap_expired().await;
            }
        });

        tracing::info!(%addr, language = %opts.language, root = %root.display(), "local pool listening");
        Ok(LocalPool {
            addr,
            key,
            registry,
            processes,
            runtimes,
            stop_server: Some(stop_server),
            server: Some(server),
            reaper,
            temp_root,
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The key every request must carry as `Authorization: Bearer KEY`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The toolchains the custom route runs, as `azure-sessions-lsp pool` prints them:
    /// `runtimes: python 3.11.2, javascript 20.11.1, c++ 12.2.0, …` (Piston's language names;
    /// `runtimes: none` when there is none). Detects them all on the first call.
    pub async fn runtimes_line(&self) -> String {
        self.runtimes.summary().await
    }

    /// Stops serving, ends every session (interpreters killed, files deleted) and removes the
    /// temporary data directory.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop_server.take() {
            let _ = stop.send(());
        }
        self.reaper.abort();
        // Ending the sessions first lets running executions answer instead of hanging.
        self.registry.close_all().await;
        if let Some(server) = self.server.take() {
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(3), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        // Drop finishes the rest.
    }
}

impl Drop for LocalPool {
    fn drop(&mut self) {
        self.processes.kill_all();
        self.reaper.abort();
        if let Some(server) = self.server.take() {
            server.abort();
        }
        if let Some(temp) = self.temp_root.take() {
            let _ = std::fs::remove_dir_all(temp);
        }
    }
}

/// Creates the pool's directories and worker scripts and resolves its settings.
fn prepare_root(root: &Path, opts: &PoolOptions) -> anyhow::Result<Settings> {
    let private = |path: &Path| {
        crate::platform::create_private_dir(path, true)
            .with_context(|| format!("creating {}", path.display()))
    };
    private(root)?;
    std::fs::write(root.join(OWNER_FILE), std::process::id().to_string())
        .context("writing owner.pid")?;
    let sessions_dir = root.join("sessions");
    let uploads_dir = root.join("uploads");
    let runtime_dir = root.join("runtime");
    let jobs_dir = root.join(JOBS_DIR);
    for dir in [&sessions_dir, &uploads_dir, &runtime_dir, &jobs_dir] {
        private(dir)?;
    }
    std::fs::write(runtime_dir.join("worker.py"), WORKER_PY).context("writing worker.py")?;
    std::fs::write(runtime_dir.join("worker.js"), WORKER_JS).context("writing worker.js")?;
    std::fs::write(runtime_dir.join("toplevel.js"), TOPLEVEL_JS).context("writing toplevel.js")?;
    Ok(Settings {
        language: opts.language,
        // Bounded so that deadline and expiry arithmetic can never overflow.
        cooldown: opts.cooldown.min(Duration::from_secs(365 * 24 * 3600)),
        max_sessions: opts.max_sessions.max(1),
        max_timeout: opts
            .max_timeout
            .clamp(Duration::from_millis(100), Duration::from_secs(24 * 3600)),
        output_cap: opts.output_cap_bytes.max(1024),
        sessions_dir,
        uploads_dir,
        python: Launcher::new(Language::Python, &runtime_dir),
        javascript: Launcher::new(Language::JavaScript, &runtime_dir),
    })
}

/// Removes the temporary data roots of pool processes that ended without shutting down (killed,
/// or exited without dropping their pool). Their interpreters end by themselves when the pool's
/// end of the worker socket closes; only the files would stay behind.
fn sweep_stale_temp_roots() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        let path = entry.path();
        let owner = std::fs::read_to_string(path.join(OWNER_FILE))
            .ok()
            .and_then(|pid| pid.trim().parse::<u32>().ok());
        let Some(pid) = owner else { continue };
        if !crate::platform::process_alive(pid) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// For `azure-sessions-lsp pool`: starts, writes the key file (`key_file`, else the default
/// place for the port), prints `listening on http://127.0.0.1:PORT` and `key: KEY` as the first
/// two lines on stdout, then `runtimes: …` (the custom route's toolchains) once they are
/// detected, and serves until ctrl-c (or SIGTERM; on Windows, the console's close). The key file goes when it stops.
pub async fn serve_forever(opts: PoolOptions, key_file: Option<PathBuf>) -> anyhow::Result<()> {
    let pool = LocalPool::start(opts).await?;
    let path = key_file.unwrap_or_else(|| key::default_key_path(pool.addr().port()));
    let _key_file = key::write_key_file(&path, pool.key())
        .map_err(|e| anyhow::anyhow!("could not write the pool's key file: {e}"))?;
    // One write, so a reader sees both lines together. A closed stdout does not stop the pool:
    // the key is in its file.
    let banner = format!("listening on {}\nkey: {}\n", pool.endpoint(), pool.key());
    let printed = {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(banner.as_bytes())
            .and_then(|()| stdout.flush())
    };
    if let Err(error) = printed {
        tracing::warn!(%error, "could not print the address and key");
    }
    // The third line, once the toolchains are known (a second or so; the pool serves already).
    let runtimes = pool.runtimes.clone();
    let list = tokio::spawn(async move {
        let line = format!("{}\n", runtimes.summary().await);
        let mut stdout = std::io::stdout().lock();
        let _ = stdout
            .write_all(line.as_bytes())
            .and_then(|()| stdout.flush());
    });
    tracing::info!(key_file = %path.display(), "the pool's key is also in its key file");
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for ctrl-c")?,
        r = crate::platform::terminated() => r.context("waiting for the stop signal")?,
    }
    list.abort();
    pool.shutdown().await;
    Ok(())
}
