//! The editor sends bad input: invalid arguments and ranges, huge documents, odd text, out-of-order
//! versions, cancel storms, shutdown mid-run, exit without shutdown.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::lsp::*;
use crate::common::misbehaving::{Fault, MisbehavingPool};
use crate::support::*;

pub async fn bad_input_cases(env: &Env) -> Vec<Row> {
    let pool = MisbehavingPool::start_https(|_, _| Fault::Ok("ok".into())).await;
    let mut lsp = env
        .server(
            "bad-input",
            pool_settings(&pool, json!({"timeoutSeconds": 10})),
        )
        .await;
    let uri = file_uri(&env.folder.join("input.py"));
    let line = "s = '😀漢字é' + 'x'";
    lsp.open(&uri, "python", &format!("{line}\nprint(s)\n"))
        .await;
    let mut rows = Vec::new();

    let invalid = [
        (
            "command without arguments",
            "azure-sessions.run",
            json!(null),
        ),
        (
            "argument of the wrong type",
            "azure-sessions.run",
            json!({"uri": 42}),
        ),
        (
            "unknown, unopened URI",
            "azure-sessions.run",
            json!({"uri": "file:///no/such/file.py"}),
        ),
        (
            "negative position",
            "azure-sessions.run",
            json!({"uri": uri, "range": {"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": 0}}}),
        ),
        (
            "runCell without position",
            "azure-sessions.runCell",
            json!({"uri": uri}),
        ),
        (
            "downloadFile without remoteName",
            "azure-sessions.downloadFile",
            json!({"targetUri": "file:///tmp/x"}),
        ),
        ("unknown command", "azure-sessions.launchRockets", json!({})),
    ];
    for (case, command, argument) in invalid {
        let arguments = if argument.is_null() {
            json!([])
        } else {
            json!([argument])
        };
        let result = lsp
            .request(
                "workspace/executeCommand",
                json!({"command": command, "arguments": arguments}),
            )
            .await;
        let ok = matches!(&result, Err(e) if e["code"] == -32602);
        rows.push(row(
            case,
            summary(&result),
            lsp.alive(),
            (!ok).then(|| format!("expected InvalidParams, got {}", summary(&result))),
        ));
    }

    // Ranges past the end and huge positions are clamped; UTF-16 columns select exact text.
    let before = pool.codes().len();
    let past = lsp.command("azure-sessions.run", json!({"uri": uri, "range": {"start": {"line": 1, "character": 0}, "end": {"line": 900, "character": 900}}})).await;
    let huge = lsp.command("azure-sessions.run", json!({"uri": uri, "range": {"start": {"line": 4294967295u32, "character": 4294967295u32}, "end": {"line": 4294967295u32, "character": 4294967295u32}}})).await;
    let start = "s = ".encode_utf16().count();
    let end = "s = '😀漢字é'".encode_utf16().count();
    let exact = lsp.command("azure-sessions.run", json!({"uri": uri, "range": {"start": {"line": 0, "character": start}, "end": {"line": 0, "character": end}}})).await;
    let codes: Vec<String> = pool.codes().into_iter().skip(before).collect();
    let expected = vec![
        "print(s)\n".to_owned(),
        "".to_owned(),
        "'😀漢字é'".to_owned(),
    ];
    let fine = past.is_ok() && huge.is_ok() && exact.is_ok() && codes == expected;
    rows.push(row(
        "ranges past the end, huge positions, UTF-16 columns on emoji/CJK/combining text",
        format!("sent {codes:?}"),
        lsp.alive(),
        (!fine).then(|| {
            format!(
                "expected {expected:?}, sent {codes:?} ({}, {}, {})",
                summary(&past),
                summary(&huge),
                summary(&exact)
            )
        }),
    ));

    // didChange with an older version is ignored.
    lsp.notify("textDocument/didChange", json!({"textDocument": {"uri": uri, "version": 7}, "contentChanges": [{"text": "print('v7')\n"}]})).await;
    lsp.notify("textDocument/didChange", json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": "print('v3')\n"}]})).await;
    let _ = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
    let last = pool.codes().last().cloned().unwrap_or_default();
    rows.push(row(
        "didChange with out-of-order versions",
        format!("ran {last:?}"),
        lsp.alive(),
        (last != "print('v7')\n").then(|| format!("ran {last:?}, expected the text of version 7")),
    ));

    // A 20 MB document: open, edit, code action and a one-line run stay quick.
    let big_uri = file_uri(&env.folder.join("big.py"));
    let mut big = String::with_capacity(21 << 20);
    while big.len() < 20 << 20 {
        big.push_str("value = 'padding padding padding padding padding padding padding'\n");
    }
    big.push_str("print('the end')\n");
    let lines = big.lines().count() as u32;
    let started = Instant::now();
    eprintln!("[faults] opening a 20 MB document");
    lsp.open(&big_uri, "python", &big).await;
    lsp.notify("textDocument/didChange", json!({"textDocument": {"uri": big_uri, "version": 2}, "contentChanges": [{"range": {"start": {"line": 5, "character": 0}, "end": {"line": 5, "character": 0}}, "text": "# edited\n"}]})).await;
    let actions = lsp.request("textDocument/codeAction", json!({"textDocument": {"uri": big_uri}, "range": {"start": {"line": lines, "character": 0}, "end": {"line": lines, "character": 0}}, "context": {"diagnostics": []}})).await;
    let ran = lsp.command("azure-sessions.run", json!({"uri": big_uri, "range": {"start": {"line": lines, "character": 0}, "end": {"line": lines, "character": 0}}})).await;
    let elapsed = started.elapsed();
    let sent = pool.codes().last().cloned().unwrap_or_default();
    let fine = actions.is_ok()
        && ran.is_ok()
        && sent == "print('the end')"
        && elapsed < Duration::from_secs(20);
    rows.push(row(
        "a 20 MB document",
        format!(
            "open + edit + code action + run of its last line in {:.2} s; sent {sent:?}",
            elapsed.as_secs_f64()
        ),
        lsp.alive(),
        (!fine).then(|| {
            format!(
                "{} / {} / sent {sent:?} / {elapsed:?}",
                summary(&actions.map(|_| json!({"status": "ok"}))),
                summary(&ran)
            )
        }),
    ));
    drop(lsp);

    eprintln!("[faults] bad input done");
    rows.push(queued_then_cancelled(env).await);
    eprintln!("[faults] queued then cancelled done");
    rows.push(shutdown_during_a_run(env).await);
    rows.push(exit_without_shutdown(env).await);
    rows
}

pub async fn queued_then_cancelled(env: &Env) -> Row {
    let pool = MisbehavingPool::start_https(|n, _| {
        if n == 0 {
            Fault::Hang
        } else {
            Fault::Ok("after".into())
        }
    })
    .await;
    let mut lsp = env
        .server(
            "cancel-1000",
            pool_settings(&pool, json!({"timeoutSeconds": 60})),
        )
        .await;
    let uri = file_uri(&env.folder.join("queue.py"));
    let text: String = (0..1001).map(|i| format!("print({i})\n")).collect();
    lsp.open(&uri, "python", &text).await;
    let line = |i: u32| json!({"uri": uri, "range": {"start": {"line": i, "character": 0}, "end": {"line": i, "character": 0}}});
    let mut pending = Vec::new();
    for i in 0..1000 {
        pending.push(
            lsp.start_request(
                "workspace/executeCommand",
                json!({"command": "azure-sessions.run", "arguments": [line(i)]}),
            )
            .await,
        );
    }
    while pool.requests() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    for (id, _) in &pending {
        lsp.notify("$/cancelRequest", json!({"id": id})).await;
    }
    let (mut cancelled, mut ran, mut other) = (0, 0, Vec::new());
    for (_, rx) in pending {
        match answer(rx, Duration::from_secs(30)).await {
            Err(e) if e["code"] == -32800 => cancelled += 1,
            Ok(o) if o["status"] == "Succeeded" => ran += 1,
            result => other.push(summary(&result)),
        }
    }
    let elapsed = started.elapsed();
    let next = lsp.command("azure-sessions.run", json!({"uri": uri, "range": {"start": {"line": 1000, "character": 0}, "end": {"line": 1000, "character": 0}}})).await;
    // Each code line is distinct: a line sent twice would be a run performed twice.
    let codes = pool.codes();
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    let twice = distinct.len() != codes.len();
    // Sent: the one in flight, those that started before their cancel arrived (answered, or
    // cancelled while waiting for the pool), and the next run: never more than one each.
    let fine = other.is_empty()
        && cancelled + ran == 1000
        && next.is_ok()
        && !twice
        && codes.len() <= 1001;
    Row {
        case: "1,000 runs queued, then cancelled".to_owned(),
        user_sees: format!(
            "{cancelled} answered RequestCancelled and {ran} had finished, within {:.2} s; {} reached the pool (each once) before their cancel, plus the next run",
            elapsed.as_secs_f64(),
            codes.len() - 1
        ),
        survived: lsp.alive() && next.is_ok(),
        lost: false,
        twice,
        failure: (!fine).then(|| {
            format!(
                "cancelled {cancelled}, ran {ran}, others {:?}, next {}, sent {}",
                other.iter().take(3).collect::<Vec<_>>(),
                summary(&next),
                codes.len()
            )
        }),
    }
}

pub async fn shutdown_during_a_run(env: &Env) -> Row {
    let pool = MisbehavingPool::start_https(|_, _| Fault::Hang).await;
    let mut lsp = env
        .server(
            "shutdown-during-run",
            pool_settings(&pool, json!({"timeoutSeconds": 60})),
        )
        .await;
    let uri = file_uri(&env.folder.join("s.py"));
    lsp.open(&uri, "python", "print(1)\n").await;
    let (_, run) = lsp
        .start_request(
            "workspace/executeCommand",
            json!({"command": "azure-sessions.run", "arguments": [{"uri": uri}]}),
        )
        .await;
    while pool.requests() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let shutdown = lsp.request("shutdown", json!(null)).await;
    lsp.notify("exit", json!(null)).await;
    let exited = wait_exit(&mut lsp, Duration::from_secs(10)).await;
    let run_answer = tokio::time::timeout(Duration::from_millis(200), run).await;
    let fine = shutdown.is_ok() && exited.is_some();
    row(
        "shutdown during a run",
        format!(
            "shutdown answered in {:.2} s, the process exited ({:?}); the pending run {}",
            started.elapsed().as_secs_f64(),
            exited,
            if run_answer.is_ok() {
                "was answered"
            } else {
                "ended with the connection"
            }
        ),
        true,
        (!fine).then(|| format!("shutdown {shutdown:?}, exit {exited:?}")),
    )
}

pub async fn exit_without_shutdown(env: &Env) -> Row {
    let mut lsp = env
        .server("exit-without-shutdown", json!({"endpoint": "local"}))
        .await;
    lsp.notify("exit", json!(null)).await;
    let exited = wait_exit(&mut lsp, Duration::from_secs(10)).await;
    row(
        "exit without shutdown",
        format!("the process exited ({exited:?})"),
        true,
        exited
            .is_none()
            .then(|| "the process did not exit within 10 s".to_owned()),
    )
}
