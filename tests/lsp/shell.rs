//! Shell scripts on a Shell pool (issue 13 item 4): a `shellscript` document runs as
//! `shellCommand` with its stdin, the exit code decides success, and an error of bash lands on
//! its line.

use serde_json::json;

use super::{local, start, uri_in, workspace};

#[tokio::test]
async fn shell_scripts_run_on_the_local_shell_pool_with_errors_on_their_lines() {
    let ws = workspace();
    let lsp = start(&ws, local()).await;
    let uri = uri_in(&ws.folder, "setup.sh");
    lsp.open(
        &uri,
        "shellscript",
        "read name\necho \"hello $name\"\nnosuchcommand --now\necho after\nexit 4\n",
    )
    .await;
    let ran = lsp
        .command("azure-sessions.run", json!({"uri": uri, "stdin": "Ada\n"}))
        .await
        .unwrap();
    assert_eq!(ran["status"], "Failed", "{ran}");
    assert_eq!(ran["stdout"], "hello Ada\nafter\n");
    assert_eq!(ran["error"]["type"], "CommandNotFound", "{ran}");
    assert_eq!(
        ran["error"]["line"], 2,
        "the zero-based line of nosuchcommand"
    );
    let diagnostics = lsp
        .wait_for("textDocument/publishDiagnostics", |p| p["uri"] == uri)
        .await;
    assert_eq!(
        diagnostics["diagnostics"][0]["range"]["start"]["line"], 2,
        "{diagnostics}"
    );
    // A Python document on the same workspace still refuses stdin, saying why.
    let py = uri_in(&ws.folder, "main.py");
    lsp.open(&py, "python", "print(input())\n").await;
    let refused = lsp
        .command("azure-sessions.run", json!({"uri": py, "stdin": "x"}))
        .await
        .unwrap_err();
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("stdin is taken only by Shell"),
        "{refused}"
    );
}
