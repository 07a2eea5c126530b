//! Secrets and permissions: no token in logs, messages or output; private files.

use std::path::Path;

use serde_json::json;

use crate::common::lsp::*;
use crate::common::misbehaving::{Fault, MisbehavingPool};
use crate::support::*;

pub async fn secret_cases(env: &Env) -> Vec<Row> {
    let mut rows = Vec::new();
    let lsp = env
        .server("insecure", json!({"endpoint": "http://pool.example.com"}))
        .await;
    let uri = file_uri(&env.folder.join("main.py"));
    lsp.open(&uri, "python", "print(1)\n").await;
    let result = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
    let warned = lsp.received("window/showMessage").iter().any(|m| {
        m["message"]
            .as_str()
            .unwrap_or("")
            .contains("plain http:// is allowed only to a loopback address")
    });
    rows.push(row(
        "plain-HTTP endpoint off loopback",
        format!(
            "setting refused ({}); run: {}",
            if warned {
                "warning names azureSessions.endpoint"
            } else {
                "no warning"
            },
            summary(&result)
        ),
        true,
        (!warned
            || !matches!(&result, Err(e) if e["message"].as_str().unwrap_or("").contains("is refused")))
        .then(|| "expected the endpoint refused, and the run to name it".to_owned()),
    ));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(env.state.join("azure-sessions-lsp/user-secret"))
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    rows.push(row(
        "per-user secret file permissions",
        format!("{mode:o}"),
        true,
        (mode != 0o600).then(|| format!("mode {mode:o}, expected 600")),
    ));
    let other_state = env._dir.path().join("other-user");
    let id_of = |state: &Path| {
        let mut env_vars = env.env();
        env_vars.retain(|(k, _)| *k != "XDG_STATE_HOME");
        env_vars.push(("XDG_STATE_HOME", state.display().to_string()));
        let log = env.logs.join("ids.log");
        let params = init_params(
            &[&env.folder],
            json!({"azureSessions": {"endpoint": "local"}}),
        );
        async move {
            let lsp = Lsp::spawn(&env_vars, &log, params).await;
            lsp.command("azure-sessions.sessionInfo", json!({}))
                .await
                .unwrap()["identifier"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        }
    };
    let mine = id_of(&env.state).await;
    let theirs = id_of(&other_state).await;
    rows.push(row(
        "two users, same folder",
        format!("{mine} vs {theirs}"),
        true,
        (mine == theirs || mine.is_empty()).then(|| "identifiers must differ".to_owned()),
    ));
    // A token handed over by the editor (VS Code's account) goes through tower-lsp-server, which
    // logs whole messages at trace level.
    let pool = MisbehavingPool::start_https(|_, _| Fault::Ok("ok".into())).await;
    let log = env.logs.join("editor-token.log");
    let params = init_params(
        &[&env.folder],
        json!({"azureSessions": {"endpoint": pool.endpoint(), "prewarm": false, "extraCaCertificates": [pool.ca_file]}, "tokenProvider": "client"}),
    );
    let lsp = Lsp::spawn(&env.env(), &log, params).await;
    let uri = file_uri(&env.folder.join("editor.py"));
    lsp.open(&uri, "python", "print(1)\n").await;
    let ran = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
    let sent = pool
        .authorizations()
        .iter()
        .any(|a| a == "Bearer editor-t0ken-secret");
    drop(lsp);
    let in_log = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("editor-t0ken-secret");
    rows.push(row(
        "a token from the editor, at RUST_LOG=trace",
        format!(
            "{}; sent to the pool: {sent}; in the server's stderr: {in_log}",
            summary(&ran)
        ),
        true,
        (!sent || in_log || ran.is_err())
            .then(|| "the editor's token must reach the pool and never the logs".to_owned()),
    ));
    let leaked = {
        let mut found = None;
        for entry in std::fs::read_dir(&env.logs).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.contains(TOKEN) {
                found = Some(path.display().to_string());
            }
        }
        found
    };
    let log_bytes: u64 = std::fs::read_dir(&env.logs)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    rows.push(row(
        "the fake token in any server's stderr at RUST_LOG=trace",
        format!(
            "{} KiB of logs searched; {}",
            log_bytes / 1024,
            if leaked.is_some() {
                "FOUND"
            } else {
                "not found"
            }
        ),
        true,
        leaked.map(|p| format!("token found in {p}")),
    ));
    rows
}
