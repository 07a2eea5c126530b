//! An in-process harness: the real server over `tokio::io::duplex`, and a fake editor that
//! answers the server's requests and collects its notifications. Every wait is bounded.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{Mutex, Notify, oneshot};

use azure_sessions_lsp::server::{self, ServerOptions};

pub const WAIT: Duration = Duration::from_secs(30);

type Pending = Arc<std::sync::Mutex<HashMap<i64, oneshot::Sender<Value>>>>;
type Writer = Arc<Mutex<Box<dyn AsyncWrite + Send + Unpin>>>;

pub struct Lsp {
    writer: Writer,
    pending: Pending,
    messages: Arc<std::sync::Mutex<Vec<Value>>>,
    arrived: Arc<Notify>,
    next_id: AtomicI64,
    /// `workspace/configuration` answers by scope URI ("" for the window).
    pub config: Arc<std::sync::Mutex<HashMap<String, Value>>>,
    server_task: Option<tokio::task::JoinHandle<()>>,
    reader_task: tokio::task::JoinHandle<()>,
    /// The server process, when the harness runs the real binary.
    pub child: Option<tokio::process::Child>,
}

impl Drop for Lsp {
    fn drop(&mut self) {
        if let Some(task) = &self.server_task {
            task.abort();
        }
        self.reader_task.abort();
    }
}

/// The `initialize` parameters of a typical editor, with folders and options.
pub fn init_params(folders: &[&Path], options: Value) -> Value {
    let folders: Vec<Value> = folders
        .iter()
        .map(|p| json!({"uri": file_uri(p), "name": p.file_name().unwrap().to_string_lossy()}))
        .collect();
    json!({
        "processId": null,
        "rootUri": folders.first().map(|f| f["uri"].clone()).unwrap_or(Value::Null),
        "capabilities": {
            "workspace": {"configuration": true, "workspaceFolders": true, "codeLens": {"refreshSupport": true}},
            "window": {"workDoneProgress": true, "showDocument": {"support": true}},
            "textDocument": {"synchronization": {"dynamicRegistration": false}}
        },
        "workspaceFolders": folders,
        "initializationOptions": options,
    })
}

/// A path's `file:` URI; on Windows as VS Code sends them (`file:///c%3A/Users/…`).
pub fn file_uri(path: &Path) -> String {
    if cfg!(windows) {
        let text = path.to_string_lossy().replace('\\', "/");
        let text = text.strip_prefix("//?/").unwrap_or(&text);
        let b = text.as_bytes();
        if b.len() >= 2 && b[1] == b':' {
            let drive = (b[0] as char).to_ascii_lowercase();
            return format!("file:///{drive}%3A{}", text[2..].replace(' ', "%20"));
        }
    }
    format!("file://{}", path.display())
}

impl Lsp {
    /// Starts a server in process with its state in `state_dir` and initializes it with `params`.
    pub async fn start(state_dir: &Path, params: Value) -> Lsp {
        Lsp::start_configured(state_dir, params, HashMap::new()).await
    }

    /// Like [`Lsp::start`], with the `workspace/configuration` answers (by scope URI, "" for the
    /// window) in place before `initialized`, since the server pulls them at once.
    pub async fn start_configured(
        state_dir: &Path,
        params: Value,
        config: HashMap<String, Value>,
    ) -> Lsp {
        let (client_side, server_side) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_side);
        let options = ServerOptions {
            state_dir: Some(state_dir.to_owned()),
        };
        let server_task = tokio::spawn(server::serve(server_read, server_write, options));
        let (client_read, client_write) = tokio::io::split(client_side);
        let lsp = Lsp::connect(client_read, Box::new(client_write), Some(server_task), None);
        *lsp.config.lock().unwrap() = config;
        lsp.initialize(params).await;
        lsp
    }

    /// Starts the real binary (`serve`) with this environment; its stderr goes to `stderr_log`.
    pub async fn spawn(env: &[(&str, String)], stderr_log: &Path, params: Value) -> Lsp {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_azure-sessions-lsp"));
        command
            .arg("serve")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(stderr_log).expect("stderr log"))
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start the server");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let lsp = Lsp::connect(stdout, Box::new(stdin), None, Some(child));
        lsp.initialize(params).await;
        lsp
    }

    fn connect(
        reader: impl AsyncRead + Unpin + Send + 'static,
        writer: Box<dyn AsyncWrite + Send + Unpin>,
        server_task: Option<tokio::task::JoinHandle<()>>,
        child: Option<tokio::process::Child>,
    ) -> Lsp {
        let writer: Writer = Arc::new(Mutex::new(writer));
        let pending: Pending = Arc::default();
        let messages: Arc<std::sync::Mutex<Vec<Value>>> = Arc::default();
        let arrived = Arc::new(Notify::new());
        let config: Arc<std::sync::Mutex<HashMap<String, Value>>> = Arc::default();
        let reader_task = tokio::spawn(read_loop(
            BufReader::new(reader),
            writer.clone(),
            pending.clone(),
            messages.clone(),
            arrived.clone(),
            config.clone(),
        ));
        Lsp {
            writer,
            pending,
            messages,
            arrived,
            next_id: AtomicI64::new(0),
            config,
            server_task,
            reader_task,
            child,
        }
    }

    async fn initialize(&self, params: Value) {
        let init = self
            .request("initialize", params)
            .await
            .expect("initialize succeeds");
        assert!(init["capabilities"]["executeCommandProvider"]["commands"].is_array());
        self.notify("initialized", json!({})).await;
    }

    /// Every message the server sent (answers included), as JSON text, for checks that
    /// something never appears.
    pub fn transcript_of_messages(&self) -> String {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Whether the server is still running (process mode) or its task (in process).
    pub fn alive(&mut self) -> bool {
        match (&mut self.child, &self.server_task) {
            (Some(child), _) => matches!(child.try_wait(), Ok(None)),
            (None, Some(task)) => !task.is_finished(),
            _ => false,
        }
    }

    pub async fn send(&self, message: Value) {
        let body = message.to_string();
        let mut writer = self.writer.lock().await;
        writer
            .write_all(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes())
            .await
            .expect("write to server");
        writer.flush().await.expect("flush");
    }

    /// Writes bytes to the server as they are: malformed frames, junk, a header without end.
    pub async fn send_raw(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut writer = self.writer.lock().await;
        writer.write_all(bytes).await?;
        writer.flush().await
    }

    /// A request that may fail without a panic: `None` when it cannot be written (the server
    /// is gone) or gets no answer within `wait`.
    pub async fn try_request(
        &self,
        method: &str,
        params: Value,
        wait: Duration,
    ) -> Option<Result<Value, Value>> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let body = body.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.send_raw(frame.as_bytes()).await.ok()?;
        let message = tokio::time::timeout(wait, rx).await.ok()?.ok()?;
        Some(match message.get("error") {
            Some(error) => Err(error.clone()),
            None => Ok(message["result"].clone()),
        })
    }

    /// Waits up to `wait` for any message from the server (answers included) that matches.
    pub async fn wait_message(
        &self,
        wait: Duration,
        predicate: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.arrived.notified();
            if let Some(found) = self.messages.lock().unwrap().iter().find(|m| predicate(m)) {
                return Some(found.clone());
            }
            tokio::time::timeout_at(deadline, notified).await.ok()?;
        }
    }

    pub async fn notify(&self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Sends a request and returns its id and the future of its answer (`Ok(result)` or `Err(error)`).
    pub async fn start_request(
        &self,
        method: &str,
        params: Value,
    ) -> (i64, oneshot::Receiver<Value>) {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        (id, rx)
    }

    pub async fn request(&self, method: &str, params: Value) -> Result<Value, Value> {
        let (_, rx) = self.start_request(method, params).await;
        answer(rx, WAIT).await
    }

    pub async fn command(&self, command: &str, argument: Value) -> Result<Value, Value> {
        self.request(
            "workspace/executeCommand",
            json!({"command": command, "arguments": [argument]}),
        )
        .await
    }

    pub async fn open(&self, uri: &str, language: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}}),
        )
        .await;
    }

    /// Every message the server sent with this method (notifications and requests), in order.
    pub fn received(&self, method: &str) -> Vec<Value> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m["method"] == method)
            .map(|m| m["params"].clone())
            .collect()
    }

    /// Waits until a message with this method matches `predicate`; returns its params.
    pub async fn wait_for(&self, method: &str, predicate: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let notified = self.arrived.notified();
            if let Some(found) = self.received(method).into_iter().find(|p| predicate(p)) {
                return found;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "timed out waiting for {method}; got: {:?}",
                    self.received(method)
                );
            }
        }
    }

    /// The latest diagnostics published for a document.
    pub fn diagnostics(&self, uri: &str) -> Vec<Value> {
        self.received("textDocument/publishDiagnostics")
            .into_iter()
            .rev()
            .find(|p| p["uri"] == uri)
            .and_then(|p| p["diagnostics"].as_array().cloned())
            .unwrap_or_default()
    }
}

pub async fn answer(rx: oneshot::Receiver<Value>, wait: Duration) -> Result<Value, Value> {
    let message = tokio::time::timeout(wait, rx)
        .await
        .expect("the server answers in time")
        .expect("answer channel open");
    match message.get("error") {
        Some(error) => Err(error.clone()),
        None => Ok(message["result"].clone()),
    }
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut reader: BufReader<R>,
    writer: Writer,
    pending: Pending,
    messages: Arc<std::sync::Mutex<Vec<Value>>>,
    arrived: Arc<Notify>,
    config: Arc<std::sync::Mutex<HashMap<String, Value>>>,
) {
    loop {
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length: ") {
                length = value.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let message: Value = serde_json::from_slice(&body).expect("the server sends JSON");
        let is_response = message.get("method").is_none();
        if is_response {
            // Kept too, so tests can check that something never appears in any answer, or
            // wait for one that answers no request of theirs (an error about a bad frame).
            messages.lock().unwrap().push(message.clone());
            arrived.notify_waiters();
            if let Some(id) = message["id"].as_i64()
                && let Some(tx) = pending.lock().unwrap().remove(&id)
            {
                let _ = tx.send(message);
            }
            continue;
        }
        messages.lock().unwrap().push(message.clone());
        arrived.notify_waiters();
        if let Some(id) = message.get("id") {
            let result = match message["method"].as_str().unwrap_or("") {
                "workspace/configuration" => {
                    let config = config.lock().unwrap();
                    let items = message["params"]["items"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    Value::Array(
                        items
                            .iter()
                            .map(|item| {
                                let scope = item["scopeUri"].as_str().unwrap_or("");
                                config
                                    .get(scope)
                                    .or_else(|| config.get(""))
                                    .cloned()
                                    .unwrap_or(Value::Null)
                            })
                            .collect(),
                    )
                }
                "azure-sessions/getAccessToken" => {
                    json!({"token": "editor-t0ken-secret", "expiresOn": 4102444800i64})
                }
                _ => Value::Null,
            };
            let reply = json!({"jsonrpc": "2.0", "id": id, "result": result});
            let body = reply.to_string();
            let mut writer = writer.lock().await;
            let _ = writer
                .write_all(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes())
                .await;
            let _ = writer.flush().await;
        }
    }
}
