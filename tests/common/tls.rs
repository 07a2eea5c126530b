//! Loopback TLS fixtures: a test certificate authority (rcgen), an HTTPS fake pool that offers
//! HTTP/2 and HTTP/1.1 (axum over tokio-rustls), counting TCP connections, TLS handshakes and
//! the HTTP version of each request, and a CONNECT proxy that counts tunnels.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Version;
use axum::response::{IntoResponse, Response};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Every wait in these tests is bounded by this.
pub const BOUND: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Certificates

/// A certificate authority made for one test.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pub pem: String,
}

/// A leaf certificate and its key, ready for a rustls server.
pub struct Leaf {
    pub chain: Vec<CertificateDer<'static>>,
    pub key_der: Vec<u8>,
}

/// How the leaf is made.
pub enum LeafKind {
    /// SAN `localhost` and `127.0.0.1`, valid now.
    Good,
    /// SAN `localhost` and `127.0.0.1`, expired in 2021.
    Expired,
    /// SAN `pool.test` only: a name mismatch for `localhost`, and the name proxied runs use
    /// (only the test proxy can reach it, since loopback names are never proxied).
    OtherName,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A distinct name per CA, so that a different test CA is an unknown issuer rather than
        // a same-named issuer with a bad signature.
        static SERIAL: AtomicUsize = AtomicUsize::new(1);
        let name = format!(
            "azure-sessions-lsp test CA {} {}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::SeqCst)
        );
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// Writes the CA certificate as PEM to `dir/name` and returns the path.
    pub fn write_pem(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, &self.pem).expect("write CA PEM");
        path
    }

    pub fn leaf(&self, kind: LeafKind) -> Leaf {
        let names: Vec<String> = match kind {
            LeafKind::Good | LeafKind::Expired => vec!["localhost".into(), "127.0.0.1".into()],
            LeafKind::OtherName => vec!["pool.test".into()],
        };
        let mut params = CertificateParams::new(names).expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, "fake pool");
        params.is_ca = IsCa::NoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        match kind {
            LeafKind::Expired => {
                params.not_before = rcgen::date_time_ymd(2020, 1, 1);
                params.not_after = rcgen::date_time_ymd(2021, 1, 1);
            }
            LeafKind::Good | LeafKind::OtherName => {
                let now = time::OffsetDateTime::now_utc();
                params.not_before = now - time::Duration::days(1);
                params.not_after = now + time::Duration::days(30);
            }
        }
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        Leaf {
            chain: vec![cert.der().clone()],
            key_der: key.serialize_der(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The HTTPS fake pool

/// ALPN protocols the fake pool offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// `h2` and `http/1.1`.
    H2AndHttp11,
    /// `http/1.1` only.
    Http11,
}

pub struct PoolOptions {
    /// `None`: plain HTTP (for loopback `http://` checks).
    pub leaf: Option<Leaf>,
    pub alpn: Alpn,
    /// Close a connection once it has been idle this long.
    pub idle_close: Option<Duration>,
}

/// One request the fake pool answered.
#[derive(Debug, Clone)]
pub struct Seen {
    pub version: Version,
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: serde_json::Value,
}

#[derive(Default)]
struct Counters {
    tcp_accepted: AtomicUsize,
    handshakes_ok: AtomicUsize,
    handshakes_failed: AtomicUsize,
    handshakes_resumed: AtomicUsize,
    /// What each successful handshake negotiated (ALPN), in order.
    alpn: Mutex<Vec<Option<String>>>,
    requests: Mutex<Vec<Seen>>,
}

pub struct TlsPool {
    pub addr: SocketAddr,
    counters: Arc<Counters>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for TlsPool {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The connections that finished their handshake, handed to `axum::serve`.
pub struct ChannelListener {
    rx: mpsc::Receiver<(IdleClose<Box<dyn Io>>, SocketAddr)>,
    local: SocketAddr,
}

impl axum::serve::Listener for ChannelListener {
    type Io = IdleClose<Box<dyn Io>>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(connection) => connection,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

pub fn server_config(leaf: &Leaf, alpn: Alpn) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone()));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(leaf.chain.clone(), key)
        .expect("server certificate");
    config.alpn_protocols = match alpn {
        Alpn::H2AndHttp11 => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        Alpn::Http11 => vec![b"http/1.1".to_vec()],
    };
    Arc::new(config)
}

/// An HTTPS listener on 127.0.0.1 with a good `localhost` certificate from a new test CA, for
/// any axum app: tokens are sent only over https, so fakes that check them speak TLS.
/// Returns the listener, its address and the CA's PEM (to trust through `extra_ca_files`).
pub async fn https_listener() -> (ChannelListener, SocketAddr, String) {
    let ca = TestCa::new();
    let acceptor = TlsAcceptor::from(server_config(&ca.leaf(LeafKind::Good), Alpn::Http11));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        while let Ok((tcp, peer)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                if let Ok(Ok(tls)) = tokio::time::timeout(BOUND, acceptor.accept(tcp)).await {
                    let io: Box<dyn Io> = Box::new(tls);
                    let _ = tx.send((IdleClose::new(io, None), peer)).await;
                }
            });
        }
    });
    (ChannelListener { rx, local: addr }, addr, ca.pem)
}

impl TlsPool {
    /// An HTTPS pool on 127.0.0.1 with the given certificate, answering every POST with a
    /// successful execution whose stdout is `ok <n>\n` (n counts requests from 1).
    pub async fn start(options: PoolOptions) -> TlsPool {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let counters = Arc::new(Counters::default());
        let acceptor = options
            .leaf
            .as_ref()
            .map(|leaf| TlsAcceptor::from(server_config(leaf, options.alpn)));
        let idle = options.idle_close;
        let (tx, rx) = mpsc::channel(64);

        let accept_counters = counters.clone();
        let accept_task = tokio::spawn(async move {
            loop {
                let Ok((tcp, peer)) = listener.accept().await else {
                    continue;
                };
                accept_counters.tcp_accepted.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                let counters = accept_counters.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let io: Box<dyn Io> = match acceptor {
                        None => Box::new(tcp),
                        Some(acceptor) => {
                            match tokio::time::timeout(BOUND, acceptor.accept(tcp)).await {
                                Ok(Ok(tls)) => {
                                    let (_, connection) = tls.get_ref();
                                    counters.handshakes_ok.fetch_add(1, Ordering::SeqCst);
                                    if connection.handshake_kind()
                                        == Some(rustls::HandshakeKind::Resumed)
                                    {
                                        counters.handshakes_resumed.fetch_add(1, Ordering::SeqCst);
                                    }
                                    let alpn = connection
                                        .alpn_protocol()
                                        .map(|p| String::from_utf8_lossy(p).into_owned());
                                    counters.alpn.lock().unwrap().push(alpn);
                                    Box::new(tls)
                                }
                                _ => {
                                    counters.handshakes_failed.fetch_add(1, Ordering::SeqCst);
                                    return;
                                }
                            }
                        }
                    };
                    let _ = tx.send((IdleClose::new(io, idle), peer)).await;
                });
            }
        });

        let app = axum::Router::new()
            .fallback(answer)
            .with_state(counters.clone());
        let serve_task = tokio::spawn(async move {
            let _ = axum::serve(ChannelListener { rx, local: addr }, app).await;
        });
        TlsPool {
            addr,
            counters,
            tasks: vec![accept_task, serve_task],
        }
    }

    /// `https://localhost:PORT` (the certificate's name).
    pub fn https_endpoint(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// `https://pool.test:PORT`: a name that is not loopback and that only the test proxy can
    /// reach (it tunnels every CONNECT to 127.0.0.1). Use with a [`LeafKind::OtherName`] leaf.
    pub fn proxied_endpoint(&self) -> String {
        format!("https://pool.test:{}", self.addr.port())
    }

    /// `http://127.0.0.1:PORT` (plain pools only).
    pub fn http_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    pub fn tcp_connections(&self) -> usize {
        self.counters.tcp_accepted.load(Ordering::SeqCst)
    }

    pub fn handshakes(&self) -> usize {
        self.counters.handshakes_ok.load(Ordering::SeqCst)
    }

    pub fn failed_handshakes(&self) -> usize {
        self.counters.handshakes_failed.load(Ordering::SeqCst)
    }

    pub fn resumed_handshakes(&self) -> usize {
        self.counters.handshakes_resumed.load(Ordering::SeqCst)
    }

    pub fn negotiated_alpn(&self) -> Vec<Option<String>> {
        self.counters.alpn.lock().unwrap().clone()
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.counters.requests.lock().unwrap().clone()
    }
}

async fn answer(State(counters): State<Arc<Counters>>, request: Request) -> Response {
    let version = request.version();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let n = {
        let mut requests = counters.requests.lock().unwrap();
        requests.push(Seen {
            version,
            method,
            path,
            query,
            body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        });
        requests.len()
    };
    axum::Json(json!({
        "id": format!("e{n}"),
        "identifier": "i",
        "executionType": "Synchronous",
        "status": "Succeeded",
        "result": {
            "stdout": format!("ok {n}\n"),
            "stderr": "",
            "executionResult": null,
            "executionTimeInMilliseconds": 3
        }
    }))
    .into_response()
}

/// A stream that reads as closed (EOF) once it has seen no traffic for `idle`, so the server
/// drops connections a client left idle, as load balancers do.
pub struct IdleClose<S> {
    inner: S,
    idle: Option<Duration>,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> IdleClose<S> {
    fn new(inner: S, idle: Option<Duration>) -> Self {
        IdleClose {
            inner,
            idle,
            timer: idle.map(|d| Box::pin(tokio::time::sleep(d))),
        }
    }

    fn touch(&mut self) {
        if let (Some(idle), Some(timer)) = (self.idle, self.timer.as_mut()) {
            timer.as_mut().reset(tokio::time::Instant::now() + idle);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleClose<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                this.touch();
                Poll::Ready(result)
            }
            Poll::Pending => {
                // Idle too long: report end of stream; the server closes the connection.
                let expired = this
                    .timer
                    .as_mut()
                    .is_some_and(|timer| timer.as_mut().poll(cx).is_ready());
                if expired {
                    Poll::Ready(Ok(()))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleClose<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if result.is_ready() {
            this.touch();
        }
        result
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------------------------
// The CONNECT proxy

/// How the proxy answers CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// `200 Connection established`, then bytes both ways.
    Tunnel,
    /// `403 Forbidden`.
    Refuse,
    /// `407 Proxy Authentication Required`.
    AuthRequired,
}

#[derive(Default)]
struct ProxyLog {
    connects: Mutex<Vec<String>>,
    /// Request lines that were not CONNECT (a plain-HTTP request sent to the proxy).
    others: Mutex<Vec<String>>,
    accepted: AtomicUsize,
}

pub struct ConnectProxy {
    pub addr: SocketAddr,
    log: Arc<ProxyLog>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ConnectProxy {
    pub async fn start(mode: ProxyMode) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let log = Arc::new(ProxyLog::default());
        let task_log = log.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                task_log.accepted.fetch_add(1, Ordering::SeqCst);
                let log = task_log.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(120),
                        proxy_one(client, mode, log),
                    )
                    .await;
                });
            }
        });
        ConnectProxy { addr, log, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    /// The `host:port` of every CONNECT received.
    pub fn connects(&self) -> Vec<String> {
        self.log.connects.lock().unwrap().clone()
    }

    /// The request lines of anything else sent to the proxy.
    pub fn other_requests(&self) -> Vec<String> {
        self.log.others.lock().unwrap().clone()
    }

    /// TCP connections accepted by the proxy.
    pub fn accepted(&self) -> usize {
        self.log.accepted.load(Ordering::SeqCst)
    }
}

async fn proxy_one(mut client: TcpStream, mode: ProxyMode, log: Arc<ProxyLog>) {
    // Read the request head (bounded).
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return;
        }
        match client.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let first = head.lines().next().unwrap_or_default().to_owned();
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default().to_owned();
    if method != "CONNECT" {
        log.others.lock().unwrap().push(first.clone());
        let _ = client
            .write_all(
                b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )
            .await;
        return;
    }
    log.connects.lock().unwrap().push(target.clone());
    match mode {
        ProxyMode::Refuse => {
            let _ = client
                .write_all(
                    b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
        }
        ProxyMode::AuthRequired => {
            let _ = client
                .write_all(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                      proxy-authenticate: Basic realm=\"test\"\r\n\
                      content-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
        }
        ProxyMode::Tunnel => {
            // Loopback only: whatever host the client asked for (`pool.test`), the port is on
            // 127.0.0.1.
            let port = target.rsplit(':').next().unwrap_or_default();
            let Ok(mut upstream) = TcpStream::connect(format!("127.0.0.1:{port}")).await else {
                let _ = client
                    .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                    .await;
                return;
            };
            if client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await
                .is_err()
            {
                return;
            }
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
    }
}
