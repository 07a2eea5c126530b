//! The language server end to end, in process: commands, code actions, diagnostics on the
//! right lines, the transcript, sessions, settings, cancel and ordering. How run marks follow
//! edits is in `lsp/marks.rs`.

mod common;
#[path = "lsp/marks.rs"]
mod marks;

use std::path::Path;
use std::time::{Duration, Instant};

use common::fake_pool::*;
use common::lsp::*;
use serde_json::{Value, json};

struct Workspace {
    _root: tempfile::TempDir,
    state: tempfile::TempDir,
    folder: std::path::PathBuf,
}

fn workspace() -> Workspace {
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("project");
    std::fs::create_dir_all(&folder).unwrap();
    Workspace {
        state: tempfile::tempdir().unwrap(),
        folder,
        _root: root,
    }
}

fn local() -> Value {
    json!({"azureSessions": {"endpoint": "local"}})
}

async fn start(ws: &Workspace, options: Value) -> Lsp {
    Lsp::start(ws.state.path(), init_params(&[&ws.folder], options)).await
}

fn uri_in(folder: &Path, name: &str) -> String {
    file_uri(&folder.join(name))
}

fn range(sl: u32, sc: u32, el: u32, ec: u32) -> Value {
    json!({"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}})
}

const PROGRAM: &str = "import math\nx = 6 * 7\ndef f():\n    y = x + 1\n    return y\n# %%\nprint(\"cell\", x)\nif True:\n    z = 1\n    print(z)\n";

#[tokio::test]
async fn runs_selection_line_cell_and_file_against_the_local_pool() {
    let ws = workspace();
    let lsp = start(&ws, local()).await;
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(&uri, "python", PROGRAM).await;

    let file = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(file["status"], "Succeeded", "{file}");
    assert_eq!(file["stdout"], "cell 42\n1\n");

    let selection = lsp
        .command(
            "azure-sessions.run",
            json!({"uri": uri, "range": range(1, 4, 1, 9)}),
        )
        .await
        .unwrap();
    assert_eq!(selection["result"], 42, "exactly `6 * 7` ran: {selection}");

    let line = lsp
        .command(
            "azure-sessions.run",
            json!({"uri": uri, "range": range(3, 2, 3, 2)}),
        )
        .await
        .unwrap();
    assert_eq!(
        line["status"], "Succeeded",
        "the current line, dedented: {line}"
    );

    let lines = lsp
        .command(
            "azure-sessions.run",
            json!({"uri": uri, "range": range(8, 0, 9, 12)}),
        )
        .await
        .unwrap();
    assert_eq!(lines["stdout"], "1\n", "whole lines, dedented: {lines}");

    let cell = lsp
        .command(
            "azure-sessions.runCell",
            json!({"uri": uri, "position": {"line": 6, "character": 0}}),
        )
        .await
        .unwrap();
    assert_eq!(cell["stdout"], "cell 42\n1\n");
    let output_uri = cell["outputUri"].as_str().unwrap().to_owned();
    assert!(
        output_uri.starts_with("azure-sessions://output/project-"),
        "{output_uri}"
    );

    lsp.wait_for("azure-sessions/outputChanged", |p| p["uri"] == output_uri)
        .await;
    let text = lsp
        .request("azure-sessions/output", json!({"uri": output_uri}))
        .await
        .unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(text.matches("── run ").count(), 5, "{text}");
    assert!(
        text.contains("main.py cell at lines 7-10 · local pool · Succeeded"),
        "{text}"
    );
    assert!(text.contains("[result] 42"), "{text}");

    // Successful output as an Information diagnostic on the last line of the range.
    let info = lsp.diagnostics(&uri);
    assert!(
        info.iter().any(|d| d["severity"] == 3
            && d["range"]["start"]["line"] == 9
            && d["source"] == "azure-sessions"),
        "{info:?}"
    );
}

#[tokio::test]
async fn the_exact_text_is_sent_for_selections_lines_cells_and_files() {
    let pool = FakePool::start(|_, _| executions_ok("", json!(null))).await;
    let ws = workspace();
    let lsp = start(&ws, json!({"endpoint": pool.endpoint(), "auth": "none"})).await;
    let uri = uri_in(&ws.folder, "main.py");
    let text = "def f():\n    s = '😀漢字é' + 'x'\n    if s:\n        print(s)\n# %%\n    indented = 1\n    more = 2\n";
    lsp.open(&uri, "python", text).await;
    let utf16 = |s: &str| s.encode_utf16().count() as u32;
    let start = utf16("    s = ");
    let end = utf16("    s = '😀漢字é'");
    lsp.command(
        "azure-sessions.run",
        json!({"uri": uri, "range": range(1, start, 1, end)}),
    )
    .await
    .unwrap();
    lsp.command(
        "azure-sessions.run",
        json!({"uri": uri, "range": range(2, 3, 3, 5)}),
    )
    .await
    .unwrap();
    lsp.command(
        "azure-sessions.run",
        json!({"uri": uri, "range": range(1, 0, 1, 0)}),
    )
    .await
    .unwrap();
    lsp.command(
        "azure-sessions.runCell",
        json!({"uri": uri, "position": {"line": 6, "character": 2}}),
    )
    .await
    .unwrap();
    lsp.command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    let sent: Vec<String> = pool
        .executions()
        .iter()
        .map(|r| r.json()["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        sent,
        vec![
            "'😀漢字é'".to_owned(),
            "if s:\n    print(s)".to_owned(),
            "s = '😀漢字é' + 'x'".to_owned(),
            "indented = 1\nmore = 2".to_owned(),
            text.to_owned(),
        ]
    );
    // One session per workspace: every run used the same identifier.
    let ids: Vec<String> = pool
        .executions()
        .iter()
        .map(|r| r.query["identifier"].clone())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
}

#[tokio::test]
async fn an_error_lands_on_the_failing_line_far_down_a_file_and_inside_a_function() {
    let ws = workspace();
    let lsp = start(&ws, local()).await;
    let uri = uri_in(&ws.folder, "cells.py");
    let mut text = String::from("# %%\ndef boom(n):\n    return 1 / n\n");
    for i in 0..40 {
        text.push_str(&format!("filler_{i} = {i}\n"));
    }
    text.push_str("# %%\na = 1\nboom(0)\n");
    let marker_line = 43u32;
    lsp.open(&uri, "python", &text).await;
    lsp.command(
        "azure-sessions.runCell",
        json!({"uri": uri, "position": {"line": 1, "character": 0}}),
    )
    .await
    .unwrap();
    let outcome = lsp
        .command(
            "azure-sessions.runCell",
            json!({"uri": uri, "position": {"line": marker_line + 2, "character": 0}}),
        )
        .await
        .unwrap();
    assert_eq!(outcome["status"], "Failed");
    assert_eq!(outcome["error"]["type"], "ZeroDivisionError");
    assert_eq!(
        outcome["error"]["line"],
        marker_line + 2,
        "boom() was defined by an earlier run: the call is the user's line"
    );
    let diagnostics = lsp.diagnostics(&uri);
    let error = diagnostics
        .iter()
        .find(|d| d["severity"] == 1)
        .expect("an Error diagnostic");
    assert_eq!(error["range"]["start"]["line"], marker_line + 2);
    assert_eq!(error["message"], "ZeroDivisionError: division by zero");
    assert_eq!(error["source"], "azure-sessions");

    // Defined and called in the same run: the line inside the function, with the call as related info.
    let whole = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(whole["error"]["line"], 2, "{whole}");
    let diagnostics = lsp.diagnostics(&uri);
    let error = diagnostics.iter().find(|d| d["severity"] == 1).unwrap();
    assert_eq!(error["range"]["start"]["line"], 2);
    let related: Vec<u64> = error["relatedInformation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["location"]["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(related, vec![u64::from(marker_line + 2)]);
}

/// IPython (with and without colours) and Node tracebacks from a fake Azure pool.
#[tokio::test]
async fn ipython_and_node_tracebacks_map_to_document_lines() {
    const IPYTHON: &str = "\u{1b}[0;31m---------------------------------------------------------------------------\u{1b}[0m\n\u{1b}[0;31mKeyError\u{1b}[0m                                  Traceback (most recent call last)\nCell \u{1b}[0;32mIn[12], line 3\u{1b}[0m\n\u{1b}[1;32m      1\u{1b}[0m d = {}\n\u{1b}[0;32m----> 3\u{1b}[0m d['sales_amount']\n\n\u{1b}[0;31mKeyError\u{1b}[0m: 'sales_amount'";
    const NODE: &str = "evalmachine.<anonymous>:2\n  null.x;\n       ^\n\nTypeError: Cannot read properties of null (reading 'x')\n    at evalmachine.<anonymous>:2:8\n    at Script.runInContext (node:vm:149:12)";
    let pool = FakePool::start(|req, _| {
        let code = req.json()["code"].as_str().unwrap_or("").to_owned();
        if code.contains("null.x") {
            executions_failed(NODE)
        } else if code.contains("plain") {
            executions_failed(
                &IPYTHON
                    .replace("\u{1b}[0;31m", "")
                    .replace("\u{1b}[0m", "")
                    .replace("\u{1b}[0;32m", "")
                    .replace("\u{1b}[1;32m", ""),
            )
        } else {
            executions_failed(IPYTHON)
        }
    })
    .await;
    let ws = workspace();
    let lsp = start(&ws, json!({"endpoint": pool.endpoint(), "auth": "none"})).await;
    let py = uri_in(&ws.folder, "a.py");
    lsp.open(&py, "python", "x = 0\n# %%\nd = {}\nprint('x')\nd['sales_amount']\n# %%\n# plain\nd = {}\nprint()\nd['sales_amount']\n").await;
    let coloured = lsp
        .command(
            "azure-sessions.runCell",
            json!({"uri": py, "position": {"line": 3, "character": 0}}),
        )
        .await
        .unwrap();
    assert_eq!(
        coloured["error"],
        json!({"type": "KeyError", "message": "'sales_amount'", "line": 4})
    );
    let plain = lsp
        .command(
            "azure-sessions.runCell",
            json!({"uri": py, "position": {"line": 7, "character": 0}}),
        )
        .await
        .unwrap();
    assert_eq!(plain["error"]["line"], 8, "{plain}");

    let js = uri_in(&ws.folder, "b.js");
    lsp.open(&js, "javascript", "// %%\nconst a = 1;\nnull.x;\n")
        .await;
    let node = lsp
        .command(
            "azure-sessions.runCell",
            json!({"uri": js, "position": {"line": 1, "character": 0}}),
        )
        .await
        .unwrap();
    assert_eq!(node["error"]["type"], "TypeError");
    assert_eq!(node["error"]["line"], 2);
    let d = lsp.diagnostics(&js);
    assert_eq!(d[0]["range"]["start"]["line"], 2);
}

#[tokio::test]
async fn state_persists_between_runs_and_code_actions_lenses_and_hover_offer_runs() {
    let ws = workspace();
    let lsp = start(&ws, local()).await;
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(
        &uri,
        "python",
        "counter = 41\ncounter += 1\nprint(counter)\n# %%\nprint('cell')\n",
    )
    .await;
    let actions = lsp
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": range(0, 0, 1, 12), "context": {"diagnostics": []}}),
        )
        .await
        .unwrap();
    let titles: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        vec![
            "Run selection in Azure session",
            "Run cell in Azure session",
            "Run file in Azure session"
        ]
    );
    // Apply the first action as an editor would: run its command.
    let command = &actions[0]["command"];
    let first = lsp
        .request(
            "workspace/executeCommand",
            json!({"command": command["command"], "arguments": command["arguments"]}),
        )
        .await
        .unwrap();
    assert_eq!(first["status"], "Succeeded");
    let second = lsp
        .command(
            "azure-sessions.run",
            json!({"uri": uri, "range": range(2, 0, 2, 0)}),
        )
        .await
        .unwrap();
    assert_eq!(second["stdout"], "42\n", "state persists between runs");

    let lenses = lsp
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": uri}}),
        )
        .await
        .unwrap();
    let titles: Vec<&str> = lenses
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["command"]["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"▶ Run cell"), "{titles:?}");
    assert!(titles.iter().any(|t| t.starts_with("✓ ")), "{titles:?}");
    assert!(!lsp.received("workspace/codeLens/refresh").is_empty());

    let hover = lsp
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 1}}),
        )
        .await
        .unwrap();
    assert!(
        hover["contents"]["value"].as_str().unwrap().contains("42"),
        "{hover}"
    );
}

async fn info(lsp: &Lsp, folder: &Path) -> Value {
    let uri = uri_in(folder, "x.py");
    lsp.command("azure-sessions.sessionInfo", json!({"uri": uri}))
        .await
        .unwrap()
}

#[tokio::test]
async fn identifiers_are_stable_per_state_directory_and_folder_and_resets_persist() {
    let ws = workspace();
    let other_folder = ws.folder.parent().unwrap().join("other");
    std::fs::create_dir_all(&other_folder).unwrap();
    let params = || init_params(&[&ws.folder, &other_folder], local());
    let first = Lsp::start(ws.state.path(), params()).await;
    let a1 = info(&first, &ws.folder).await;
    let b1 = info(&first, &other_folder).await;
    assert_ne!(a1["identifier"], b1["identifier"], "folders differ");
    assert_eq!(a1["endpoint"], "local");
    assert_eq!(a1["scope"], "workspace");
    let id = a1["identifier"].as_str().unwrap();
    assert!(
        id.len() >= 4
            && id.len() <= 128
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    );

    let second = Lsp::start(ws.state.path(), params()).await;
    assert_eq!(
        info(&second, &ws.folder).await["identifier"],
        a1["identifier"],
        "stable across instances"
    );

    let other_user = tempfile::tempdir().unwrap();
    let third = Lsp::start(other_user.path(), params()).await;
    assert_ne!(
        info(&third, &ws.folder).await["identifier"],
        a1["identifier"],
        "other state directories differ"
    );

    let reset = first
        .command(
            "azure-sessions.resetSession",
            json!({"uri": uri_in(&ws.folder, "x.py")}),
        )
        .await
        .unwrap();
    assert_eq!(reset, json!({"identifierChanged": true}));
    let after = info(&first, &ws.folder).await["identifier"].clone();
    assert_ne!(after, a1["identifier"]);
    let fourth = Lsp::start(ws.state.path(), params()).await;
    assert_eq!(
        info(&fourth, &ws.folder).await["identifier"],
        after,
        "the reset persists across restarts"
    );
    assert_eq!(
        info(&fourth, &other_folder).await["identifier"],
        b1["identifier"]
    );
}

#[tokio::test]
async fn settings_by_all_three_routes_and_bad_values_reported_once() {
    let pool = FakePool::start(|_, _| executions_ok("fake\n", json!(null))).await;
    let ws = workspace();
    let uri = uri_in(&ws.folder, "main.py");

    // 1. initializationOptions (bare object) with a bad value.
    let lsp = start(
        &ws,
        json!({"endpoint": pool.endpoint(), "auth": "none", "timeoutSeconds": "soon"}),
    )
    .await;
    lsp.open(&uri, "python", "print(1)\n").await;
    let ran = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(ran["stdout"], "fake\n");
    let warning = lsp
        .wait_for("window/showMessage", |p| {
            p["message"]
                .as_str()
                .unwrap_or("")
                .contains("azureSessions.timeoutSeconds")
        })
        .await;
    assert_eq!(warning["type"], 2);
    assert_eq!(
        pool.executions()[0].json()["timeoutInSeconds"],
        220,
        "the default replaced the bad value"
    );

    // 2. didChangeConfiguration push: now legacy.
    lsp.notify("workspace/didChangeConfiguration", json!({"settings": {"azureSessions": {"endpoint": pool.endpoint(), "auth": "none", "api": "legacy", "timeoutSeconds": "soon"}}})).await;
    lsp.command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(pool.executions().last().unwrap().path, "/code/execute");

    // 3. workspace/configuration pull, per folder.
    lsp.config.lock().unwrap().insert(file_uri(&ws.folder), json!({"endpoint": pool.endpoint(), "auth": "none", "api": "custom", "customPath": "run/{language}"}));
    lsp.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": null}),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        lsp.command("azure-sessions.run", json!({"uri": uri}))
            .await
            .unwrap();
        if pool.executions().last().unwrap().path == "/run/python" || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(pool.executions().last().unwrap().path, "/run/python");
    let reported = lsp
        .received("window/showMessage")
        .into_iter()
        .filter(|p| {
            p["message"]
                .as_str()
                .unwrap_or("")
                .contains("timeoutSeconds")
        })
        .count();
    assert_eq!(reported, 1, "a bad value is reported once");
}

#[tokio::test]
async fn not_configured_and_insecure_endpoints_fail_with_the_fix_in_the_message() {
    let ws = workspace();
    let lsp = start(&ws, json!({})).await;
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(&uri, "python", "print(1)\n").await;
    let error = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap_err();
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("azureSessions.endpoint"),
        "{error}"
    );
    lsp.wait_for("window/showMessage", |p| {
        p["type"] == 1
            && p["message"]
                .as_str()
                .unwrap()
                .contains("azureSessions.endpoint")
    })
    .await;

    lsp.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"azureSessions": {"endpoint": "http://user:hunter2@pool.example.com"}}}),
    )
    .await;
    lsp.wait_for("window/showMessage", |p| {
        p["message"]
            .as_str()
            .unwrap()
            .contains("plain http:// is allowed only to a loopback address")
    })
    .await;
    // Every run it blocks names the refused endpoint and why (not "nothing is configured"),
    // without the password written into it.
    let error = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap_err();
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("http://pool.example.com"), "{message}");
    assert!(message.contains("loopback"), "{message}");
    assert!(
        !message.contains("no session pool is configured"),
        "{message}"
    );
    assert!(!lsp.transcript_of_messages().contains("hunter2"));
}

#[tokio::test]
async fn bad_command_arguments_are_invalid_params() {
    let ws = workspace();
    let lsp = start(&ws, local()).await;
    for (command, argument) in [
        ("azure-sessions.run", json!({})),
        ("azure-sessions.run", json!({"uri": 5})),
        (
            "azure-sessions.run",
            json!({"uri": "file:///nope/missing.py"}),
        ),
        ("azure-sessions.runCell", json!({"uri": "file:///x.py"})),
        (
            "azure-sessions.run",
            json!({"uri": "file:///x.py", "range": {"start": {"line": -3, "character": 0}, "end": {"line": 0, "character": 0}}}),
        ),
        (
            "azure-sessions.downloadFile",
            json!({"targetUri": "file:///tmp/x"}),
        ),
        ("azure-sessions.nope", json!({})),
    ] {
        let error = lsp.command(command, argument.clone()).await.unwrap_err();
        assert_eq!(error["code"], -32602, "{command} {argument}: {error}");
    }
}

#[tokio::test]
async fn cancel_stops_waiting_and_the_next_run_works() {
    let pool = FakePool::start(|req, _| {
        if req.json()["code"] == "slow()" {
            Reply::Delay(
                Duration::from_secs(30),
                Box::new(executions_ok("late", json!(null))),
            )
        } else {
            executions_ok("quick\n", json!(null))
        }
    })
    .await;
    let ws = workspace();
    let lsp = start(&ws, json!({"endpoint": pool.endpoint(), "auth": "none"})).await;
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(&uri, "python", "slow()\nfast()\n").await;

    // $/cancelRequest
    let (id, answer_rx) = lsp
        .start_request("workspace/executeCommand", json!({"command": "azure-sessions.run", "arguments": [{"uri": uri, "range": range(0, 0, 0, 0)}]}))
        .await;
    while pool.executions().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    lsp.notify("$/cancelRequest", json!({"id": id})).await;
    let error = answer(answer_rx, Duration::from_secs(5)).await.unwrap_err();
    assert_eq!(error["code"], -32800);
    assert!(started.elapsed() < Duration::from_secs(2));
    let note = lsp.request("azure-sessions/output", json!({"uri": lsp.command("azure-sessions.sessionInfo", json!({"uri": uri})).await.unwrap()["outputUri"]})).await.unwrap();
    assert!(
        note["text"]
            .as_str()
            .unwrap()
            .contains("may still be running"),
        "{note}"
    );

    // window/workDoneProgress/cancel on the token the editor gave.
    let (_, answer_rx) = lsp
        .start_request(
            "workspace/executeCommand",
            json!({"command": "azure-sessions.run", "arguments": [{"uri": uri, "range": range(0, 0, 0, 0)}], "workDoneToken": "tok-1"}),
        )
        .await;
    while pool.executions().len() < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    lsp.notify("window/workDoneProgress/cancel", json!({"token": "tok-1"}))
        .await;
    let error = answer(answer_rx, Duration::from_secs(5)).await.unwrap_err();
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("may still be running"),
        "{error}"
    );
    let progress = lsp.received("$/progress");
    assert!(
        progress
            .iter()
            .any(|p| p["token"] == "tok-1" && p["value"]["kind"] == "begin"),
        "{progress:?}"
    );

    let next = lsp
        .command(
            "azure-sessions.run",
            json!({"uri": uri, "range": range(1, 0, 1, 0)}),
        )
        .await
        .unwrap();
    assert_eq!(next["stdout"], "quick\n");
}

#[tokio::test]
async fn sessions_run_in_parallel_while_each_keeps_its_order() {
    let pool = FakePool::start(|_, _| {
        Reply::Delay(
            Duration::from_millis(100),
            Box::new(executions_ok("", json!(null))),
        )
    })
    .await;
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let state = tempfile::tempdir().unwrap();
    // The editor-like capabilities (progress) make the server create a progress token per run.
    let lsp = Lsp::start(
        state.path(),
        init_params(
            &[&a, &b],
            json!({"endpoint": pool.endpoint(), "auth": "none"}),
        ),
    )
    .await;
    let (ua, ub) = (uri_in(&a, "m.py"), uri_in(&b, "m.py"));
    let lines = |p: &str| (0..10).map(|i| format!("{p}{i}\n")).collect::<String>();
    lsp.open(&ua, "python", &lines("a")).await;
    lsp.open(&ub, "python", &lines("b")).await;
    let started = Instant::now();
    let mut pending = Vec::new();
    for line in 0..10 {
        for uri in [&ua, &ub] {
            let (_, rx) = lsp
                .start_request("workspace/executeCommand", json!({"command": "azure-sessions.run", "arguments": [{"uri": uri, "range": range(line, 0, line, 0)}]}))
                .await;
            pending.push(rx);
        }
    }
    for rx in pending {
        answer(rx, WAIT).await.unwrap();
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_millis(1800),
        "two sessions in parallel: 10 × 100 ms each, not 20 × 100 ms ({elapsed:?})"
    );
    assert!(
        elapsed >= Duration::from_millis(950),
        "runs of one session are not concurrent ({elapsed:?})"
    );
    let order = |prefix: &str| -> Vec<String> {
        pool.executions()
            .iter()
            .map(|r| r.json()["code"].as_str().unwrap().to_owned())
            .filter(|c| c.starts_with(prefix))
            .collect()
    };
    let expected = |p: &str| (0..10).map(|i| format!("{p}{i}")).collect::<Vec<_>>();
    assert_eq!(order("a"), expected("a"));
    assert_eq!(order("b"), expected("b"));
    assert!(!lsp.received("window/workDoneProgress/create").is_empty());
}

#[tokio::test]
async fn cold_start_progress_says_the_container_is_starting() {
    let pool = FakePool::start(|_, n| {
        if n < 3 {
            status(503)
        } else {
            executions_ok("warm\n", json!(null))
        }
    })
    .await;
    let ws = workspace();
    let lsp = start(&ws, json!({"endpoint": pool.endpoint(), "auth": "none"})).await;
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(&uri, "python", "print(1)\n").await;
    let outcome = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(outcome["stdout"], "warm\n");
    let reports: Vec<String> = lsp
        .received("$/progress")
        .iter()
        .filter_map(|p| p["value"]["message"].as_str().map(str::to_owned))
        .collect();
    assert!(
        reports
            .iter()
            .any(|m| m.contains("Waiting for the session container to start (503")),
        "{reports:?}"
    );
    assert!(
        lsp.received("azure-sessions/status")
            .iter()
            .any(|p| p["state"] == "waiting")
    );
}

#[tokio::test]
async fn tokens_from_the_editor_are_used_and_never_shown() {
    let pool = FakePool::start_https(|_, _| executions_ok("ok\n", json!(null))).await;
    let ws = workspace();
    let lsp = start(
        &ws,
        json!({"azureSessions": {"endpoint": pool.endpoint(), "extraCaCertificates": [pool.ca_file]}, "tokenProvider": "client"}),
    )
    .await;
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(&uri, "python", "print(1)\n").await;
    lsp.command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    lsp.command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(
        lsp.received("azure-sessions/getAccessToken").len(),
        1,
        "cached after the first"
    );
    assert!(
        pool.requests()
            .iter()
            .all(|r| r.header("authorization").as_deref() == Some("Bearer editor-t0ken-secret"))
    );
    assert_eq!(pool.executions().len(), 2);
    let info = lsp
        .command("azure-sessions.sessionInfo", json!({"uri": uri}))
        .await
        .unwrap();
    assert!(!info.to_string().contains("editor-t0ken-secret"));
}

#[tokio::test]
async fn a_plain_http_loopback_pool_gets_no_editor_token() {
    let pool = FakePool::start(|_, _| executions_ok("ok\n", json!(null))).await;
    let ws = workspace();
    let lsp = start(
        &ws,
        json!({"azureSessions": {"endpoint": pool.endpoint()}, "tokenProvider": "client"}),
    )
    .await;
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(&uri, "python", "print(1)\n").await;
    lsp.command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert!(lsp.received("azure-sessions/getAccessToken").is_empty());
    assert!(
        pool.requests()
            .iter()
            .all(|r| r.header("authorization").is_none())
    );
}

#[tokio::test]
async fn files_round_trip_through_the_session() {
    let ws = workspace();
    let lsp = start(&ws, local()).await;
    let local_file = ws.folder.join("data.csv");
    std::fs::write(&local_file, "a,b\n1,2\n").unwrap();
    let uploaded = lsp
        .command(
            "azure-sessions.uploadFile",
            json!({"uri": file_uri(&local_file)}),
        )
        .await
        .unwrap();
    assert_eq!(uploaded, json!({"name": "data.csv", "size": 8}));
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(
        &uri,
        "python",
        "print(open('data.csv').read().splitlines()[1])\nopen('out.txt','w').write('done')\n",
    )
    .await;
    let ran = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(ran["stdout"], "1,2\n", "{ran}");
    let files = lsp
        .command("azure-sessions.listFiles", json!({"uri": uri}))
        .await
        .unwrap();
    let names: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"data.csv") && names.contains(&"out.txt"),
        "{names:?}"
    );
    let target = ws.folder.join("downloaded.txt");
    let downloaded = lsp
        .command(
            "azure-sessions.downloadFile",
            json!({"remoteName": "out.txt", "targetUri": file_uri(&target), "uri": uri}),
        )
        .await
        .unwrap();
    assert_eq!(downloaded["size"], 4);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "done");
}

/// The `initialize` payloads real editors send (captured from them), with the workspace swapped in.
#[tokio::test]
async fn initialization_payloads_of_real_editors_work() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut tried = 0;
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("initialize-") {
            continue;
        }
        tried += 1;
        let ws = workspace();
        // Inside JSON strings (Windows paths have backslashes); URIs as the editor spells them.
        let escaped = |s: &str| {
            serde_json::to_string(s)
                .unwrap()
                .trim_matches('"')
                .to_owned()
        };
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("file://${WORKSPACE}", &escaped(&file_uri(&ws.folder)))
            .replace("${WORKSPACE}", &escaped(&ws.folder.display().to_string()));
        let params: Value = serde_json::from_str(&text).unwrap();
        let lsp = Lsp::start(ws.state.path(), params).await;
        // Both editors answer workspace/configuration from their settings, and push them too.
        lsp.config
            .lock()
            .unwrap()
            .insert(String::new(), json!({"endpoint": "local"}));
        lsp.notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"azureSessions": {"endpoint": "local"}}}),
        )
        .await;
        let uri = uri_in(&ws.folder, "main.py");
        lsp.open(&uri, "python", "print('from', 'editor')\n").await;
        let outcome = lsp
            .command("azure-sessions.run", json!({"uri": uri}))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(outcome["stdout"], "from editor\n", "{name}");
        let info = lsp
            .command("azure-sessions.sessionInfo", json!({}))
            .await
            .unwrap();
        assert_eq!(
            info["runs"], 1,
            "{name}: commands without a uri use the workspace folder's session"
        );
    }
    assert!(tried >= 1, "fixtures present");
}

#[tokio::test]
async fn a_timed_out_run_is_reported_and_the_recycled_session_noted() {
    let ws = workspace();
    let lsp = start(
        &ws,
        json!({"azureSessions": {"endpoint": "local", "timeoutSeconds": 1}}),
    )
    .await;
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(&uri, "python", "kept = 1\nwhile True: pass\nprint(kept)\n")
        .await;
    lsp.command(
        "azure-sessions.run",
        json!({"uri": uri, "range": range(0, 0, 0, 0)}),
    )
    .await
    .unwrap();
    let stuck = lsp
        .command(
            "azure-sessions.run",
            json!({"uri": uri, "range": range(1, 0, 1, 0)}),
        )
        .await
        .unwrap();
    assert_eq!(stuck["status"], "Failed");
    assert_eq!(stuck["error"]["type"], "Timeout");
    assert_eq!(stuck["error"]["line"], Value::Null);
    let after = lsp
        .command(
            "azure-sessions.run",
            json!({"uri": uri, "range": range(2, 0, 2, 0)}),
        )
        .await
        .unwrap();
    assert_eq!(
        after["error"]["type"], "NameError",
        "the interpreter was replaced: {after}"
    );
    let text = lsp
        .request("azure-sessions/output", json!({"uri": after["outputUri"]}))
        .await
        .unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.contains("!! The session was recycled") || text.contains("!! The local pool replaced"),
        "{text}"
    );
}

#[tokio::test]
async fn image_results_are_saved_and_named_in_the_transcript() {
    // A 1×1 PNG.
    const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    let pool = FakePool::start(|_, _| {
        executions_ok(
            "",
            json!({"type": "image", "format": "png", "base64_data": PNG}),
        )
    })
    .await;
    let ws = workspace();
    let lsp = start(&ws, json!({"endpoint": pool.endpoint(), "auth": "none"})).await;
    let uri = uri_in(&ws.folder, "plot.py");
    lsp.open(&uri, "python", "fig\n").await;
    let outcome = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    let saved = outcome["result"]["savedTo"].as_str().unwrap().to_owned();
    assert!(std::fs::read(&saved).unwrap().starts_with(b"\x89PNG"));
    let text = lsp
        .request(
            "azure-sessions/output",
            json!({"uri": outcome["outputUri"]}),
        )
        .await
        .unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.contains(&format!("[result] image (PNG) saved to {saved}")),
        "{text}"
    );
}

#[path = "lsp/earlier_runs.rs"]
mod earlier_runs;

#[path = "lsp/shell.rs"]
mod shell;

#[path = "lsp/languages.rs"]
mod languages;

#[path = "lsp/displays.rs"]
mod displays;

#[path = "lsp/notebook.rs"]
mod notebook;

#[path = "lsp/doctor.rs"]
mod doctor;
