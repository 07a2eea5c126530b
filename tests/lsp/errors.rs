//! Errors on their lines: far down a file, inside functions, and from IPython and Node tracebacks.

use super::*;

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
