//! The same fake pool behind TLS: a certificate authority made for the run, a leaf for
//! `localhost`, and counters of TCP connections, handshakes, ALPN and requests per connection.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use tokio::sync::mpsc;
use tokio_rustls::rustls;

use crate::WAIT;
use crate::fake_pool::{FakePool, PoolState, bind_loopback, respond};

// ───────────────────────────── TLS fake pool ─────────────────────────────

/// A certificate authority made for this run (rcgen) and a leaf it signed for `localhost` and
/// `127.0.0.1`, as a rustls server configuration offering ALPN `h2` and `http/1.1`.
pub struct TestTls {
    pub ca_pem: String,
    pub server: Arc<rustls::ServerConfig>,
}

impl TestTls {
    /// The reqwest reference client, trusting the CA.
    pub fn reqwest_client(&self) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA certificate");
        crate::harness::reqwest_client(reqwest::Client::builder().add_root_certificate(ca))
    }

    /// Writes the CA certificate to `dir/bench-ca.pem` and returns its path.
    pub fn write_ca(&self, dir: &Path) -> PathBuf {
        let path = dir.join("bench-ca.pem");
        std::fs::write(&path, &self.ca_pem).expect("write the CA");
        path
    }

    pub fn new() -> TestTls {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(
            DnType::CommonName,
            format!("azure-sessions-lsp bench CA {}", std::process::id()),
        );
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_pem = ca.self_signed(&ca_key).expect("CA certificate").pem();
        let issuer = Issuer::new(ca, ca_key);
        let mut leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("leaf params");
        leaf.distinguished_name
            .push(DnType::CommonName, "bench fake pool");
        leaf.is_ca = IsCa::NoCa;
        leaf.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = time::OffsetDateTime::now_utc();
        leaf.not_before = now - time::Duration::days(1);
        leaf.not_after = now + time::Duration::days(30);
        let leaf_key = KeyPair::generate().expect("leaf key");
        let leaf_cert = leaf
            .signed_by(&leaf_key, &issuer)
            .expect("leaf certificate");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf_cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .expect("server certificate");
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        TestTls {
            ca_pem,
            server: Arc::new(server),
        }
    }
}

#[derive(Default)]
pub struct TlsCounters {
    pub tcp: AtomicUsize,
    pub handshakes: AtomicUsize,
    pub resumed: AtomicUsize,
    pub failed: AtomicUsize,
    /// Negotiated ALPN protocol → handshakes.
    pub alpn: Mutex<BTreeMap<String, usize>>,
    /// Client port → requests on that connection.
    pub per_connection: Mutex<BTreeMap<u16, usize>>,
}

#[derive(Clone)]
pub struct TlsPoolState {
    pub pool: Arc<PoolState>,
    pub counters: Arc<TlsCounters>,
}

/// The client address of a TLS connection (`ConnectInfo` for [`HandshakenListener`]).
#[derive(Clone, Copy)]
pub struct TlsPeer(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, HandshakenListener>>
    for TlsPeer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, HandshakenListener>) -> Self {
        TlsPeer(*stream.remote_addr())
    }
}

/// The fake pool of [`FakePool`] (same state, same answers) behind TLS on 127.0.0.1, counting
/// TCP connections and TLS handshakes as it accepts them.
pub struct TlsPool {
    pub pool: FakePool,
    pub counters: Arc<TlsCounters>,
}

pub type TlsIo = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;

/// Connections whose handshake finished, handed to `axum::serve`.
pub struct HandshakenListener {
    pub rx: mpsc::Receiver<(TlsIo, SocketAddr)>,
    pub local: SocketAddr,
}

impl axum::serve::Listener for HandshakenListener {
    type Io = TlsIo;
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

impl TlsPool {
    pub fn start(rt: &tokio::runtime::Runtime, tls: &TestTls, stdout: &str) -> TlsPool {
        let state = PoolState::new(stdout, Duration::ZERO, false);
        let counters = Arc::new(TlsCounters::default());
        let (listener, addr) = bind_loopback();
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.server.clone());
        let (tx, rx) = mpsc::channel(64);
        let accept_counters = counters.clone();
        rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            loop {
                let Ok((tcp, peer)) = listener.accept().await else {
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                accept_counters.tcp.fetch_add(1, Ordering::SeqCst);
                let (acceptor, counters, tx) =
                    (acceptor.clone(), accept_counters.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(WAIT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let (_, connection) = stream.get_ref();
                            counters.handshakes.fetch_add(1, Ordering::SeqCst);
                            if connection.handshake_kind() == Some(rustls::HandshakeKind::Resumed) {
                                counters.resumed.fetch_add(1, Ordering::SeqCst);
                            }
                            let alpn = connection.alpn_protocol().map_or_else(
                                || "none".to_owned(),
                                |p| String::from_utf8_lossy(p).into_owned(),
                            );
                            *counters.alpn.lock().unwrap().entry(alpn).or_default() += 1;
                            let _ = tx.send((stream, peer)).await;
                        }
                        _ => {
                            counters.failed.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        let app = axum::Router::new()
            .fallback(handle_tls)
            .with_state(TlsPoolState {
                pool: state.clone(),
                counters: counters.clone(),
            });
        rt.spawn(async move {
            let _ = axum::serve(
                HandshakenListener { rx, local: addr },
                app.into_make_service_with_connect_info::<TlsPeer>(),
            )
            .await;
        });
        TlsPool {
            pool: FakePool { addr, state },
            counters,
        }
    }

    /// `https://localhost:PORT` (the name in the certificate).
    pub fn endpoint(&self) -> String {
        format!("https://localhost:{}", self.pool.addr.port())
    }

    pub fn executions(&self) -> usize {
        self.pool.executions()
    }

    /// (TCP connections, TLS handshakes, of which resumed, failed handshakes).
    pub fn connections(&self) -> (usize, usize, usize, usize) {
        let c = &self.counters;
        (
            c.tcp.load(Ordering::SeqCst),
            c.handshakes.load(Ordering::SeqCst),
            c.resumed.load(Ordering::SeqCst),
            c.failed.load(Ordering::SeqCst),
        )
    }

    /// Requests on each connection, in the order the connections were opened, e.g. `1104 + 1`.
    pub fn per_connection(&self) -> String {
        let counts = self.counters.per_connection.lock().unwrap();
        counts
            .values()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" + ")
    }

    /// e.g. `h2` or `http/1.1 × 2050`.
    pub fn alpn(&self) -> String {
        let alpn = self.counters.alpn.lock().unwrap();
        if alpn.is_empty() {
            return "none".into();
        }
        alpn.iter()
            .map(|(p, n)| {
                if *n == 1 {
                    p.clone()
                } else {
                    format!("{p} × {n}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The same answers over TLS; requests are also counted per connection.
pub async fn handle_tls(
    State(state): State<TlsPoolState>,
    ConnectInfo(TlsPeer(peer)): ConnectInfo<TlsPeer>,
    request: Request,
) -> Response {
    *state
        .counters
        .per_connection
        .lock()
        .unwrap()
        .entry(peer.port())
        .or_default() += 1;
    respond(&state.pool, Some(peer), request).await
}
