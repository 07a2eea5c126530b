//! A pool that misbehaves on purpose, at the TCP level: cold starts, throttling, auth failures,
//! gateway HTML, resets mid-answer, truncated JSON, hangs, slow drips and huge bodies.
//! It counts the executions it really performed, so a test can prove nothing ran twice.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the pool answers one execution request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Runs the code and answers 200 with this stdout.
    Ok(String),
    /// Answers a status without running anything (502, 503, 504, 429, 401, 403, 404…).
    Refuse {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Runs the code, then answers 500.
    ServerError,
    /// Runs the code, sends half an answer, then resets the connection.
    ResetMidAnswer,
    /// Runs the code and answers 200 with JSON cut in the middle.
    TruncatedJson,
    /// Runs the code and never answers.
    Hang,
    /// Runs the code and sends the answer one byte every 100 ms.
    Drip,
    /// Runs the code and answers 200 with this many bytes of stdout.
    Huge(usize),
}

impl Fault {
    pub fn refuse(status: u16) -> Fault {
        Fault::Refuse {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// Whether the pool ran the code before answering this way.
    fn runs(&self) -> bool {
        !matches!(self, Fault::Refuse { .. })
    }
}

pub type Plan = dyn Fn(usize, Duration) -> Fault + Send + Sync;

struct Shared {
    started: Instant,
    requests: AtomicUsize,
    executed: AtomicUsize,
    plan: Box<Plan>,
    authorizations: Mutex<Vec<String>>,
    codes: Mutex<Vec<String>>,
}

pub struct MisbehavingPool {
    pub addr: SocketAddr,
    /// For [`MisbehavingPool::start_https`]: the PEM file of its test CA.
    pub ca_file: Option<std::path::PathBuf>,
    _ca_dir: Option<tempfile::TempDir>,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MisbehavingPool {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MisbehavingPool {
    /// `plan(n, since_start)` picks the answer to the n-th execution request (from 0).
    /// Session calls (`GET /session`) always answer 404 and count as nothing.
    pub async fn start(
        plan: impl Fn(usize, Duration) -> Fault + Send + Sync + 'static,
    ) -> MisbehavingPool {
        Self::start_with(plan, None).await
    }

    /// The same over https (`https://localhost:PORT`), with a certificate from a test CA whose
    /// PEM is in [`MisbehavingPool::ca_file`]: tokens are sent only over https.
    pub async fn start_https(
        plan: impl Fn(usize, Duration) -> Fault + Send + Sync + 'static,
    ) -> MisbehavingPool {
        let ca = super::tls::TestCa::new();
        let config = super::tls::server_config(
            &ca.leaf(super::tls::LeafKind::Good),
            super::tls::Alpn::Http11,
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_file = ca.write_pem(dir.path(), "misbehaving-ca.pem");
        let mut pool = Self::start_with(plan, Some(tokio_rustls::TlsAcceptor::from(config))).await;
        pool.ca_file = Some(ca_file);
        pool._ca_dir = Some(dir);
        pool
    }

    async fn start_with(
        plan: impl Fn(usize, Duration) -> Fault + Send + Sync + 'static,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> MisbehavingPool {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            started: Instant::now(),
            requests: AtomicUsize::new(0),
            executed: AtomicUsize::new(0),
            plan: Box::new(plan),
            authorizations: Mutex::new(Vec::new()),
            codes: Mutex::new(Vec::new()),
        });
        let accept_shared = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // Head and body go out in separate writes: without this, Nagle and delayed ACKs
                // add 40 ms to every answer.
                let _ = stream.set_nodelay(true);
                let shared = accept_shared.clone();
                match tls.clone() {
                    None => {
                        tokio::spawn(connection(stream, shared));
                    }
                    Some(acceptor) => {
                        tokio::spawn(async move {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                connection(stream, shared).await;
                            }
                        });
                    }
                }
            }
        });
        MisbehavingPool {
            addr,
            ca_file: None,
            _ca_dir: None,
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

    /// Execution requests received (retries included).
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Executions really performed.
    pub fn executed(&self) -> usize {
        self.shared.executed.load(Ordering::SeqCst)
    }

    /// The `code` of every execution request, in order.
    pub fn codes(&self) -> Vec<String> {
        self.shared.codes.lock().unwrap().clone()
    }

    pub fn authorizations(&self) -> Vec<String> {
        self.shared.authorizations.lock().unwrap().clone()
    }
}

/// A connection the pool can also reset (RST, not FIN), plain or TLS.
trait Conn: AsyncRead + AsyncWrite + Unpin + Send {
    fn reset(&mut self);
}

impl Conn for TcpStream {
    fn reset(&mut self) {
        let _ = self.set_zero_linger();
    }
}

impl Conn for tokio_rustls::server::TlsStream<TcpStream> {
    fn reset(&mut self) {
        let _ = self.get_mut().0.set_zero_linger();
    }
}

async fn connection(mut stream: impl Conn, shared: Arc<Shared>) {
    let mut buffer = Vec::new();
    loop {
        let Some((head, body_start)) = read_head(&mut stream, &mut buffer).await else {
            return;
        };
        let length = header(&head, "content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        while buffer.len() < body_start + length {
            let mut chunk = [0u8; 65536];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buffer
            .drain(..body_start + length)
            .skip(body_start)
            .collect();
        if let Some(auth) = header(&head, "authorization") {
            shared.authorizations.lock().unwrap().push(auth);
        }
        let first_line = head.lines().next().unwrap_or_default().to_owned();
        if !first_line.starts_with("POST ") {
            let _ = write_response(&mut stream, 404, &[], b"").await;
            continue;
        }
        let code = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned))
            .unwrap_or_default();
        shared.codes.lock().unwrap().push(code);
        let n = shared.requests.fetch_add(1, Ordering::SeqCst);
        let fault = (shared.plan)(n, shared.started.elapsed());
        if fault.runs() {
            shared.executed.fetch_add(1, Ordering::SeqCst);
        }
        let keep_going = answer(&mut stream, fault).await;
        if !keep_going {
            return;
        }
    }
}

/// Reads up to the end of the head; returns the head text and where the body starts.
async fn read_head(stream: &mut impl Conn, buffer: &mut Vec<u8>) -> Option<(String, usize)> {
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some((
                String::from_utf8_lossy(&buffer[..end]).into_owned(),
                end + 4,
            ));
        }
        let mut chunk = [0u8; 8192];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

fn ok_body(stdout: &str) -> String {
    format!(
        r#"{{"id":"e","identifier":"i","executionType":"Synchronous","status":"Succeeded","result":{{"stdout":{},"stderr":"","executionResult":null,"executionTimeInMilliseconds":3}}}}"#,
        serde_json::Value::String(stdout.to_owned())
    )
}

/// Answers; returns whether the connection may serve another request.
async fn answer(stream: &mut impl Conn, fault: Fault) -> bool {
    match fault {
        Fault::Ok(stdout) => write_response(stream, 200, &[], ok_body(&stdout).as_bytes())
            .await
            .is_ok(),
        Fault::Refuse {
            status,
            headers,
            body,
        } => {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            write_response(stream, status, &headers, body.as_bytes())
                .await
                .is_ok()
        }
        Fault::ServerError => {
            let body = r#"{"error":{"code":"InternalServerError","message":"Something went wrong.","traceId":"t"}}"#;
            write_response(
                stream,
                500,
                &[("x-ms-error-code", "InternalServerError")],
                body.as_bytes(),
            )
            .await
            .is_ok()
        }
        Fault::ResetMidAnswer => {
            let body = ok_body("never seen");
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body.as_bytes()[..body.len() / 2]).await;
            let _ = stream.flush().await;
            stream.reset();
            false
        }
        Fault::TruncatedJson => {
            let body = ok_body("cut");
            let cut = &body.as_bytes()[..body.len() - 20];
            write_response(stream, 200, &[], cut).await.is_ok()
        }
        Fault::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            false
        }
        Fault::Drip => {
            let body = ok_body("slowly");
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len() + 100_000
            );
            if stream.write_all(head.as_bytes()).await.is_err() {
                return false;
            }
            for byte in body.bytes().cycle() {
                if stream.write_all(&[byte]).await.is_err() || stream.flush().await.is_err() {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            false
        }
        Fault::Huge(size) => {
            let prefix = r#"{"id":"e","identifier":"i","executionType":"Synchronous","status":"Succeeded","result":{"stdout":""#;
            let suffix =
                r#"","stderr":"","executionResult":null,"executionTimeInMilliseconds":3}}"#;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                prefix.len() + size + suffix.len()
            );
            if stream.write_all(head.as_bytes()).await.is_err()
                || stream.write_all(prefix.as_bytes()).await.is_err()
            {
                return false;
            }
            // JSON-escaped newlines: the body stays valid JSON.
            let line = "all work and no play makes jack a dull boy\\n".repeat(1500);
            let mut left = size;
            while left > 0 {
                let n = left.min(line.len());
                if stream.write_all(&line.as_bytes()[..n]).await.is_err() {
                    return false;
                }
                left -= n;
            }
            stream.write_all(suffix.as_bytes()).await.is_ok()
        }
    }
}

async fn write_response(
    stream: &mut impl Conn,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-length: {}\r\n",
        body.len()
    );
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        head.push_str("content-type: application/json\r\n");
    }
    for (key, value) in headers {
        head.push_str(&format!("{key}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await
}
