//! The attacks of the security review on the client side: where tokens go (proxies, redirects,
//! echoes, plain http), endpoints and identifiers, prewarm, a hostile `Retry-After`, a hung `az`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::fake_pool::{FakePool, Reply, executions_ok};
use crate::common::lsp::*;
use crate::common::misbehaving::{Fault, MisbehavingPool};
use crate::common::tls::{ConnectProxy, ProxyMode};
use crate::support::*;

const EDITOR_TOKEN: &str = "editor-t0ken-secret";

/// The identifier sent to a test or local endpoint is never the one of the real pool.
pub async fn identifiers_per_endpoint(env: &Env) -> Attack {
    let lsp = env
        .server(
            "identifiers",
            json!({"endpoint": "local", "prewarm": false}),
        )
        .await;
    let uri = file_uri(&env.folder.join("id.py"));
    let mut ids = Vec::new();
    for (endpoint, api) in [
        ("local", "executions"),
        (
            "https://eastus.dynamicsessions.io/subscriptions/s/sessionPools/p",
            "executions",
        ),
        (
            "https://EastUS.dynamicsessions.io/subscriptions/s/sessionPools/p/",
            "executions",
        ),
        (
            "https://eastus.dynamicsessions.io/subscriptions/s/sessionPools/p",
            "legacy",
        ),
        ("http://127.0.0.1:8080", "executions"),
    ] {
        lsp.notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"azureSessions": {"endpoint": endpoint, "api": api, "prewarm": false}}}),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let info = lsp
            .command("azure-sessions.sessionInfo", json!({"uri": uri}))
            .await
            .unwrap_or(Value::Null);
        ids.push(info["identifier"].as_str().unwrap_or("").to_owned());
    }
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    Attack::new(
        "an identifier given to the local pool or a test endpoint reused on the real pool",
        format!(
            "local, real pool, the same pool spelled differently, legacy api, loopback: {ids:?}"
        ),
        "the same pool spelled two ways shares one identifier; every other endpoint or api has its own",
        (ids.iter().any(|i| i.is_empty()) || ids[1] != ids[2] || distinct.len() != 4)
            .then(|| "identifiers do not follow the endpoint".to_owned()),
    )
}

/// With a proxy configured, an http endpoint on 127.0.0.2 must neither be proxied nor get a token.
pub async fn token_through_a_proxy_for_127_0_0_2(env: &Env) -> Attack {
    let proxy = ConnectProxy::start(ProxyMode::Tunnel).await;
    let pool = FakePool::start_on("127.0.0.2", |_, _| executions_ok("direct\n", json!(null))).await;
    let mut vars = env.env();
    vars.push(("HTTPS_PROXY", proxy.url()));
    vars.push(("HTTP_PROXY", proxy.url()));
    let lsp = Lsp::spawn(
        &vars,
        &env.logs.join("proxy-127-0-0-2.log"),
        init_params(
            &[&env.folder],
            json!({"azureSessions": {"endpoint": format!("http://127.0.0.2:{}", pool.addr.port())}, "tokenProvider": "client"}),
        ),
    )
    .await;
    let uri = file_uri(&env.folder.join("proxied.py"));
    lsp.open(&uri, "python", "print(1)\n").await;
    let ran = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
    let asked = lsp.received("azure-sessions/getAccessToken").len();
    let auth: Vec<String> = pool
        .requests()
        .iter()
        .filter_map(|r| r.header("authorization"))
        .collect();
    Attack::new(
        "HTTPS_PROXY set, endpoint http://127.0.0.2:PORT, editor ready to hand over a token",
        format!(
            "{}; proxy connections: {}; token asked of the editor: {asked} time(s); Authorization headers at the pool: {}",
            summary(&ran),
            proxy.accepted(),
            auth.len()
        ),
        "sent directly (all of 127.0.0.0/8 bypasses proxies), with no token",
        (ran.is_err() || proxy.accepted() > 0 || asked > 0 || !auth.is_empty())
            .then(|| "proxied, or a token was sent over plain http".to_owned()),
    )
}

/// A 307 from the pool to another host: not followed, the code goes nowhere else.
pub async fn redirect_to_another_host(env: &Env) -> Attack {
    let elsewhere = FakePool::start(|_, _| executions_ok("moved\n", json!(null))).await;
    let location = format!("http://127.0.0.1:{}/executions", elsewhere.addr.port());
    let pool = FakePool::start_https(move |_, _| {
        Reply::Raw(307, vec![("location", location.clone())], Vec::new())
    })
    .await;
    let lsp = env
        .server(
            "redirect",
            json!({"endpoint": pool.endpoint(), "extraCaCertificates": [pool.ca_file], "auth": "azure-cli", "prewarm": false}),
        )
        .await;
    let uri = file_uri(&env.folder.join("redirect.py"));
    lsp.open(&uri, "python", "print('code sent to the pool')\n")
        .await;
    let ran = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
    let message = ran
        .as_ref()
        .err()
        .and_then(|e| e["message"].as_str())
        .unwrap_or("")
        .to_owned();
    Attack::new(
        "the pool answers 307 to another host (plain http)",
        format!(
            "{}; requests at the other host: {}",
            summary(&ran),
            elsewhere.count()
        ),
        "an error naming the redirect and its host; nothing sent there",
        (elsewhere.count() > 0 || !message.contains("redirect") || !message.contains("127.0.0.1"))
            .then(|| "the redirect was followed or not named".to_owned()),
    )
    .with_leak_check(secrets_leaked(env, &lsp))
}

/// A container that echoes request headers in a successful answer.
pub async fn token_echoed_in_a_2xx(env: &Env) -> Attack {
    let pool = FakePool::start_https(|req, _| {
        let seen = req.header("authorization").unwrap_or_default();
        executions_ok(
            &format!("headers seen: Authorization: {seen}\n"),
            json!(seen),
        )
    })
    .await;
    let lsp = Lsp::spawn(
        &env.env(),
        &env.logs.join("echo-2xx.log"),
        init_params(
            &[&env.folder],
            json!({"azureSessions": {"endpoint": pool.endpoint(), "extraCaCertificates": [pool.ca_file], "prewarm": false}, "tokenProvider": "client"}),
        ),
    )
    .await;
    let uri = file_uri(&env.folder.join("echo.py"));
    lsp.open(&uri, "python", "print(1)\n").await;
    let ran = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
    let transcript = transcript_text(&lsp, &uri).await;
    let hover = lsp
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}),
        )
        .await
        .unwrap_or(Value::Null);
    let sent = pool
        .requests()
        .iter()
        .any(|r| r.header("authorization").as_deref() == Some(&format!("Bearer {EDITOR_TOKEN}")));
    let places = [
        (
            "run outcome",
            ran.as_ref().map(|v| v.to_string()).unwrap_or_default(),
        ),
        ("transcript", transcript),
        ("hover", hover.to_string()),
        ("messages to the editor", lsp.transcript_of_messages()),
    ];
    let leaked: Vec<&str> = places
        .iter()
        .filter(|(_, text)| text.contains(EDITOR_TOKEN))
        .map(|(name, _)| *name)
        .collect();
    Attack::new(
        "a 200 answer that echoes the Authorization header in stdout and result",
        format!(
            "{}; token sent to the pool: {sent}; token found in: {leaked:?}",
            summary(&ran)
        ),
        "the token is replaced by [redacted] everywhere",
        (!sent || !leaked.is_empty() || ran.is_err())
            .then(|| "the echoed token reached the editor".to_owned()),
    )
}

/// `Retry-After: 1e300` does not fit a Duration.
pub async fn retry_after_overflow(env: &Env) -> Attack {
    let pool = MisbehavingPool::start_https(|n, _| {
        if n == 0 {
            Fault::Refuse {
                status: 503,
                headers: vec![("retry-after".into(), "1e300".into())],
                body: String::new(),
            }
        } else {
            Fault::Ok("ok".into())
        }
    })
    .await;
    let mut lsp = env
        .server("retry-after-1e300", pool_settings(&pool, json!({})))
        .await;
    let uri = file_uri(&env.folder.join("retry.py"));
    lsp.open(&uri, "python", "print(1)\n").await;
    let first = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
    let second = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
    let alive = lsp.alive();
    Attack::new(
        "a pool (or proxy) answers 503 with Retry-After: 1e300",
        format!(
            "first run: {}; next run: {}; server up: {alive}",
            summary(&first),
            summary(&second)
        ),
        "clamped, no panic; the session's next run works",
        (!alive || second.is_err()).then(|| "the server or the session's queue died".to_owned()),
    )
}

/// Credentials typed into the endpoint URL never reach a message or a log.
pub async fn credentials_in_the_endpoint(env: &Env) -> Attack {
    let lsp = env
        .server(
            "credentials-in-url",
            json!({"endpoint": "https://user:hunter2@pool.example.io", "prewarm": false}),
        )
        .await;
    let uri = file_uri(&env.folder.join("creds.py"));
    lsp.open(&uri, "python", "print(1)\n").await;
    let ran = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let log = std::fs::read_to_string(env.logs.join("credentials_in_url.log")).unwrap_or_default();
    let shown = lsp.transcript_of_messages().contains("hunter2");
    Attack::new(
        "endpoint https://user:hunter2@pool.example.io",
        format!(
            "{}; password in messages: {shown}; in stderr: {}",
            summary(&ran),
            log.contains("hunter2")
        ),
        "refused, named without its password",
        (ran.is_ok() || shown || log.contains("hunter2"))
            .then(|| "the password was shown".to_owned()),
    )
}

/// An endpoint from a workspace's own settings gets no request and no token before a run.
pub async fn workspace_endpoint_prewarm(env: &Env) -> Vec<Attack> {
    let mut rows = Vec::new();
    for origin in ["workspace", "user"] {
        let pool = FakePool::start_https(|_, _| Reply::Json(404, json!({}))).await;
        let lsp = Lsp::spawn(
            &env.env(),
            &env.logs.join(format!("prewarm-{origin}.log")),
            init_params(
                &[&env.folder],
                json!({"azureSessions": {"endpoint": pool.endpoint(), "extraCaCertificates": [pool.ca_file], "endpointOrigin": origin}, "tokenProvider": "client"}),
            ),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let requests = pool.count();
        let asked = lsp.received("azure-sessions/getAccessToken").len();
        let (attack, expected, bad) = if origin == "workspace" {
            (
                "a workspace's .vscode/settings.json names an https endpoint; the folder opens, nothing is run",
                "no request and no token before the user's first run",
                requests > 0 || asked > 0,
            )
        } else {
            (
                "the same endpoint from the user's own settings (control)",
                "prewarmed: the token fetched and the session looked up",
                requests == 0 || asked == 0,
            )
        };
        rows.push(Attack::new(
            attack,
            format!("requests at the endpoint within 1.5 s: {requests}; token asked of the editor: {asked}"),
            expected,
            bad.then(|| format!("{requests} request(s), {asked} token request(s)")),
        ));
    }
    rows
}

/// An `az` that hangs is killed, with its children, when the credential timeout fires.
pub async fn hung_az(env: &Env) -> Attack {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("az.pid");
    let az = dir.path().join("az");
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\nsleep 100 &\necho $! > '{}'\nwait\n",
            pid_file.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_azure-sessions-lsp"))
        .args([
            "run",
            "--endpoint",
            "https://localhost:9",
            "--auth",
            "azure-cli",
            "--session",
            "hung-az-1",
            "-",
        ])
        .env(
            "PATH",
            format!(
                "{}:{}",
                dir.path().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("AZURE_SESSIONS_CREDENTIAL_TIMEOUT_SECONDS", "1")
        .env("XDG_STATE_HOME", env.state.display().to_string())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
    let running = |pid: &str| {
        std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
            .is_ok_and(|stat| !stat.contains(") Z"))
    };
    let mut still = !pid.trim().is_empty() && running(&pid);
    for _ in 0..20 {
        if !still {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        still = running(&pid);
    }
    Attack::new(
        "`az` hangs (sleep 100) while the server waits for a token",
        format!(
            "exit {:?}: {stderr}; the hung child still running afterwards: {still}",
            output.status.code()
        ),
        "the credential times out with a clear error and no process is left behind",
        (pid.trim().is_empty() || still || output.status.code() != Some(2))
            .then(|| "a hung az was left running (or never started)".to_owned()),
    )
}
