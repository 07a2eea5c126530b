//! A loopback HTTP server that answers like Azure, scripted per test, recording every request.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: HashMap<String, String>,
    pub raw_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// What the fake answers.
pub enum Reply {
    Json(u16, Value),
    /// Status, extra headers, raw body.
    Raw(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Waits, then answers.
    Delay(Duration, Box<Reply>),
}

pub type Script = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

struct Shared {
    requests: Mutex<Vec<Recorded>>,
    count: AtomicUsize,
    script: Box<Script>,
}

pub struct FakePool {
    pub addr: SocketAddr,
    /// For a fake started with [`FakePool::start_https`]: the PEM file of its test CA.
    pub ca_file: Option<std::path::PathBuf>,
    _ca_dir: Option<tempfile::TempDir>,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FakePool {
    /// Starts a fake on 127.0.0.1; `script(request, n)` (n counts from 0) decides each answer.
    pub async fn start(
        script: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> FakePool {
        Self::start_on("127.0.0.1", script).await
    }

    /// The same on another loopback address (say 127.0.0.2).
    pub async fn start_on(
        ip: &str,
        script: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> FakePool {
        let listener = tokio::net::TcpListener::bind((ip, 0))
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("address");
        Self::serve(listener, addr, None, Box::new(script))
    }

    /// The same over https (`https://localhost:PORT`), with a certificate from a test CA whose
    /// PEM is in [`FakePool::ca_file`]: tokens are sent only over https.
    pub async fn start_https(
        script: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> FakePool {
        let (listener, addr, pem) = super::tls::https_listener().await;
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("fake-pool-ca.pem"), pem).expect("write the CA");
        Self::serve(listener, addr, Some(dir), Box::new(script))
    }

    fn serve<L>(
        listener: L,
        addr: SocketAddr,
        ca_dir: Option<tempfile::TempDir>,
        script: Box<Script>,
    ) -> FakePool
    where
        L: axum::serve::Listener,
        L::Addr: std::fmt::Debug,
    {
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            count: AtomicUsize::new(0),
            script,
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakePool {
            addr,
            ca_file: ca_dir.as_ref().map(|d| d.path().join("fake-pool-ca.pem")),
            _ca_dir: ca_dir,
            shared,
            task,
        }
    }

    pub fn endpoint(&self) -> String {
        match self.ca_file {
            Some(_) => format!("https://localhost:{}", self.addr.port()),
            None => format!("http://{}", self.addr),
        }
    }

    /// Network options that trust this fake's CA (none needed for plain http).
    pub fn http_options(&self) -> azure_sessions_lsp::sessions::HttpOptions {
        azure_sessions_lsp::sessions::HttpOptions {
            extra_ca_files: self.ca_file.iter().cloned().collect(),
            ..Default::default()
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.shared.count.load(Ordering::SeqCst)
    }

    /// The requests that executed code (POSTs with a `code`), leaving out session and file calls.
    pub fn executions(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| {
                r.method == Method::POST
                    && r.json()
                        .get("code")
                        .or(r.json().get("properties"))
                        .is_some()
            })
            .collect()
    }
}

impl Drop for FakePool {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 512 << 20)
        .await
        .unwrap_or_default();
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let query = form_urlencoded(&raw_query);
    let recorded = Recorded {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query,
        raw_query,
        headers: parts.headers,
        body,
    };
    let n = shared.count.fetch_add(1, Ordering::SeqCst);
    shared.requests.lock().unwrap().push(recorded.clone());
    let mut reply = (shared.script)(&recorded, n);
    loop {
        match reply {
            Reply::Delay(wait, next) => {
                tokio::time::sleep(wait).await;
                reply = *next;
            }
            Reply::Json(status, value) => {
                return (StatusCode::from_u16(status).unwrap(), axum::Json(value)).into_response();
            }
            Reply::Raw(status, headers, body) => {
                let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
                for (name, value) in headers {
                    response.headers_mut().insert(name, value.parse().unwrap());
                }
                return response;
            }
        }
    }
}

fn form_urlencoded(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let text = text.replace('+', " ");
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A successful answer of the executions API.
pub fn executions_ok(stdout: &str, result: Value) -> Reply {
    Reply::Json(
        200,
        json!({"id": "exec-1", "identifier": "x", "executionType": "Synchronous", "status": "Succeeded",
               "result": {"stdout": stdout, "stderr": "", "executionResult": result, "executionTimeInMilliseconds": 7}}),
    )
}

/// A failed answer of the executions API with this stderr.
pub fn executions_failed(stderr: &str) -> Reply {
    Reply::Json(
        200,
        json!({"id": "exec-1", "identifier": "x", "executionType": "Synchronous", "status": "Failed",
               "result": {"stdout": "", "stderr": stderr, "executionResult": null, "executionTimeInMilliseconds": 9}}),
    )
}

/// An Azure error body with `x-ms-error-code`.
pub fn azure_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::Raw(
        status,
        vec![
            ("content-type", "application/json".into()),
            ("x-ms-error-code", code.into()),
        ],
        json!({"error": {"code": code, "message": message, "traceId": "t"}})
            .to_string()
            .into_bytes(),
    )
}

pub fn status(status: u16) -> Reply {
    Reply::Raw(status, vec![], Vec::new())
}
