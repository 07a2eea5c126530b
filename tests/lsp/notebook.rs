//! The session's variables and its export as a notebook (issue 15 items 6 and 7).

use serde_json::json;

use super::{start, uri_in, workspace};

#[tokio::test]
async fn variables_are_listed_without_a_trace_and_the_session_exports_as_a_valid_notebook() {
    let ws = workspace();
    let lsp = start(&ws, super::local()).await;
    let uri = uri_in(&ws.folder, "analysis.py");
    let code = "import math\nx = 42\nnames = ['a', 'b']\ndef f():\n    return 1\nclass Table:\n    def _repr_html_(self):\n        return '<table><tr><td>1</td></tr></table>'\nt = Table()\nprint('hello')\nt\n";
    lsp.open(&uri, "python", code).await;
    lsp.command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();

    let variables = lsp
        .command("azure-sessions.variables", json!({"uri": uri}))
        .await
        .unwrap();
    let names: Vec<&str> = variables
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["x", "names", "t"], "{variables}");
    assert_eq!(variables[0]["type"], "int");
    assert_eq!(variables[0]["summary"], "42");
    assert_eq!(variables[1]["size"], 2);
    // Listing twice lists the same: the snippet defined nothing in the session.
    let again = lsp
        .command("azure-sessions.variables", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(again, variables);
    // ...and nothing of it shows in the transcript.
    let ran = lsp
        .command(
            "azure-sessions.run",
            json!({"uri": uri, "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}}}),
        )
        .await
        .unwrap();
    let text = lsp
        .request("azure-sessions/output", json!({"uri": ran["outputUri"]}))
        .await
        .unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!text.contains("AZS-VARIABLES"), "{text}");
    assert_eq!(text.matches("── run ").count(), 2, "{text}");

    // A failing run, then the export.
    lsp.open(&uri_in(&ws.folder, "bad.py"), "python", "1 / 0\n")
        .await;
    let _ = lsp
        .command(
            "azure-sessions.run",
            json!({"uri": uri_in(&ws.folder, "bad.py")}),
        )
        .await;
    let target = ws.folder.join("session.ipynb");
    let exported = lsp
        .command(
            "azure-sessions.exportNotebook",
            json!({"uri": uri, "targetUri": super::file_uri(&target)}),
        )
        .await
        .unwrap();
    assert_eq!(exported["cells"], 3, "{exported}");
    let notebook: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    let first = &notebook["cells"][0];
    let kinds: Vec<&str> = first["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["output_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["stream", "display_data", "execute_result"],
        "{first}"
    );
    assert_eq!(
        notebook["cells"][2]["outputs"][0]["ename"],
        "ZeroDivisionError"
    );

    // nbformat (from PyPI) says it is a valid notebook.
    let python = super::common::pyvenv::python_with_packages();
    let check = std::process::Command::new(python)
        .args([
            "-c",
            "import sys, nbformat; nb = nbformat.read(sys.argv[1], as_version=4); nbformat.validate(nb); print('valid', len(nb.cells))",
        ])
        .arg(&target)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && out.trim() == "valid 3",
        "{out}{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[tokio::test]
async fn javascript_sessions_list_their_globals() {
    let ws = workspace();
    let lsp = start(&ws, super::local()).await;
    let uri = uri_in(&ws.folder, "main.js");
    lsp.open(
        &uri,
        "javascript",
        "var answer = 42;\nglobalThis.names = ['a', 'b'];\nfunction f() {}\n",
    )
    .await;
    lsp.command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    let variables = lsp
        .command("azure-sessions.variables", json!({"uri": uri}))
        .await
        .unwrap();
    let names: Vec<&str> = variables
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"answer") && names.contains(&"names"),
        "{variables}"
    );
    assert!(
        !names.contains(&"f") && !names.contains(&"process"),
        "{variables}"
    );
}
