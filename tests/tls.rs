//! Proxies, private certificate authorities and connection reuse over TLS, on loopback only:
//! an HTTPS fake pool with a certificate from a CA made in the test (rcgen), a CONNECT proxy
//! of a few lines of tokio, and the real binary for everything that reads the environment
//! (SSL_CERT_FILE, HTTPS_PROXY, NO_PROXY), so no test here changes this process's environment.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use axum::http::Version;
use azure_sessions_lsp::auth::Credentials;
use azure_sessions_lsp::sessions::{
    Api, ExecuteRequest, Execution, HttpOptions, PoolTarget, SessionsClient, SessionsError,
};
use common::tls::{Alpn, BOUND, ConnectProxy, LeafKind, PoolOptions, ProxyMode, TestCa, TlsPool};
use tokio::io::AsyncWriteExt;

fn request() -> ExecuteRequest<'static> {
    ExecuteRequest {
        identifier: "id-1234",
        code: "print(1)",
        language: "python",
        stdin: None,
        timeout: Duration::from_secs(5),
        cold_start_budget: Duration::ZERO,
    }
}

fn client(proxy: Option<String>, extra_ca_files: Vec<PathBuf>) -> SessionsClient {
    SessionsClient::new(&HttpOptions {
        proxy,
        extra_ca_files,
    })
    .expect("client")
}

async fn run(client: &SessionsClient, endpoint: &str) -> Result<Execution, SessionsError> {
    let target = PoolTarget::new(endpoint, Api::Executions, None, "").expect("target");
    tokio::time::timeout(
        BOUND,
        client.execute(&target, &Credentials::None, &request(), &|_| {}),
    )
    .await
    .expect("the run did not finish in time")
}

async fn run_err(client: &SessionsClient, endpoint: &str) -> String {
    match run(client, endpoint).await {
        Ok(execution) => panic!(
            "the run should have failed, got stdout {:?}",
            execution.stdout
        ),
        Err(error) => {
            // Shown with --nocapture (and on failure): the exact text a user would read.
            eprintln!("message: {error}");
            error.to_string()
        }
    }
}

async fn pool(kind: LeafKind, ca: &TestCa) -> TlsPool {
    TlsPool::start(PoolOptions {
        leaf: Some(ca.leaf(kind)),
        alpn: Alpn::H2AndHttp11,
        idle_close: None,
    })
    .await
}

/// A TLS failure must never suggest turning verification off.
fn assert_no_insecure_advice(message: &str) {
    let lower = message.to_lowercase();
    for bad in [
        "insecure",
        "disable",
        "skip verif",
        "danger",
        "accept_invalid",
        "verification off",
    ] {
        assert!(
            !lower.contains(bad),
            "the message suggests turning verification off ({bad:?}): {message}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The real binary, with its own environment

struct BinRun {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `azure-sessions-lsp run --endpoint ENDPOINT --auth none --session id-1234 -` with
/// `print(1)` on stdin, a clean proxy/CA environment plus `env`.
async fn run_binary(endpoint: &str, state: &Path, env: &[(&str, &str)]) -> BinRun {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_azure-sessions-lsp"));
    command
        .args([
            "run",
            "--endpoint",
            endpoint,
            "--auth",
            "none",
            "--session",
            "id-1234",
            "--cold-start-timeout-seconds",
            "0",
            "-",
        ])
        .env("XDG_STATE_HOME", state)
        .env_remove("RUST_LOG");
    for name in [
        "AZURE_SESSIONS_ENDPOINT",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    ] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("spawn the binary");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"print(1)\n").await.expect("write stdin");
    drop(stdin);
    let output = tokio::time::timeout(BOUND, child.wait_with_output())
        .await
        .expect("the binary did not finish in time")
        .expect("binary output");
    eprintln!(
        "binary: exit {:?}, stderr {:?}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    BinRun {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Private certificate authorities

#[tokio::test(flavor = "multi_thread")]
async fn unknown_ca_fails_with_the_host_the_reason_and_the_setting() {
    let ca = TestCa::new();
    let pool = pool(LeafKind::Good, &ca).await;
    let message = run_err(&client(None, vec![]), &pool.https_endpoint()).await;
    let lower = message.to_lowercase();
    assert!(message.contains("localhost"), "no host: {message}");
    assert!(lower.contains("unknown"), "no reason: {message}");
    assert!(
        message.contains("azureSessions.extraCaCertificates"),
        "no setting that fixes it: {message}"
    );
    assert_no_insecure_advice(&message);
    assert!(
        pool.requests().is_empty(),
        "nothing may be sent over an untrusted connection"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn extra_ca_certificates_make_the_run_work() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path(), "ca.pem");
    let pool = pool(LeafKind::Good, &ca).await;
    let execution = run(&client(None, vec![pem]), &pool.https_endpoint())
        .await
        .expect("the run should work with the CA in extraCaCertificates");
    assert_eq!(execution.stdout, "ok 1\n");
    let requests = pool.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/executions");
    assert_eq!(
        requests[0].query,
        "api-version=2025-10-02-preview&identifier=id-1234"
    );
    assert_eq!(requests[0].body["code"], "print(1)");
}

#[tokio::test(flavor = "multi_thread")]
async fn extra_ca_certificates_accept_a_bundle_among_other_certificates() {
    // A PEM file with an unrelated CA first, then the pool's: every certificate is trusted.
    let ca = TestCa::new();
    let other = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.pem");
    std::fs::write(&bundle, format!("{}{}", other.pem, ca.pem)).unwrap();
    let pool = pool(LeafKind::Good, &ca).await;
    let execution = run(&client(None, vec![bundle]), &pool.https_endpoint())
        .await
        .expect("the second certificate of the bundle should be trusted");
    assert_eq!(execution.stdout, "ok 1\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_extra_ca_is_still_an_unknown_issuer() {
    let ca = TestCa::new();
    let other = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = other.write_pem(dir.path(), "other.pem");
    let pool = pool(LeafKind::Good, &ca).await;
    let message = run_err(&client(None, vec![pem]), &pool.https_endpoint()).await;
    assert!(
        message.contains("localhost") && message.to_lowercase().contains("unknown"),
        "{message}"
    );
    assert!(
        message.contains("azureSessions.extraCaCertificates"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unreadable_or_empty_extra_ca_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let error = SessionsClient::new(&HttpOptions {
        proxy: None,
        extra_ca_files: vec![missing.clone()],
    })
    .err()
    .expect("a missing CA file is an error")
    .to_string();
    assert!(error.contains("missing.pem"), "{error}");

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let error = SessionsClient::new(&HttpOptions {
        proxy: None,
        extra_ca_files: vec![empty],
    })
    .err()
    .expect("a file without certificates is an error")
    .to_string();
    assert!(
        error.contains("empty.pem") && error.contains("azureSessions.extraCaCertificates"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_certificate_says_expired() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path(), "ca.pem");
    let pool = pool(LeafKind::Expired, &ca).await;
    let message = run_err(&client(None, vec![pem]), &pool.https_endpoint()).await;
    assert!(message.to_lowercase().contains("expired"), "{message}");
    assert!(message.contains("localhost"), "no host: {message}");
    assert_no_insecure_advice(&message);
}

#[tokio::test(flavor = "multi_thread")]
async fn name_mismatch_says_the_certificate_is_not_valid_for_the_name() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path(), "ca.pem");
    let pool = pool(LeafKind::OtherName, &ca).await;
    let message = run_err(&client(None, vec![pem]), &pool.https_endpoint()).await;
    let lower = message.to_lowercase();
    assert!(
        lower.contains("not valid for") || lower.contains("name"),
        "{message}"
    );
    assert!(message.contains("localhost"), "no host: {message}");
    assert_no_insecure_advice(&message);
}

#[tokio::test(flavor = "multi_thread")]
async fn ssl_cert_file_makes_the_binary_trust_the_ca() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path(), "ca.pem");
    let pool = pool(LeafKind::Good, &ca).await;

    let without = run_binary(&pool.https_endpoint(), dir.path(), &[]).await;
    assert_eq!(
        without.code, 2,
        "stdout {:?} stderr {:?}",
        without.stdout, without.stderr
    );
    let reason = without.stderr.trim();
    assert_eq!(reason.lines().count(), 1, "one line: {reason:?}");
    assert!(
        reason.contains("localhost")
            && reason.to_lowercase().contains("unknown")
            && reason.contains("azureSessions.extraCaCertificates"),
        "{reason}"
    );

    let with = run_binary(
        &pool.https_endpoint(),
        dir.path(),
        &[("SSL_CERT_FILE", pem.to_str().unwrap())],
    )
    .await;
    assert_eq!(with.code, 0, "SSL_CERT_FILE not honoured: {}", with.stderr);
    assert_eq!(with.stdout, "ok 1\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_ssl_cert_file_is_ignored_or_named() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pool = pool(LeafKind::Good, &ca).await;
    let missing = dir.path().join("missing-bundle.pem");
    // The CA comes from nowhere else, so the run cannot succeed; the reason must say why.
    let outcome = run_binary(
        &pool.https_endpoint(),
        dir.path(),
        &[("SSL_CERT_FILE", missing.to_str().unwrap())],
    )
    .await;
    assert_eq!(outcome.code, 2, "{}", outcome.stdout);
    let reason = outcome.stderr.trim();
    assert_eq!(reason.lines().count(), 1, "{reason:?}");
    assert!(
        reason.contains("SSL_CERT_FILE") || reason.contains("azureSessions.extraCaCertificates"),
        "{reason}"
    );
}

// ---------------------------------------------------------------------------------------------
// Connection reuse, HTTP/2, idle reconnect

#[tokio::test(flavor = "multi_thread")]
async fn runs_use_http2_over_one_connection() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path(), "ca.pem");
    let pool = pool(LeafKind::Good, &ca).await;
    let client = client(None, vec![pem]);
    let endpoint = pool.https_endpoint();
    for n in 1..=3 {
        let execution = run(&client, &endpoint).await.expect("run");
        assert_eq!(execution.stdout, format!("ok {n}\n"));
    }
    // Concurrent runs on a warm client share the HTTP/2 connection.
    let target = PoolTarget::new(&endpoint, Api::Executions, None, "").unwrap();
    let runs = (0..4).map(|_| async {
        let request = request();
        tokio::time::timeout(
            BOUND,
            client.execute(&target, &Credentials::None, &request, &|_| {}),
        )
        .await
        .expect("in time")
    });
    for outcome in futures::future::join_all(runs).await {
        outcome.expect("concurrent run");
    }
    // A clone of the client (as the server hands out) shares the pool too.
    run(&client.clone(), &endpoint).await.expect("clone run");

    let versions: Vec<Version> = pool.requests().iter().map(|r| r.version).collect();
    assert_eq!(versions.len(), 8);
    assert!(
        versions.iter().all(|v| *v == Version::HTTP_2),
        "every run should use HTTP/2 when the pool offers it: {versions:?}"
    );
    assert_eq!(pool.negotiated_alpn(), vec![Some("h2".to_owned())]);
    assert_eq!(
        pool.tcp_connections(),
        1,
        "8 runs should share one TCP connection"
    );
    assert_eq!(pool.handshakes(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn http1_pools_keep_the_connection_alive() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path(), "ca.pem");
    let pool = TlsPool::start(PoolOptions {
        leaf: Some(ca.leaf(LeafKind::Good)),
        alpn: Alpn::Http11,
        idle_close: None,
    })
    .await;
    let client = client(None, vec![pem]);
    for n in 1..=3 {
        let execution = run(&client, &pool.https_endpoint()).await.expect("run");
        assert_eq!(execution.stdout, format!("ok {n}\n"));
        // An HTTP/1.1 connection goes back to the client's pool just after the answer is read;
        // runs from an editor are never back to back, so leave it that moment.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let versions: Vec<Version> = pool.requests().iter().map(|r| r.version).collect();
    assert!(
        versions.iter().all(|v| *v == Version::HTTP_11),
        "{versions:?}"
    );
    assert_eq!(pool.tcp_connections(), 1, "keep-alive over HTTP/1.1");
}

async fn idle_reconnect(alpn: Alpn) -> TlsPool {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path(), "ca.pem");
    let pool = TlsPool::start(PoolOptions {
        leaf: Some(ca.leaf(LeafKind::Good)),
        alpn,
        idle_close: Some(Duration::from_millis(200)),
    })
    .await;
    let client = client(None, vec![pem]);
    let endpoint = pool.https_endpoint();
    let first = run(&client, &endpoint).await.expect("first run");
    assert_eq!(first.stdout, "ok 1\n");
    for n in 2..=3 {
        // The pool closes the connection after 200 ms idle; the next run must not notice.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let execution = run(&client, &endpoint)
            .await
            .unwrap_or_else(|e| panic!("run {n} after an idle close failed: {e}"));
        assert_eq!(execution.stdout, format!("ok {n}\n"));
    }
    assert_eq!(pool.requests().len(), 3, "each run was sent once");
    assert_eq!(
        pool.tcp_connections(),
        3,
        "the pool closed each idle connection, so each run needed a new one"
    );
    pool
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_after_the_pool_closed_an_idle_http2_connection_reconnects() {
    let pool = idle_reconnect(Alpn::H2AndHttp11).await;
    assert!(
        pool.requests().iter().all(|r| r.version == Version::HTTP_2),
        "{:?}",
        pool.requests()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_after_the_pool_closed_an_idle_http1_connection_reconnects() {
    idle_reconnect(Alpn::Http11).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reconnecting_resumes_the_tls_session() {
    let pool = idle_reconnect(Alpn::H2AndHttp11).await;
    assert_eq!(pool.handshakes(), 3);
    assert!(
        pool.resumed_handshakes() >= 1,
        "the client should resume its TLS session on reconnect: {} of {} handshakes resumed",
        pool.resumed_handshakes(),
        pool.handshakes()
    );
}

// ---------------------------------------------------------------------------------------------
// Proxies, in process (azureSessions.proxy)
//
// Loopback is never proxied, so proxied runs go to `https://pool.test:PORT`: a name this machine
// cannot resolve, which only the test proxy reaches (it tunnels every CONNECT to 127.0.0.1).
// A run that succeeds there went through the proxy.

#[tokio::test(flavor = "multi_thread")]
async fn runs_go_through_the_configured_proxy() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path(), "ca.pem");
    let pool = pool(LeafKind::OtherName, &ca).await;
    let proxy = ConnectProxy::start(ProxyMode::Tunnel).await;
    let client = client(Some(proxy.url()), vec![pem]);
    let execution = run(&client, &pool.proxied_endpoint())
        .await
        .expect("a run through azureSessions.proxy");
    assert_eq!(execution.stdout, "ok 1\n");
    assert_eq!(
        proxy.connects(),
        vec![format!("pool.test:{}", pool.addr.port())],
        "one CONNECT to the pool's host and port"
    );
    assert!(proxy.other_requests().is_empty());
    // TLS is end to end through the tunnel: the pool's own certificate was checked.
    assert_eq!(pool.handshakes(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn proxied_runs_share_one_tunnel() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path(), "ca.pem");
    let pool = pool(LeafKind::OtherName, &ca).await;
    let proxy = ConnectProxy::start(ProxyMode::Tunnel).await;
    let client = client(Some(proxy.url()), vec![pem]);
    for n in 1..=3 {
        let execution = run(&client, &pool.proxied_endpoint()).await.expect("run");
        assert_eq!(execution.stdout, format!("ok {n}\n"));
    }
    assert_eq!(proxy.connects().len(), 1, "{:?}", proxy.connects());
    assert_eq!(pool.tcp_connections(), 1);
    assert!(
        pool.requests().iter().all(|r| r.version == Version::HTTP_2),
        "HTTP/2 through the tunnel too: {:?}",
        pool.requests()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pool_certificate_is_checked_through_the_proxy() {
    // Without the CA, a tunnelled run fails like a direct one: host, reason, setting.
    let ca = TestCa::new();
    let pool = pool(LeafKind::OtherName, &ca).await;
    let proxy = ConnectProxy::start(ProxyMode::Tunnel).await;
    let message = run_err(&client(Some(proxy.url()), vec![]), &pool.proxied_endpoint()).await;
    assert_eq!(proxy.connects().len(), 1);
    assert!(
        message.contains("pool.test")
            && message.to_lowercase().contains("unknown")
            && message.contains("azureSessions.extraCaCertificates"),
        "{message}"
    );
    assert_no_insecure_advice(&message);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_refusing_the_tunnel_says_so() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path(), "ca.pem");
    let pool = pool(LeafKind::OtherName, &ca).await;
    let proxy = ConnectProxy::start(ProxyMode::Refuse).await;
    let message = run_err(
        &client(Some(proxy.url()), vec![pem]),
        &pool.proxied_endpoint(),
    )
    .await;
    let lower = message.to_lowercase();
    assert_eq!(proxy.connects().len(), 1, "the proxy was asked once");
    assert!(lower.contains("proxy"), "{message}");
    assert!(
        lower.contains("refused") || lower.contains("403"),
        "{message}"
    );
    assert_eq!(pool.tcp_connections(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_asking_for_authentication_says_so() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path(), "ca.pem");
    let pool = pool(LeafKind::OtherName, &ca).await;
    let proxy = ConnectProxy::start(ProxyMode::AuthRequired).await;
    let message = run_err(
        &client(Some(proxy.url()), vec![pem]),
        &pool.proxied_endpoint(),
    )
    .await;
    let lower = message.to_lowercase();
    assert_eq!(proxy.connects().len(), 1, "the proxy was asked once");
    assert!(lower.contains("proxy"), "{message}");
    assert!(
        lower.contains("authentication") || lower.contains("407"),
        "{message}"
    );
    assert_eq!(pool.tcp_connections(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn https_to_localhost_never_uses_the_configured_proxy() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path(), "ca.pem");
    let pool = pool(LeafKind::Good, &ca).await;
    let proxy = ConnectProxy::start(ProxyMode::Refuse).await;
    let client = client(Some(proxy.url()), vec![pem]);
    let execution = run(&client, &pool.https_endpoint())
        .await
        .expect("loopback is reached directly");
    assert_eq!(execution.stdout, "ok 1\n");
    assert_eq!(
        proxy.accepted(),
        0,
        "loopback must not be proxied: {:?}",
        proxy.connects()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_to_loopback_never_uses_the_configured_proxy() {
    let pool = TlsPool::start(PoolOptions {
        leaf: None,
        alpn: Alpn::Http11,
        idle_close: None,
    })
    .await;
    let proxy = ConnectProxy::start(ProxyMode::Refuse).await;
    let client = client(Some(proxy.url()), vec![]);
    let execution = run(&client, &pool.http_endpoint())
        .await
        .expect("a loopback run with a proxy configured");
    assert_eq!(execution.stdout, "ok 1\n");
    assert_eq!(proxy.accepted(), 0, "loopback must not be proxied");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_proxy_setting_is_named() {
    let error = SessionsClient::new(&HttpOptions {
        proxy: Some("http://[not a proxy".into()),
        extra_ca_files: vec![],
    })
    .err()
    .expect("an invalid proxy URL is an error")
    .to_string();
    assert!(error.contains("azureSessions.proxy"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Proxies from the environment (the binary, with its own environment)

#[tokio::test(flavor = "multi_thread")]
async fn https_proxy_from_the_environment_is_followed() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path(), "ca.pem");
    let pem = pem.to_str().unwrap();
    let pool = pool(LeafKind::OtherName, &ca).await;
    let proxy = ConnectProxy::start(ProxyMode::Tunnel).await;
    let expected = format!("pool.test:{}", pool.addr.port());

    for (n, name) in ["HTTPS_PROXY", "https_proxy"].into_iter().enumerate() {
        let outcome = run_binary(
            &pool.proxied_endpoint(),
            dir.path(),
            &[(name, &proxy.url()), ("SSL_CERT_FILE", pem)],
        )
        .await;
        assert_eq!(
            proxy.connects(),
            vec![expected.clone(); n + 1],
            "{name} not followed (exit {}, {})",
            outcome.code,
            outcome.stderr
        );
        assert_eq!(outcome.code, 0, "{name}: {}", outcome.stderr);
        assert_eq!(outcome.stdout, format!("ok {}\n", n + 1));
    }
}

/// Whether `pool.test` resolves to anything but loopback here (then a direct attempt would
/// leave the machine, and the bypass checks that rely on it are skipped).
async fn pool_test_resolves_off_loopback() -> bool {
    match tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::lookup_host("pool.test:443"),
    )
    .await
    {
        Ok(Ok(addrs)) => addrs.into_iter().any(|a| !a.ip().is_loopback()),
        Ok(Err(_)) => false,
        Err(_) => true,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_proxy_bypasses_the_environment_proxy() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path(), "ca.pem");
    let pem = pem.to_str().unwrap();
    let proxied = pool(LeafKind::OtherName, &ca).await;
    let local = pool(LeafKind::Good, &ca).await;
    let proxy = ConnectProxy::start(ProxyMode::Tunnel).await;

    // NO_PROXY=localhost (loopback would bypass anyway): the run works, directly.
    let outcome = run_binary(
        &local.https_endpoint(),
        dir.path(),
        &[
            ("HTTPS_PROXY", &proxy.url()),
            ("NO_PROXY", "localhost"),
            ("SSL_CERT_FILE", pem),
        ],
    )
    .await;
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_eq!(outcome.stdout, "ok 1\n");
    assert_eq!(proxy.accepted(), 0, "{:?}", proxy.connects());

    // NO_PROXY naming a proxied host: the client goes direct, so pool.test (which only the
    // proxy can reach) is not found, and the proxy never hears of it.
    if pool_test_resolves_off_loopback().await {
        eprintln!("pool.test resolves off loopback here: NO_PROXY=pool.test checks skipped");
        return;
    }
    for (name, value) in [
        ("NO_PROXY", "pool.test"),
        ("no_proxy", "pool.test"),
        ("NO_PROXY", "example.org, .test"),
    ] {
        let outcome = run_binary(
            &proxied.proxied_endpoint(),
            dir.path(),
            &[
                ("HTTPS_PROXY", &proxy.url()),
                (name, value),
                ("SSL_CERT_FILE", pem),
            ],
        )
        .await;
        assert_eq!(
            proxy.accepted(),
            0,
            "{name}={value:?} should bypass the proxy: {:?}",
            proxy.connects()
        );
        assert_eq!(outcome.code, 2, "{name}={value:?}: {}", outcome.stdout);
        assert!(outcome.stderr.contains("pool.test"), "{}", outcome.stderr);
    }
    assert!(proxied.requests().is_empty());

    // And without NO_PROXY the same run goes through the proxy and works.
    let outcome = run_binary(
        &proxied.proxied_endpoint(),
        dir.path(),
        &[("HTTPS_PROXY", &proxy.url()), ("SSL_CERT_FILE", pem)],
    )
    .await;
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_eq!(proxy.connects().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn loopback_is_never_proxied_from_the_environment() {
    let plain = TlsPool::start(PoolOptions {
        leaf: None,
        alpn: Alpn::Http11,
        idle_close: None,
    })
    .await;
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path(), "ca.pem");
    let tls = pool(LeafKind::Good, &ca).await;
    // A proxy that would refuse: any run that reached it would fail.
    let proxy = ConnectProxy::start(ProxyMode::Refuse).await;
    let url = proxy.url();
    let every_proxy_variable = [
        ("HTTPS_PROXY", url.as_str()),
        ("https_proxy", url.as_str()),
        ("HTTP_PROXY", url.as_str()),
        ("http_proxy", url.as_str()),
        ("ALL_PROXY", url.as_str()),
        ("all_proxy", url.as_str()),
    ];

    let outcome = run_binary(&plain.http_endpoint(), dir.path(), &every_proxy_variable).await;
    assert_eq!(
        proxy.accepted(),
        0,
        "http://127.0.0.1 went to the proxy: CONNECTs {:?}, requests {:?}",
        proxy.connects(),
        proxy.other_requests()
    );
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_eq!(outcome.stdout, "ok 1\n");

    let mut env = every_proxy_variable.to_vec();
    env.push(("SSL_CERT_FILE", pem.to_str().unwrap()));
    let outcome = run_binary(&tls.https_endpoint(), dir.path(), &env).await;
    assert_eq!(
        proxy.accepted(),
        0,
        "https://localhost went to the proxy: {:?}",
        proxy.connects()
    );
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_eq!(outcome.stdout, "ok 1\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_environment_proxy_asking_for_authentication_says_so_in_one_line() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let pem = ca.write_pem(dir.path(), "ca.pem");
    let pool = pool(LeafKind::OtherName, &ca).await;
    let proxy = ConnectProxy::start(ProxyMode::AuthRequired).await;
    let outcome = run_binary(
        &pool.proxied_endpoint(),
        dir.path(),
        &[
            ("HTTPS_PROXY", &proxy.url()),
            ("SSL_CERT_FILE", pem.to_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(proxy.connects().len(), 1);
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    let reason = outcome.stderr.trim();
    assert_eq!(reason.lines().count(), 1, "{reason:?}");
    let lower = reason.to_lowercase();
    assert!(
        lower.contains("proxy") && (lower.contains("authentication") || lower.contains("407")),
        "{reason}"
    );
}
