//! Row 8: the built-in local pool against a fresh `python3` per run.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::Ctx;
use crate::harness::*;
use crate::report::{ms, p50, p99, ratio, verdict};

/// 8: the local pool against a fresh python3 each time.
pub async fn local_pool(ctx: &mut Ctx) {
    let runs = ctx.n(100, 20);
    let mut child = Command::new(&ctx.bin)
        .args(["pool", "--port", "0"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the local pool");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the pool starts")
        .unwrap()
        .unwrap_or_default();
    let endpoint = first
        .strip_prefix("listening on ")
        .expect("listening on …")
        .trim()
        .to_owned();
    assert!(endpoint.starts_with("http://127.0.0.1:"));
    let second = lines.next_line().await.unwrap().unwrap_or_default();
    let key = second
        .strip_prefix("key: ")
        .expect("key: …")
        .trim()
        .to_owned();
    let client = reqwest_client(reqwest::Client::builder());
    let url = executions_url(&endpoint, "azs-local-bench");
    let body = executions_body("print(1)");
    let t = Instant::now();
    let answer = reqwest_once_as(&client, &url, &body, &key).await;
    let first_run = t.elapsed();
    assert_eq!(answer["result"]["stdout"], "1\n", "{answer}");
    let mut t_http = vec![];
    for _ in 0..runs {
        let t = Instant::now();
        reqwest_once_as(&client, &url, &body, &key).await;
        t_http.push(t.elapsed());
    }
    let _ = child.kill().await;

    // Through the language server with endpoint "local" (what an editor user gets).
    let file = OneFile::new("local", "print(1)\n");
    let uri = &file.uri;
    let lsp = file.editor(ctx, json!({"endpoint": "local"})).await;
    check_outcome(&lsp.run_line(uri, 0).await, "1\n");
    let mut t_lsp = vec![];
    for _ in 0..runs {
        let t = Instant::now();
        let outcome = lsp.run_line(uri, 0).await;
        t_lsp.push(t.elapsed());
        check_outcome(&outcome, "1\n");
    }
    lsp.stop().await;

    let mut t_py = vec![];
    for _ in 0..runs {
        let t = Instant::now();
        let out = tokio::time::timeout(
            Duration::from_secs(20),
            Command::new("python3").args(["-c", "print(1)"]).output(),
        )
        .await
        .expect("python3 in time")
        .expect("python3 runs");
        t_py.push(t.elapsed());
        assert_eq!(out.stdout, b"1\n");
    }
    let py50 = p50(&t_py);
    ctx.report.row(
        "8",
        format!("local pool: `print(1)` through the LSP (`endpoint: \"local\"`), {runs} runs, vs `python3 -c 'print(1)'` fresh"),
        ms(p50(&t_lsp)),
        ms(p99(&t_lsp)),
        format!("{} / {}", ms(py50), ms(p99(&t_py))),
        format!("python3 / local pool = {}", ratio(py50, p50(&t_lsp))),
        "several times faster",
        verdict(p50(&t_lsp) * 3 <= py50, || "less than 3×".into()),
    );
    ctx.report.row(
        "8",
        "local pool: `print(1)` by direct HTTP (`pool --port 0`, reqwest keep-alive)",
        ms(p50(&t_http)),
        ms(p99(&t_http)),
        format!("{} / {}", ms(py50), ms(p99(&t_py))),
        format!("python3 / local pool = {}", ratio(py50, p50(&t_http))),
        "",
        format!("first run (interpreter start): {}", ms(first_run)),
    );
}
