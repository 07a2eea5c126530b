//! What runs leave on a document (diagnostics, status lenses, hovers) and how it follows edits,
//! driven with the `didChange` payloads VS Code and Neovim send.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use super::common::fake_pool::*;
use super::common::lsp::*;
use super::{local, range, start, uri_in, workspace};

/// Python's traceback for a failure on line `line` of the code that ran.
fn traceback(line: u32) -> String {
    format!(
        "Traceback (most recent call last):\n  File \"<string>\", line {line}, in <module>\nZeroDivisionError: division by zero\n"
    )
}

async fn change(lsp: &Lsp, uri: &str, version: i32, range: Value, text: &str) {
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": range, "text": text}]}),
    )
    .await;
}

/// Waits for the diagnostics published for `version` and returns their lines.
async fn lines_at(lsp: &Lsp, uri: &str, version: i32) -> Vec<u64> {
    let published = lsp
        .wait_for("textDocument/publishDiagnostics", |p| {
            p["uri"] == uri && p["version"] == version
        })
        .await;
    published["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["range"]["start"]["line"].as_u64().unwrap())
        .collect()
}

async fn status_lenses(lsp: &Lsp, uri: &str) -> Vec<(u64, String)> {
    let lenses = lsp
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": uri}}),
        )
        .await
        .unwrap();
    lenses
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["command"]["title"] != "▶ Run cell")
        .map(|l| {
            let title = l["command"]["title"].as_str().unwrap().to_owned();
            (l["range"]["start"]["line"].as_u64().unwrap(), title)
        })
        .collect()
}

#[tokio::test]
async fn diagnostics_are_replaced_by_a_new_run_and_dropped_on_edit() {
    let ws = workspace();
    let lsp = start(
        &ws,
        json!({"azureSessions": {"endpoint": "local", "diagnostics": "errors"}}),
    )
    .await;
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(&uri, "python", "a = 1\nb = 0\nc = a / b\nprint(c)\n")
        .await;
    let failed = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(failed["error"]["line"], 2);
    assert_eq!(lsp.diagnostics(&uri).len(), 1);

    // Fix line 1 (not the failing line): the error stays; re-run: it is replaced (gone).
    change(&lsp, &uri, 2, range(1, 4, 1, 5), "2").await;
    lsp.command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert!(
        lsp.diagnostics(&uri).is_empty(),
        "{:?}",
        lsp.diagnostics(&uri)
    );

    // Fail again, then insert two lines above: the error moves; edit its line: it goes.
    change(&lsp, &uri, 3, range(1, 4, 1, 5), "0").await;
    lsp.command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    change(&lsp, &uri, 4, range(0, 0, 0, 0), "import os\nimport sys\n").await;
    assert_eq!(lines_at(&lsp, &uri, 4).await, vec![4]);
    change(&lsp, &uri, 5, range(4, 0, 4, 0), "# ").await;
    assert_eq!(lines_at(&lsp, &uri, 5).await, Vec::<u64>::new());
}

#[tokio::test]
async fn one_line_runs_of_an_indented_line_and_their_lens_rerun_work() {
    let ws = workspace();
    let lsp = start(&ws, local()).await;
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(&uri, "python", "if True:\n    print('inner')\n")
        .await;
    // Neovim's run-line and `:LspAzureSessionsRun` send the whole line.
    let line = lsp
        .command(
            "azure-sessions.run",
            json!({"uri": uri, "range": range(1, 0, 1, 18)}),
        )
        .await
        .unwrap();
    assert_eq!(line["status"], "Succeeded", "{line}");
    assert_eq!(line["stdout"], "inner\n");

    // Clicking the status lens runs it again, with the lens's own range.
    let lenses = lsp
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": uri}}),
        )
        .await
        .unwrap();
    let lens = lenses
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["command"]["title"].as_str().unwrap().starts_with("✓ "))
        .unwrap_or_else(|| panic!("no status lens: {lenses}"))
        .clone();
    assert_eq!(lens["range"]["start"]["line"], 1);
    let again = lsp
        .request(
            "workspace/executeCommand",
            json!({"command": lens["command"]["command"], "arguments": lens["command"]["arguments"]}),
        )
        .await
        .unwrap();
    assert_eq!(again["status"], "Succeeded", "{again}");
    assert_eq!(again["stdout"], "inner\n");
}

#[tokio::test]
async fn a_cancelled_or_failed_rerun_keeps_the_earlier_error_following_its_line() {
    let posts = Arc::new(AtomicUsize::new(0));
    let counter = posts.clone();
    let pool = FakePool::start(move |req, _| {
        if req.method.as_str() != "POST" {
            return status(404);
        }
        match counter.fetch_add(1, Ordering::SeqCst) {
            0 => executions_failed(&traceback(2)),
            // The second run is cancelled while it waits; the third can't run.
            1 => Reply::Delay(
                Duration::from_secs(30),
                Box::new(executions_ok("", json!(null))),
            ),
            _ => azure_error(500, "InternalServerError", "the pool broke"),
        }
    })
    .await;
    let ws = workspace();
    let lsp = start(&ws, json!({"endpoint": pool.endpoint(), "auth": "none"})).await;
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(&uri, "python", "a = 1\n1/0\nc = 3\n").await;
    let failed = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(failed["error"]["line"], 1);

    let (id, answer_rx) = lsp
        .start_request(
            "workspace/executeCommand",
            json!({"command": "azure-sessions.run", "arguments": [{"uri": uri}]}),
        )
        .await;
    while posts.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    lsp.notify("$/cancelRequest", json!({"id": id})).await;
    let error = answer(answer_rx, Duration::from_secs(5)).await.unwrap_err();
    assert_eq!(error["code"], -32800);

    // VS Code: Enter at column 0 of the first line. The error moves with its line.
    change(&lsp, &uri, 2, range(0, 0, 0, 0), "\n").await;
    assert_eq!(lines_at(&lsp, &uri, 2).await, vec![2]);

    let broken = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
    assert!(broken.is_err(), "{broken:?}");
    // Neovim: `O` on the failing line (the newline above is replaced), then the fix.
    change(&lsp, &uri, 3, range(1, 5, 2, 0), "\n\n").await;
    assert_eq!(lines_at(&lsp, &uri, 3).await, vec![3]);
    change(&lsp, &uri, 4, range(3, 2, 3, 3), "1").await;
    assert_eq!(lines_at(&lsp, &uri, 4).await, Vec::<u64>::new());
}

#[tokio::test]
async fn diagnostics_follow_lines_inserted_and_deleted_above_them() {
    let ws = workspace();
    let lsp = start(&ws, local()).await;
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(&uri, "python", "a = 1\nb = 2\n1/0\nd = 4\n").await;
    let failed = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(failed["error"]["line"], 2);

    // VS Code: Enter at column 0 of the failing line.
    change(&lsp, &uri, 2, range(2, 0, 2, 0), "\n").await;
    assert_eq!(lines_at(&lsp, &uri, 2).await, vec![3]);
    // Neovim: `O` on it (line 2 above is empty).
    change(&lsp, &uri, 3, range(2, 0, 3, 0), "\n\n").await;
    assert_eq!(lines_at(&lsp, &uri, 3).await, vec![4]);
    // Neovim: `dd` on the blank line above it.
    change(&lsp, &uri, 4, range(3, 0, 4, 0), "").await;
    assert_eq!(lines_at(&lsp, &uri, 4).await, vec![3]);
    // VS Code: Delete Line (Ctrl+Shift+K) on "b = 2".
    change(&lsp, &uri, 5, range(1, 0, 2, 0), "").await;
    assert_eq!(lines_at(&lsp, &uri, 5).await, vec![2]);
    // Neovim: `dd` on the blank line above it, then `J` on "a = 1" joins the failing line
    // into it (the text goes to the end of the line above, then the line is deleted).
    change(&lsp, &uri, 6, range(1, 0, 2, 0), "").await;
    assert_eq!(lines_at(&lsp, &uri, 6).await, vec![1]);
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 7}, "contentChanges": [
            {"range": range(0, 5, 0, 5), "text": " 1/0"},
            {"range": range(1, 0, 2, 0), "text": ""},
        ]}),
    )
    .await;
    assert_eq!(lines_at(&lsp, &uri, 7).await, Vec::<u64>::new());
}

#[tokio::test]
async fn deleting_a_runs_lines_removes_its_lens_and_hover() {
    let ws = workspace();
    let lsp = start(&ws, local()).await;
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(
        &uri,
        "python",
        "a = 1\n# %%\nprint('cell output')\n# %%\nmore = 2\n",
    )
    .await;
    lsp.command(
        "azure-sessions.runCell",
        json!({"uri": uri, "position": {"line": 2, "character": 0}}),
    )
    .await
    .unwrap();
    let lenses = status_lenses(&lsp, &uri).await;
    assert!(
        lenses.len() == 1 && lenses[0].0 == 2 && lenses[0].1.starts_with("✓ "),
        "{lenses:?}"
    );

    // Select the cell with its markers and delete the lines (VS Code Delete Line, Neovim `3dd`).
    change(&lsp, &uri, 2, range(1, 0, 4, 0), "").await;
    assert_eq!(status_lenses(&lsp, &uri).await, vec![]);
    let hover = lsp
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 1}}),
        )
        .await
        .unwrap();
    assert_eq!(hover, Value::Null, "hover on 'more = 2': {hover}");
}

#[tokio::test]
async fn the_error_line_reported_is_where_the_diagnostic_is_after_edits_during_the_run() {
    let pool = FakePool::start(|req, _| {
        if req.method.as_str() != "POST" {
            return status(404);
        }
        Reply::Delay(
            Duration::from_millis(1500),
            Box::new(executions_failed(&traceback(2))),
        )
    })
    .await;
    let ws = workspace();
    let lsp = start(&ws, json!({"endpoint": pool.endpoint(), "auth": "none"})).await;
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(&uri, "python", "a = 1\n1/0\n").await;
    let (_, answer_rx) = lsp
        .start_request(
            "workspace/executeCommand",
            json!({"command": "azure-sessions.run", "arguments": [{"uri": uri}]}),
        )
        .await;
    while pool.executions().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Two lines pasted at the top while it runs.
    change(&lsp, &uri, 2, range(0, 0, 0, 0), "import os\nimport sys\n").await;
    let outcome = answer(answer_rx, WAIT).await.unwrap();
    let shown: Vec<u64> = lsp
        .diagnostics(&uri)
        .iter()
        .map(|d| d["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(shown, vec![3]);
    assert_eq!(outcome["error"]["line"], 3, "{outcome}");
}

#[tokio::test]
async fn a_whole_file_run_puts_its_output_on_its_last_line_of_code() {
    let pool = FakePool::start(|_, _| executions_ok("hi\n", json!(null))).await;
    let ws = workspace();
    let lsp = start(&ws, json!({"endpoint": pool.endpoint(), "auth": "none"})).await;
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(&uri, "python", "print('hi')\n").await;
    lsp.command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    let shown = lsp.diagnostics(&uri);
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0]["range"]["start"]["line"], 0, "{shown:?}");
    assert_eq!(shown[0]["message"], "hi");
}
