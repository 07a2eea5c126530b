//! `azure-sessions-lsp doctor` against the local pool and the fakes: all-ok, a cold pool, a
//! custom container that never listens, nothing listening, 403, 401, a token for another
//! audience and an expired certificate. No output ever holds the token.

mod common;

use std::time::{Duration, Instant};

use axum::http::Method;
use common::fake_az::FakeAz;
use common::fake_pool::*;
use common::tls::{Alpn, LeafKind, TestCa, TlsPool};
use serde_json::{Value, json};

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    /// The line of a check (`ok   DNS: …`), or a panic that shows the whole report.
    fn line(&self, name: &str) -> &str {
        self.stdout
            .lines()
            .find(|l| {
                l.get(5..)
                    .is_some_and(|rest| rest.starts_with(&format!("{name}: ")))
            })
            .unwrap_or_else(|| panic!("no {name} check in:\n{}{}", self.stdout, self.stderr))
    }

    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `doctor` with these arguments and environment (a private state and runtime directory,
/// none of the caller's AZURE_SESSIONS_* settings).
async fn doctor(args: &[&str], env: &[(&str, String)]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_azure-sessions-lsp"));
    command
        .arg("doctor")
        .args(args)
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env("XDG_RUNTIME_DIR", dir.path().join("run"))
        .env_remove("RUST_LOG")
        .env_remove("SSL_CERT_FILE")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("AZURE_SESSIONS_") {
            command.env_remove(key);
        }
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("doctor finished within 60 s")
        .expect("doctor ran");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The environment of an https pool: its CA trusted, the fake `az` first on PATH.
fn https_env(ca_file: &std::path::Path, az: &FakeAz) -> Vec<(&'static str, String)> {
    vec![
        ("SSL_CERT_FILE", ca_file.display().to_string()),
        ("PATH", az.path()),
    ]
}

/// A pool that answers the probe, runs with `run(n)` (n counts runs from 0) and ends sessions.
fn pool_script(
    run: impl Fn(usize) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static {
    let runs = std::sync::atomic::AtomicUsize::new(0);
    move |request, _| match (&request.method, request.path.as_str()) {
        (&Method::HEAD, _) => status(404),
        (&Method::DELETE, "/session") | (&Method::POST, "/.management/stopSession") => status(204),
        (&Method::POST, _) => run(runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst)),
        _ => status(404),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn all_checks_pass_against_the_local_pool_in_text_and_json() {
    let text = doctor(&["--endpoint", "local"], &[]).await;
    assert_eq!(text.code, 0, "{}", text.all());
    assert!(
        text.line("Endpoint")
            .starts_with("ok   Endpoint: local: the built-in local pool (python)")
    );
    assert!(text.line("Run").contains("`print(1)`") && text.line("Run").contains("printed 1"));
    assert!(text.line("Cold start").starts_with("ok "));
    assert!(
        text.line("Cleanup")
            .contains("ended the doctor's session doctor-")
    );
    assert!(
        text.stdout
            .ends_with("all checks passed: 4 ok, 0 warning(s), 0 failed, 0 skipped\n")
    );

    let json = doctor(
        &["--endpoint", "local", "--language", "javascript", "--json"],
        &[],
    )
    .await;
    assert_eq!(json.code, 0, "{}", json.all());
    let report: Value = serde_json::from_str(json.stdout.trim()).expect("one JSON object");
    assert_eq!(report["ok"], true);
    assert_eq!(report["endpoint"], "local");
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Endpoint", "Run", "Cold start", "Cleanup"]);
    assert!(
        report["checks"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("console.log(1)")
    );
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "ok")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn all_checks_pass_against_a_fake_pool_and_the_token_is_described_not_shown() {
    let az = FakeAz::new();
    let pool = FakePool::start_https(pool_script(|_| executions_ok("1\n", json!(null)))).await;
    let out = doctor(
        &["--endpoint", &pool.endpoint(), "--auth", "azure-cli"],
        &https_env(pool.ca_file.as_ref().unwrap(), &az),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    for name in [
        "Endpoint",
        "DNS",
        "TLS",
        "Token",
        "Role",
        "Run",
        "Cold start",
        "Cleanup",
    ] {
        assert!(out.line(name).starts_with("ok   "), "{}", out.all());
    }
    assert!(
        out.line("DNS").contains("localhost →"),
        "{}",
        out.line("DNS")
    );
    let tls = out.line("TLS");
    assert!(
        tls.contains("issued by azure-sessions-lsp test CA") && tls.contains("valid until"),
        "{tls}"
    );
    let token = out.line("Token");
    assert!(
        token.contains("doctor@contoso.example")
            && token.contains("tenant 72f988bf-0000-4000-8000-000000000001")
            && token.contains("audience https://dynamicsessions.io")
            && (token.contains("expires in 59 min") || token.contains("expires in 60 min")),
        "{token}"
    );
    az.assert_not_in(&out.all());

    // The probe carried no credential; the run went to a session of the doctor's own, which
    // was deleted afterwards.
    let requests = pool.requests();
    let probe = requests
        .iter()
        .find(|r| r.method == Method::HEAD)
        .expect("a probe");
    assert_eq!(probe.header("authorization"), None);
    let run = requests
        .iter()
        .find(|r| r.method == Method::POST)
        .expect("a run");
    let id = run.query["identifier"].clone();
    assert!(id.starts_with("doctor-"), "{id}");
    assert_eq!(run.json()["code"], "print(1)");
    assert_eq!(
        run.header("authorization"),
        Some(format!("Bearer {}", az.token))
    );
    let deleted = requests
        .iter()
        .find(|r| r.method == Method::DELETE)
        .expect("a delete");
    assert_eq!(
        (deleted.path.as_str(), &deleted.query["identifier"]),
        ("/session", &id)
    );
    assert!(out.line("Cleanup").contains(&id));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cold_pool_passes_and_the_cold_start_time_is_given() {
    let pool = FakePool::start(pool_script(|n| {
        if n < 3 {
            status(502)
        } else {
            executions_ok("1\n", json!(null))
        }
    }))
    .await;
    let out = doctor(&["--endpoint", &pool.endpoint()], &[]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let cold = out.line("Cold start");
    assert!(
        cold.starts_with("ok   Cold start: the session answered after ")
            && cold.contains("(3 × 502 Bad Gateway before it)"),
        "{cold}"
    );
    assert!(out.line("Connection").starts_with("ok "));
    assert!(out.line("Key").contains("no key is sent"));
    assert_eq!(pool.executions().len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_custom_container_that_never_answers_is_explained_with_the_pools_port_and_image() {
    let pool = FakePool::start(pool_script(|_| {
        Reply::Raw(
            502,
            vec![],
            b"<html><title>502 Bad Gateway</title></html>".to_vec(),
        )
    }))
    .await;
    let az = FakeAz::new();
    az.set_pools(json!([
        {"name": "elsewhere", "properties": {"poolManagementEndpoint": "https://other.example"}},
        {"name": "piston", "id": "/subscriptions/s/resourceGroups/rg-piston/providers/Microsoft.App/sessionPools/piston",
         "properties": {
            "poolManagementEndpoint": pool.endpoint(),
            "provisioningState": "Succeeded",
            "scaleConfiguration": {"readySessionInstances": 1},
            "customContainerTemplate": {
                "containers": [{"image": "contoso.azurecr.io/piston-adapter:7"}],
                "ingress": {"targetPort": 8080}}}}
    ]));
    let started = Instant::now();
    let out = doctor(
        &[
            "--endpoint",
            &pool.endpoint(),
            "--api",
            "custom",
            "--cold-start-timeout-seconds",
            "2",
        ],
        &[("PATH", az.path())],
    )
    .await;
    // The client gives up when the next wait would pass the budget: a little under 2 s.
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.line("Run")
            .starts_with("FAIL Run: the session never answered: 502 Bad Gateway")
    );
    assert!(
        out.line("Cold start")
            .contains("not ready within coldStartTimeoutSeconds (2 s)")
    );
    let container = out.line("Container");
    for expected in [
        "FAIL Container: 502 Bad Gateway for",
        "past coldStartTimeoutSeconds (2 s): nothing listens on the container's target port, or the adapter is not up yet",
        "the pool piston (from az): target port 8080, image contoso.azurecr.io/piston-adapter:7, provisioningState Succeeded",
        "listen on 0.0.0.0:8080",
        "docker run --rm -p 8080:8080 contoso.azurecr.io/piston-adapter:7",
        "POST http://localhost:8080/python/execute",
        "az containerapp sessionpool update -n piston -g rg-piston --target-port PORT",
    ] {
        assert!(
            container.contains(expected),
            "{expected:?} not in {container}"
        );
    }
    assert!(
        az.calls()
            .iter()
            .any(|c| c.starts_with("containerapp sessionpool list"))
    );
    // The doctor's session is stopped the custom-container way.
    let stops: Vec<_> = pool
        .requests()
        .into_iter()
        .filter(|r| r.path == "/.management/stopSession")
        .collect();
    assert_eq!(stops.len(), 1);
    assert!(stops[0].query["identifier"].starts_with("doctor-"));

    // Signed out: the same explanation, with how to read the port and image instead.
    let signed_out = FakeAz::new();
    let out = doctor(
        &[
            "--endpoint",
            &pool.endpoint(),
            "--api",
            "custom",
            "--cold-start-timeout-seconds",
            "1",
        ],
        &[("PATH", signed_out.path())],
    )
    .await;
    let container = out.line("Container");
    assert!(
        container.contains("nothing listens on the container's target port"),
        "{container}"
    );
    assert!(container.contains("Please run 'az login'"), "{container}");
    assert!(
        container.contains("--query properties.customContainerTemplate"),
        "{container}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_listening_on_the_port_says_so() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let out = doctor(&["--endpoint", &format!("http://127.0.0.1:{port}")], &[]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.line("Connection")
            .starts_with(&format!("FAIL Connection: nothing listens on 127.0.0.1:{port} (connection refused) — fix: check the port")),
        "{}",
        out.all()
    );
    assert!(
        out.line("Run")
            .starts_with("skip Run: the pool cannot be reached")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forbidden_names_both_roles() {
    let az = FakeAz::new();
    let pool =
        FakePool::start_https(pool_script(|_| azure_error(403, "Forbidden", "no access"))).await;
    let out = doctor(
        &["--endpoint", &pool.endpoint(), "--auth", "azure-cli"],
        &https_env(pool.ca_file.as_ref().unwrap(), &az),
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.line("Token").starts_with("ok "));
    let role = out.line("Role");
    assert!(
        role.starts_with("FAIL Role: access denied (403 Forbidden)"),
        "{role}"
    );
    assert!(
        role.contains("\"Azure ContainerApps Session Executor\"")
            && role.contains("\"Contributor\""),
        "{role}"
    );
    assert!(out.line("Run").starts_with("skip "));
    assert!(
        !out.stdout.contains("Cleanup"),
        "no session was made, none is ended"
    );
    az.assert_not_in(&out.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn unauthorized_fails_the_token_check_without_showing_the_token() {
    let az = FakeAz::new();
    // A pool that echoes the Authorization header it got must not get it printed either.
    let pool = FakePool::start_https(pool_script(|_| status(401))).await;
    let out = doctor(
        &["--endpoint", &pool.endpoint(), "--auth", "azure-cli"],
        &https_env(pool.ca_file.as_ref().unwrap(), &az),
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let token = out.line("Token");
    assert!(
        token.starts_with("FAIL Token: the pool rejected the token (doctor@contoso.example")
            && token.contains("401 Unauthorized")
            && token.contains("az login"),
        "{token}"
    );
    assert!(
        out.line("Role")
            .starts_with("skip Role: the token was rejected first")
    );
    az.assert_not_in(&out.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_for_another_audience_fails_before_any_run() {
    let az =
        FakeAz::with_claims(json!({"aud": "https://management.azure.com/", "appid": "app-123"}));
    let pool = FakePool::start_https(pool_script(|_| executions_ok("1\n", json!(null)))).await;
    let out = doctor(
        &["--endpoint", &pool.endpoint(), "--auth", "azure-cli"],
        &https_env(pool.ca_file.as_ref().unwrap(), &az),
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let token = out.line("Token");
    assert!(
        token.contains("app app-123")
            && token.contains("audience https://management.azure.com/")
            && token.contains("not a token for the session pool"),
        "{token}"
    );
    assert!(
        out.line("Run")
            .starts_with("skip Run: there is no usable token")
    );
    assert!(pool.executions().is_empty());
    az.assert_not_in(&out.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_certificate_fails_the_tls_check() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write_pem(dir.path(), "ca.pem");
    let pool = TlsPool::start(common::tls::PoolOptions {
        leaf: Some(ca.leaf(LeafKind::Expired)),
        alpn: Alpn::Http11,
        idle_close: None,
    })
    .await;
    let az = FakeAz::new();
    let out = doctor(
        &["--endpoint", &pool.https_endpoint(), "--auth", "azure-cli"],
        &https_env(&ca_file, &az),
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let tls = out.line("TLS");
    assert!(
        tls.starts_with("FAIL TLS: the TLS certificate of localhost"),
        "{tls}"
    );
    assert!(
        tls.contains("has expired") && tls.contains("must be renewed"),
        "{tls}"
    );
    assert!(
        out.line("Run")
            .starts_with("skip Run: the pool cannot be reached")
    );
    assert!(
        pool.requests().is_empty(),
        "nothing was sent over the failed connection"
    );
    az.assert_not_in(&out.all());
}
