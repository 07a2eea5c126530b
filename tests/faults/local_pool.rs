//! The local pool is pushed around: endless output and loops, crashes, traversal, bad identifiers.

use serde_json::json;

use crate::common::lsp::*;
use crate::support::*;

pub async fn local_pool_cases(env: &Env) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut lsp = env
        .server(
            "local-pool",
            json!({"endpoint": "local", "timeoutSeconds": 2, "prewarm": false}),
        )
        .await;
    let uri = file_uri(&env.folder.join("local.py"));
    lsp.open(
        &uri,
        "python",
        "kept = 41\nwhile True: print('x' * 1000)\nwhile True: pass\nimport os; os._exit(3)\nprint(kept + 1)\n",
    )
    .await;
    let line = |i: u32| json!({"uri": uri, "range": {"start": {"line": i, "character": 0}, "end": {"line": i, "character": 0}}});
    let _ = lsp.command("azure-sessions.run", line(0)).await;

    let endless = lsp.command("azure-sessions.run", line(1)).await;
    let stdout_len = endless
        .as_ref()
        .map(|o| o["stdout"].as_str().unwrap_or("").len())
        .unwrap_or(0);
    let ok =
        matches!(&endless, Ok(o) if o["error"]["type"] == "Timeout") && stdout_len <= (2 << 20);
    rows.push(row(
        "local pool: endless output",
        format!(
            "{}; {stdout_len} bytes of stdout kept",
            summary(&endless).chars().take(40).collect::<String>()
        ),
        lsp.alive(),
        (!ok).then(|| {
            format!(
                "expected a timeout with capped output, got {} ({stdout_len} bytes)",
                summary(&endless).chars().take(120).collect::<String>()
            )
        }),
    ));

    let stuck = lsp.command("azure-sessions.run", line(2)).await;
    let after = lsp.command("azure-sessions.run", line(4)).await;
    let text = transcript_text(&lsp, &uri).await;
    let ok = matches!(&stuck, Ok(o) if o["error"]["type"] == "Timeout")
        && matches!(&after, Ok(o) if o["error"]["type"] == "NameError")
        && text.contains("!! The local pool replaced the session's interpreter");
    rows.push(row(
        "local pool: endless loop",
        format!(
            "{}; the next run: {} and the transcript notes that the state is gone",
            summary(&stuck),
            summary(&after).lines().last().unwrap_or("")
        ),
        lsp.alive(),
        (!ok).then(|| format!("{} / {}", summary(&stuck), summary(&after))),
    ));

    let _ = lsp.command("azure-sessions.run", line(0)).await;
    let exited = lsp.command("azure-sessions.run", line(3)).await;
    let after = lsp.command("azure-sessions.run", line(4)).await;
    let text = transcript_text(&lsp, &uri).await;
    let ok = matches!(&exited, Ok(o) if o["status"] == "Failed" && o["stderr"].as_str().unwrap_or("").contains("exited"))
        && matches!(&after, Ok(o) if o["error"]["type"] == "NameError")
        && text.matches("!! The local pool replaced").count() >= 2;
    rows.push(row(
        "local pool: os._exit in user code",
        format!(
            "{}; the next run gets a fresh interpreter and is told so",
            summary(&exited)
                .replace('\n', " ")
                .chars()
                .take(120)
                .collect::<String>()
        ),
        lsp.alive(),
        (!ok).then(|| format!("{} / {}", summary(&exited), summary(&after))),
    ));

    let secret = env.folder.join("upload.txt");
    std::fs::write(&secret, "data").unwrap();
    let traversal = lsp
        .command(
            "azure-sessions.uploadFile",
            json!({"uri": file_uri(&secret), "remoteName": "../../etc/evil"}),
        )
        .await;
    rows.push(row(
        "upload with a remote name containing ../",
        summary(&traversal),
        lsp.alive(),
        (!matches!(&traversal, Err(e) if e["code"] == -32602))
            .then(|| format!("expected InvalidParams, got {}", summary(&traversal))),
    ));
    drop(lsp);

    // The pool itself, over HTTP: invalid identifiers, traversal, loopback only.
    let pool = azure_sessions_lsp::pool::LocalPool::start(
        azure_sessions_lsp::pool::PoolOptions::default(),
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let bad_id = http
        .post(format!(
            "{}/executions?api-version=2025-10-02-preview&identifier=a%20b",
            pool.endpoint()
        ))
        .bearer_auth(pool.key())
        .json(&json!({"code": "1"}))
        .send()
        .await
        .unwrap();
    let code = bad_id
        .headers()
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let status = bad_id.status().as_u16();
    rows.push(row(
        "local pool: invalid identifier",
        format!("HTTP {status} {code}"),
        true,
        (status != 400 || code != "SessionRequestValidationFailed")
            .then(|| format!("HTTP {status} {code}")),
    ));
    let part = reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("../escape.txt");
    let traversal = http
        .post(format!(
            "{}/files?api-version=2025-10-02-preview&identifier=ident-1",
            pool.endpoint()
        ))
        .bearer_auth(pool.key())
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let status = traversal.status().as_u16();
    rows.push(row(
        "local pool: file name with ../",
        format!(
            "HTTP {status} {}",
            traversal
                .headers()
                .get("x-ms-error-code")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        ),
        true,
        (status != 400).then(|| format!("HTTP {status}")),
    ));
    let loopback = pool.addr().ip().is_loopback();
    rows.push(row(
        "local pool: listening address",
        pool.addr().to_string(),
        true,
        (!loopback).then(|| "not loopback".to_owned()),
    ));
    pool.shutdown().await;
    rows
}
