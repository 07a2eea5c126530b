//! The editor side: spawns the real binary and speaks LSP over its stdin/stdout, answering the
//! server's requests (configuration, progress, lens refresh) like the chosen client profile.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;

use crate::WAIT;

// ───────────────────────────── LSP driver ─────────────────────────────

#[derive(Clone, Copy, PartialEq)]
pub enum Profile {
    /// A client that advertises nothing the server would ask back about: no
    /// workspace/configuration, no progress, no code-lens refresh.
    Minimal,
    /// Like VS Code: configuration pull, work-done progress, code-lens refresh.
    Editor,
}

pub type Pending = Arc<Mutex<HashMap<i64, oneshot::Sender<Value>>>>;

pub struct Lsp {
    pub child: Child,
    pub pid: u32,
    pub writer: Arc<tokio::sync::Mutex<ChildStdin>>,
    pub pending: Pending,
    pub seen: Arc<Mutex<HashMap<String, usize>>>,
    pub next_id: AtomicI64,
    /// Time from spawn to the `initialize` result.
    pub init_time: Duration,
    pub reader: tokio::task::JoinHandle<()>,
    pub _state: tempfile::TempDir,
}

pub struct LspOptions<'a> {
    pub profile: Profile,
    pub settings: Value,
    pub folders: &'a [PathBuf],
    /// Prepended to PATH (the fake `az`).
    pub path_prefix: Option<&'a Path>,
}

pub fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

pub async fn write_message(writer: &tokio::sync::Mutex<ChildStdin>, message: &Value) {
    let body = serde_json::to_vec(message).expect("json");
    let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    framed.extend_from_slice(&body);
    let mut writer = writer.lock().await;
    let _ = writer.write_all(&framed).await;
    let _ = writer.flush().await;
}

impl Lsp {
    /// A server for these folders and settings, with PATH as it is.
    pub async fn spawn(bin: &Path, profile: Profile, settings: Value, folders: &[PathBuf]) -> Lsp {
        let path_prefix = None;
        Lsp::start(
            bin,
            LspOptions {
                profile,
                settings,
                folders,
                path_prefix,
            },
        )
        .await
    }

    pub async fn start(bin: &Path, options: LspOptions<'_>) -> Lsp {
        let state = tempfile::tempdir().expect("temp dir");
        let mut command = Command::new(bin);
        command
            .arg("serve")
            .env("XDG_STATE_HOME", state.path())
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(state.path().join("server.log")).expect("log file"),
            ))
            .kill_on_drop(true);
        if let Some(prefix) = options.path_prefix {
            let path = std::env::var("PATH").unwrap_or_default();
            command.env("PATH", format!("{}:{path}", prefix.display()));
        }
        let started = Instant::now();
        let mut child = command.spawn().expect("spawn the server");
        let pid = child.id().expect("pid");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let writer = Arc::new(tokio::sync::Mutex::new(stdin));
        let pending: Pending = Arc::default();
        let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let reader = tokio::spawn(read_loop(
            BufReader::with_capacity(1 << 16, stdout),
            writer.clone(),
            pending.clone(),
            seen.clone(),
            options.settings.clone(),
        ));
        let mut lsp = Lsp {
            child,
            pid,
            writer,
            pending,
            seen,
            next_id: AtomicI64::new(0),
            init_time: Duration::ZERO,
            reader,
            _state: state,
        };
        let folders: Vec<Value> = options
            .folders
            .iter()
            .map(|p| json!({"uri": file_uri(p), "name": p.file_name().unwrap().to_string_lossy()}))
            .collect();
        let capabilities = match options.profile {
            Profile::Minimal => json!({"workspace": {"workspaceFolders": true}}),
            Profile::Editor => json!({
                "workspace": {"configuration": true, "workspaceFolders": true, "codeLens": {"refreshSupport": true}},
                "window": {"workDoneProgress": true, "showDocument": {"support": true}},
                "textDocument": {"synchronization": {"dynamicRegistration": false}}
            }),
        };
        let init = lsp
            .request(
                "initialize",
                json!({
                    "processId": null,
                    "rootUri": folders.first().map(|f| f["uri"].clone()).unwrap_or(Value::Null),
                    "capabilities": capabilities,
                    "workspaceFolders": folders,
                    "initializationOptions": {"azureSessions": options.settings},
                }),
            )
            .await
            .expect("initialize succeeds");
        lsp.init_time = started.elapsed();
        assert!(init["capabilities"]["executeCommandProvider"].is_object());
        lsp.notify("initialized", json!({})).await;
        lsp
    }

    pub async fn notify(&self, method: &str, params: Value) {
        write_message(
            &self.writer,
            &json!({"jsonrpc": "2.0", "method": method, "params": params}),
        )
        .await;
    }

    pub async fn start_request(&self, method: &str, params: Value) -> oneshot::Receiver<Value> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        write_message(
            &self.writer,
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        )
        .await;
        rx
    }

    pub async fn request(&self, method: &str, params: Value) -> Result<Value, Value> {
        let rx = self.start_request(method, params).await;
        answer(rx).await
    }

    pub async fn open(&self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
        )
        .await;
    }

    pub async fn run_line(&self, uri: &str, line: u32) -> Result<Value, Value> {
        self.request("workspace/executeCommand", run_line_params(uri, line))
            .await
    }

    pub fn seen(&self, method: &str) -> usize {
        self.seen.lock().unwrap().get(method).copied().unwrap_or(0)
    }

    /// (VmRSS, VmHWM) in bytes.
    /// The server's `XDG_STATE_HOME` (an agent's `mcp` needs the same to find its socket).
    pub fn state_dir(&self) -> &Path {
        self._state.path()
    }

    pub fn rss(&self) -> (u64, u64) {
        rss_of(self.pid)
    }

    pub async fn stop(mut self) {
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            self.request("shutdown", Value::Null),
        )
        .await;
        self.notify("exit", Value::Null).await;
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        self.reader.abort();
    }
}

pub fn run_line_params(uri: &str, line: u32) -> Value {
    json!({"command": "azure-sessions.run", "arguments": [{
        "uri": uri,
        "range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}}
    }]})
}

pub async fn answer(rx: oneshot::Receiver<Value>) -> Result<Value, Value> {
    let message = tokio::time::timeout(WAIT, rx)
        .await
        .expect("the server answers in time")
        .expect("the server is running");
    match message.get("error") {
        Some(error) => Err(error.clone()),
        None => Ok(message["result"].clone()),
    }
}

pub async fn read_loop(
    mut reader: BufReader<tokio::process::ChildStdout>,
    writer: Arc<tokio::sync::Mutex<ChildStdin>>,
    pending: Pending,
    seen: Arc<Mutex<HashMap<String, usize>>>,
    settings: Value,
) {
    let mut line = String::new();
    loop {
        let mut length = 0usize;
        loop {
            line.clear();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some(value) = header.strip_prefix("Content-Length: ") {
                length = value.parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let Ok(message) = serde_json::from_slice::<Value>(&body) else {
            continue;
        };
        let Some(method) = message.get("method").and_then(Value::as_str) else {
            if let Some(id) = message["id"].as_i64()
                && let Some(tx) = pending.lock().unwrap().remove(&id)
            {
                let _ = tx.send(message);
            }
            continue;
        };
        *seen.lock().unwrap().entry(method.to_owned()).or_default() += 1;
        if let Some(id) = message.get("id") {
            let result = if method == "workspace/configuration" {
                let items = message["params"]["items"].as_array().map_or(0, Vec::len);
                Value::Array(vec![settings.clone(); items])
            } else {
                Value::Null
            };
            write_message(
                &writer,
                &json!({"jsonrpc": "2.0", "id": id, "result": result}),
            )
            .await;
        }
    }
}

pub fn rss_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
