//! Rich results (issue 15 item 1): every result shape the pools give becomes `displays` in the
//! run's outcome, binary data in private files, text inline, and the transcript lists them.

use serde_json::json;

use super::{FakePool, executions_ok, start, uri_in, workspace};

/// A 1×1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

#[tokio::test]
async fn bundles_and_outputs_become_displays() {
    let pool = FakePool::start(|_, n| match n {
        0 => executions_ok(
            "",
            json!({"text/plain": "<Figure>", "image/png": PNG, "text/html": "<table><tr><td>1</td></tr></table>"}),
        ),
        _ => executions_ok(
            "",
            json!([
                {"output_type": "display_data", "data": {"image/svg+xml": "<svg/>", "text/plain": "<Figure>"}},
                {"output_type": "execute_result", "data": {"text/plain": "42", "text/markdown": "**42**"}},
            ]),
        ),
    })
    .await;
    let ws = workspace();
    let lsp = start(&ws, json!({"endpoint": pool.endpoint(), "auth": "none"})).await;
    let uri = uri_in(&ws.folder, "plot.py");
    lsp.open(&uri, "python", "fig\n").await;
    let first = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(first["result"], "<Figure>", "{first}");
    let displays = first["displays"].as_array().unwrap();
    assert_eq!(displays.len(), 2, "{first}");
    assert_eq!(displays[0]["mimeType"], "image/png");
    let file = reqwest::Url::parse(displays[0]["uri"].as_str().unwrap())
        .unwrap()
        .to_file_path()
        .unwrap();
    assert!(std::fs::read(&file).unwrap().starts_with(b"\x89PNG"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "private file: {mode:o}");
    }
    assert_eq!(displays[1]["mimeType"], "text/html");
    assert!(displays[1]["text"].as_str().unwrap().starts_with("<table>"));

    let second = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(second["result"], "42");
    let types: Vec<&str> = second["displays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["mimeType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["image/svg+xml", "text/markdown"]);

    let text = lsp
        .request("azure-sessions/output", json!({"uri": second["outputUri"]}))
        .await
        .unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.contains(&format!("[display] image/png saved to {}", file.display())),
        "{text}"
    );
    assert!(
        text.contains("[display] text/html, 34 characters"),
        "{text}"
    );
    assert!(text.contains("[display] text/markdown:\n**42**"), "{text}");
}

fn hints(value: &serde_json::Value) -> Vec<(u64, u64, String)> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["position"]["line"].as_u64().unwrap(),
                h["position"]["character"].as_u64().unwrap(),
                h["label"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Inline values (issue 15 item 5): the value of a run's last expression, or its error, at the
/// end of its last line as an inlay hint, gone when that code is edited.
#[tokio::test]
async fn inline_values_are_inlay_hints_until_the_code_is_edited() {
    let ws = workspace();
    let lsp = start(&ws, super::local()).await;
    let uri = uri_in(&ws.folder, "main.py");
    lsp.open(&uri, "python", "x = 6 * 7\nx  # é\n# %%\n1 / 0\n")
        .await;
    let whole = json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 9, "character": 0}}});
    lsp.command(
        "azure-sessions.run",
        json!({"uri": uri, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 8}}}),
    )
    .await
    .unwrap();
    let shown = lsp
        .request("textDocument/inlayHint", whole.clone())
        .await
        .unwrap();
    assert_eq!(hints(&shown), [(1, 6, "→ 42".to_owned())], "{shown}");
    lsp.command(
        "azure-sessions.runCell",
        json!({"uri": uri, "position": {"line": 3, "character": 0}}),
    )
    .await
    .unwrap();
    let shown = lsp
        .request("textDocument/inlayHint", whole.clone())
        .await
        .unwrap();
    assert_eq!(
        hints(&shown)[1],
        (3, 5, "✗ ZeroDivisionError: division by zero".to_owned()),
        "{shown}"
    );
    // Editing the first run's code removes its value; the other stays, moved with its line.
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
            {"range": {"start": {"line": 0, "character": 4}, "end": {"line": 0, "character": 9}}, "text": "7"},
            {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "import os\n"},
        ]}),
    )
    .await;
    let shown = lsp.request("textDocument/inlayHint", whole).await.unwrap();
    assert_eq!(
        hints(&shown),
        [(4, 5, "✗ ZeroDivisionError: division by zero".to_owned())],
        "{shown}"
    );
}

/// The local pool (issue 15 item 2) answers the Jupyter format with every rich repr of the last
/// value, as IPython asks for them: no plotting library needed.
#[tokio::test]
async fn the_local_pool_gives_rich_reprs_without_any_plotting_library() {
    let ws = workspace();
    let lsp = start(&ws, super::local()).await;
    let uri = uri_in(&ws.folder, "table.py");
    let code = format!(
        "import base64\nclass Table:\n    def _repr_html_(self):\n        return '<table><tr><td>1</td></tr></table>'\n    def _repr_markdown_(self):\n        return '| a |'\n    def _repr_png_(self):\n        return base64.b64decode('{PNG}')\n    def __repr__(self):\n        return 'Table(1 row)'\nTable()\n"
    );
    lsp.open(&uri, "python", &code).await;
    let ran = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(ran["result"], "Table(1 row)", "{ran}");
    let types: Vec<&str> = ran["displays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["mimeType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["image/png", "text/html", "text/markdown"], "{ran}");
    assert_eq!(
        ran["displays"][1]["text"],
        "<table><tr><td>1</td></tr></table>"
    );
    // A plain value stays a plain value.
    lsp.open(&uri, "python", "6 * 7\n").await;
    let plain = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(plain["result"], 42, "{plain}");
    assert_eq!(plain["displays"], json!([]));
}
