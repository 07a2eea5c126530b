//! Runs from the editor against the local pool: selections, lines, cells and files, the exact
//! text sent, state between runs, code actions, lenses and hovers, images and timeouts.

use super::*;

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
