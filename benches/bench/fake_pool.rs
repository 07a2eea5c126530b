//! The fake pool on 127.0.0.1: fixed answers to executions (`POST …/executions`), the legacy
//! API (`POST …/code/execute`), custom containers (`POST …/{language}/execute`) and
//! `GET …/session`, with an optional delay per execution, a cold period of 502s and counters.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

// ───────────────────────────── fake pool ─────────────────────────────

pub struct PoolState {
    /// The answer to `POST …/executions` (already serialized).
    pub executions: Bytes,
    /// The answer to `POST …/code/execute` (the legacy API LangChain speaks).
    pub legacy: Bytes,
    /// The answer to `POST …/{language}/execute` (a custom container, as the local pool answers).
    pub custom: Bytes,
    /// Until then every request gets 502 (a cold container).
    pub cold_until: Mutex<Option<Instant>>,
    /// Each execution waits this long before answering (the pool's own time).
    pub delay: Duration,
    pub requests: Mutex<HashMap<String, usize>>,
    pub peers: Mutex<HashSet<u16>>,
    /// (identifier, code) of each execution in arrival order, when recording.
    pub record: bool,
    pub codes: Mutex<Vec<(String, String)>>,
    pub refused: AtomicUsize,
}

#[derive(Clone)]
pub struct FakePool {
    pub addr: SocketAddr,
    pub state: Arc<PoolState>,
}

pub fn executions_answer(stdout: &str) -> Bytes {
    Bytes::from(
        json!({"id": "exec-1", "identifier": "x", "executionType": "Synchronous", "status": "Succeeded",
               "result": {"stdout": stdout, "stderr": "", "executionResult": null, "executionTimeInMilliseconds": 3}})
        .to_string(),
    )
}

pub fn legacy_answer(stdout: &str) -> Bytes {
    Bytes::from(
        json!({"$id": "1", "properties": {"$id": "2", "status": "Success", "stdout": stdout, "stderr": "",
               "result": null, "executionTimeInMilliseconds": 3}})
        .to_string(),
    )
}

pub fn custom_answer(stdout: &str) -> Bytes {
    Bytes::from(
        json!({"status": "Succeeded", "stdout": stdout, "stderr": "", "result": null,
               "executionTimeInMilliseconds": 3})
        .to_string(),
    )
}

/// What the pool counts executions as, one kind per api.
pub const EXECUTION_KINDS: [&str; 3] = [
    "POST /executions",
    "POST /code/execute",
    "POST /{language}/execute",
];

impl PoolState {
    pub fn new(stdout: &str, delay: Duration, record: bool) -> Arc<PoolState> {
        Arc::new(PoolState {
            executions: executions_answer(stdout),
            legacy: legacy_answer(stdout),
            custom: custom_answer(stdout),
            cold_until: Mutex::new(None),
            delay,
            requests: Mutex::default(),
            peers: Mutex::default(),
            record,
            codes: Mutex::default(),
            refused: AtomicUsize::new(0),
        })
    }
}

/// A non-blocking listener on 127.0.0.1 at a free port, for a tokio runtime to take.
pub fn bind_loopback() -> (std::net::TcpListener, SocketAddr) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("address");
    (listener, addr)
}

impl FakePool {
    /// Starts a fake pool on the fake-pool runtime, on 127.0.0.1 only.
    pub fn start(
        rt: &tokio::runtime::Runtime,
        stdout: &str,
        delay: Duration,
        record: bool,
    ) -> FakePool {
        Self::serve(rt, PoolState::new(stdout, delay, record))
    }

    fn serve(rt: &tokio::runtime::Runtime, state: Arc<PoolState>) -> FakePool {
        let (listener, addr) = bind_loopback();
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
        FakePool { addr, state }
    }

    /// A pool whose `POST …/executions` answers these bytes.
    pub fn start_answering(rt: &tokio::runtime::Runtime, executions: Bytes) -> FakePool {
        let mut state = PoolState::new("", Duration::ZERO, false);
        Arc::get_mut(&mut state).expect("not shared yet").executions = executions;
        Self::serve(rt, state)
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn count(&self, key: &str) -> usize {
        self.state
            .requests
            .lock()
            .unwrap()
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    /// Requests of every kind.
    pub fn requests_total(&self) -> usize {
        self.state.requests.lock().unwrap().values().sum()
    }

    /// Requests that run no code: the prewarm's `HEAD` of the endpoint (or `GET /session`).
    pub fn prewarms(&self) -> usize {
        self.count("HEAD") + self.count("GET /session")
    }

    /// Executions of every api.
    pub fn executions(&self) -> usize {
        EXECUTION_KINDS.iter().map(|kind| self.count(kind)).sum()
    }

    pub fn reset_peers(&self) {
        self.state.peers.lock().unwrap().clear();
    }

    pub fn peers(&self) -> usize {
        self.state.peers.lock().unwrap().len()
    }

    pub fn cold_for(&self, wait: Duration) {
        *self.state.cold_until.lock().unwrap() = Some(Instant::now() + wait);
    }
}

pub async fn handle(
    State(state): State<Arc<PoolState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    respond(&state, Some(peer), request).await
}

pub async fn respond(state: &PoolState, peer: Option<SocketAddr>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let kind = if parts.method == Method::POST && path.ends_with("/executions") {
        "POST /executions"
    } else if parts.method == Method::POST && path.ends_with("/code/execute") {
        "POST /code/execute"
    } else if parts.method == Method::POST && path.ends_with("/execute") {
        "POST /{language}/execute"
    } else if parts.method == Method::GET && path.ends_with("/session") {
        "GET /session"
    } else if parts.method == Method::HEAD {
        "HEAD"
    } else {
        "other"
    };
    *state
        .requests
        .lock()
        .unwrap()
        .entry(kind.to_owned())
        .or_default() += 1;
    if let Some(peer) = peer {
        state.peers.lock().unwrap().insert(peer.port());
    }
    let cold = state
        .cold_until
        .lock()
        .unwrap()
        .is_some_and(|until| Instant::now() < until);
    if cold {
        state.refused.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::BAD_GATEWAY, "cold").into_response();
    }
    let json_response =
        |bytes: Bytes| ([("content-type", "application/json")], bytes).into_response();
    match kind {
        "POST /executions" | "POST /code/execute" | "POST /{language}/execute" => {
            if state.record {
                let identifier = parts
                    .uri
                    .query()
                    .unwrap_or("")
                    .split('&')
                    .find_map(|p| p.strip_prefix("identifier="))
                    .unwrap_or("")
                    .to_owned();
                let code = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_default();
                state.codes.lock().unwrap().push((identifier, code));
            }
            if !state.delay.is_zero() {
                tokio::time::sleep(state.delay).await;
            }
            json_response(match kind {
                "POST /executions" => state.executions.clone(),
                "POST /code/execute" => state.legacy.clone(),
                _ => state.custom.clone(),
            })
        }
        "GET /session" => json_response(Bytes::from_static(
            br#"{"identifier":"x","createdAt":"2026-01-01T00:00:00Z","etag":"e1"}"#,
        )),
        _ => (StatusCode::NOT_FOUND, "").into_response(),
    }
}
