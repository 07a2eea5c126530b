//! What earlier runs leave in a session, end to end against the local pool: their functions and
//! lambdas in tracebacks, output of their background work, and an interpreter a timeout replaced.

use super::*;

fn node_available() -> bool {
    let found = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("note: node is not installed; skipping this JavaScript test");
    }
    found
}

async fn run_cell(lsp: &Lsp, uri: &str, line: u32) -> Value {
    lsp.command(
        "azure-sessions.runCell",
        json!({"uri": uri, "position": {"line": line, "character": 0}}),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn errors_land_on_this_runs_lines_not_on_code_of_earlier_runs() {
    let ws = workspace();
    let lsp = start(&ws, local()).await;
    let uri = uri_in(&ws.folder, "cells.py");
    let text = "# %%\nkey = lambda v: 1 / 0\nclass A:\n    def __init__(self):\n        raise ValueError('in A')\n# %%\nclass B:\n    def __init__(self):\n        pass\n\nA()\n# %%\nprint('a')\nsorted([1, 2], key=key)\n# %%\na = 1\neval('1 +')\n";
    lsp.open(&uri, "python", text).await;
    assert_eq!(run_cell(&lsp, &uri, 1).await["status"], "Succeeded");

    // A.__init__ of the first cell, called on line 10; B.__init__ has the same name.
    let init = run_cell(&lsp, &uri, 6).await;
    assert_eq!(init["error"]["type"], "ValueError", "{init}");
    assert_eq!(init["error"]["line"], 10, "{init}");
    // The lambda of the first cell, called by sorted() on line 13.
    let lambda = run_cell(&lsp, &uri, 12).await;
    assert_eq!(lambda["error"]["type"], "ZeroDivisionError", "{lambda}");
    assert_eq!(lambda["error"]["line"], 13, "{lambda}");
    // eval's own `<string>` line 1 is not the cell's first line.
    let eval = run_cell(&lsp, &uri, 15).await;
    assert_eq!(eval["error"]["type"], "SyntaxError", "{eval}");
    assert_eq!(eval["error"]["line"], 16, "{eval}");
    let lines: Vec<u64> = lsp
        .diagnostics(&uri)
        .iter()
        .filter(|d| d["severity"] == 1)
        .map(|d| d["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![10, 13, 16]);
}

#[tokio::test]
async fn background_errors_of_an_earlier_run_are_not_this_runs_error() {
    if !node_available() {
        return;
    }
    let ws = workspace();
    let lsp = start(&ws, local()).await;
    let uri = uri_in(&ws.folder, "late.js");
    lsp.open(
        &uri,
        "javascript",
        "setTimeout(() => { null.boom; }, 50);\nconst a = 1;\nundefinedFn();\n",
    )
    .await;
    let first = lsp
        .command(
            "azure-sessions.run",
            json!({"uri": uri, "range": range(0, 0, 0, 0)}),
        )
        .await
        .unwrap();
    assert_eq!(first["status"], "Succeeded", "{first}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let second = lsp
        .command(
            "azure-sessions.run",
            json!({"uri": uri, "range": range(1, 0, 2, 14)}),
        )
        .await
        .unwrap();
    assert_eq!(
        second["error"],
        json!({"type": "ReferenceError", "message": "undefinedFn is not defined", "line": 2}),
        "{second}"
    );
}

#[tokio::test]
async fn a_timeout_keeps_its_stderr_and_the_next_run_gets_one_note() {
    let ws = workspace();
    let lsp = start(
        &ws,
        json!({"azureSessions": {"endpoint": "local", "timeoutSeconds": 1}}),
    )
    .await;
    let uri = uri_in(&ws.folder, "slow.py");
    lsp.open(
        &uri,
        "python",
        "kept = 1\nimport sys; print('before'); print('err-before', file=sys.stderr)\nwhile True: pass\nprint(kept)\n",
    )
    .await;
    let run = |line: u32, last: u32| {
        lsp.command(
            "azure-sessions.run",
            json!({"uri": uri, "range": range(line, 0, last, 0)}),
        )
    };
    run(0, 0).await.unwrap();
    let stuck = run(1, 3).await.unwrap();
    assert_eq!(stuck["status"], "Failed");
    assert_eq!(stuck["stdout"], "before\n");
    assert_eq!(
        stuck["stderr"],
        "err-before\nRequest timed out waiting for code execution to complete"
    );
    assert_eq!(
        stuck["error"],
        json!({"type": "Timeout", "message": "Request timed out waiting for code execution to complete"})
    );

    let after = run(3, 3).await.unwrap();
    assert_eq!(after["error"]["type"], "NameError", "{after}");
    assert_eq!(after["error"]["line"], 3, "{after}");
    let stderr = after["stderr"].as_str().unwrap();
    assert!(stderr.starts_with("Traceback"), "{stderr}");
    let text = lsp
        .request("azure-sessions/output", json!({"uri": after["outputUri"]}))
        .await
        .unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let entry = &text[text.rfind("── run 3 ").expect(&text)..];
    let notes: Vec<&str> = entry.lines().filter(|l| l.starts_with("!! ")).collect();
    assert_eq!(notes.len(), 1, "{entry}");
    assert!(
        notes[0].contains("replaced the session's interpreter")
            && notes[0].contains("timed out after 1 s"),
        "{entry}"
    );
    assert!(
        !entry.contains("files from earlier runs are gone"),
        "{entry}"
    );
    assert!(
        !entry.contains("[local pool] The previous interpreter"),
        "{entry}"
    );
}
