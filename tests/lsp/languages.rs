//! Which language goes to the pool (issue 14 item 1): the editor's language id mapped to
//! Piston's names, overridable with `azureSessions.languages`; a language a code-interpreter pool
//! cannot run fails before any request, naming the setting.

use serde_json::json;

use super::{FakePool, Reply, executions_ok, start, uri_in, workspace};

#[tokio::test]
async fn custom_pools_get_the_mapped_name_in_the_path_and_the_body() {
    let pool = FakePool::start(|_, _| executions_ok("ok\n", json!(""))).await;
    let ws = workspace();
    let settings = |languages| json!({"azureSessions": {"endpoint": pool.endpoint(), "auth": "none", "api": "custom", "languages": languages}});
    let lsp = start(&ws, settings(json!({}))).await;
    for (name, id, path, language) in [
        ("main.cpp", "cpp", "/c++/execute", "c++"),
        ("main.rs", "rust", "/rust/execute", "rust"),
        ("run.sh", "sh", "/bash/execute", "bash"),
        (
            "App.tsx",
            "typescriptreact",
            "/typescript/execute",
            "typescript",
        ),
    ] {
        let uri = uri_in(&ws.folder, name);
        lsp.open(&uri, id, "code\n").await;
        lsp.command("azure-sessions.run", json!({"uri": uri}))
            .await
            .unwrap();
        let sent = pool.executions().pop().unwrap();
        assert_eq!(sent.path, path, "{id}");
        assert_eq!(sent.json()["properties"]["language"], language, "{id}");
    }

    // The user's mapping wins.
    lsp.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": settings(json!({"cpp": "cpp17"}))}),
    )
    .await;
    let uri = uri_in(&ws.folder, "main.cpp");
    lsp.command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(pool.executions().pop().unwrap().path, "/cpp17/execute");
}

#[tokio::test]
async fn a_code_interpreter_pool_refuses_other_languages_before_any_request() {
    let pool = FakePool::start(|_, _| executions_ok("ok\n", json!(""))).await;
    let ws = workspace();
    let lsp = start(
        &ws,
        json!({"azureSessions": {"endpoint": pool.endpoint(), "auth": "none"}}),
    )
    .await;
    let uri = uri_in(&ws.folder, "main.cpp");
    lsp.open(&uri, "cpp", "int main() {}\n").await;
    let refused = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap_err();
    let message = refused["message"].as_str().unwrap();
    assert!(message.contains("azureSessions.languages"), "{message}");
    assert!(message.contains("custom"), "{message}");
    assert_eq!(pool.executions().len(), 0, "nothing was sent");
    // A Python file on the same pool still runs.
    let py = uri_in(&ws.folder, "main.py");
    lsp.open(&py, "python", "print(1)\n").await;
    lsp.command("azure-sessions.run", json!({"uri": py}))
        .await
        .unwrap();
    assert_eq!(pool.executions().len(), 1);
}

/// A Piston answer with a failed compile: every error of the compiler lands on its line, and the
/// transcript shows the compile stage.
#[tokio::test]
async fn every_error_of_a_compile_lands_on_its_line() {
    let stage = json!({"stdout": "", "code": 1, "signal": null, "status": null, "message": null,
        "stderr": "file0.code.cpp: In function 'int main()':\nfile0.code.cpp:4:5: error: 'cout' was not declared in this scope\nfile0.code.cpp:5:13: error: expected ';' before 'return'\n"});
    let pool = FakePool::start(move |_, _| {
        Reply::Json(
            200,
            json!({"language": "c++", "version": "12.2.0", "compile": stage, "run": stage}),
        )
    })
    .await;
    let ws = workspace();
    let lsp = start(
        &ws,
        json!({"azureSessions": {"endpoint": pool.endpoint(), "auth": "none", "api": "custom"}}),
    )
    .await;
    let uri = uri_in(&ws.folder, "main.cpp");
    let text =
        "#include <iostream>\n\nint main() {\n    cout << 1;\n    int x = 1\n    return 0;\n}\n";
    lsp.open(&uri, "cpp", text).await;
    let ran = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(ran["status"], "Failed", "{ran}");
    assert_eq!(ran["error"]["type"], "CompileError", "{ran}");
    assert_eq!(ran["error"]["line"], 3, "{ran}");
    let published = lsp
        .wait_for("textDocument/publishDiagnostics", |p| p["uri"] == uri)
        .await;
    let lines: Vec<u64> = published["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4], "{published}");
    let transcript = lsp
        .request("azure-sessions/output", json!({"uri": ran["outputUri"]}))
        .await
        .unwrap();
    let text = transcript["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("[compile] failed (exit code 1); the run stage was skipped"),
        "{transcript}"
    );
}

/// A custom container without the runtime (Piston's 400) says which language and names the
/// setting that maps it.
#[tokio::test]
async fn a_language_the_container_cannot_run_names_the_setting() {
    let pool =
        FakePool::start(|_, _| Reply::Json(400, json!({"message": "go-* runtime is unknown"})))
            .await;
    let ws = workspace();
    let lsp = start(
        &ws,
        json!({"azureSessions": {"endpoint": pool.endpoint(), "auth": "none", "api": "custom"}}),
    )
    .await;
    let uri = uri_in(&ws.folder, "main.go");
    lsp.open(&uri, "go", "package main\n").await;
    let refused = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap_err();
    let message = refused["message"].as_str().unwrap();
    assert!(message.contains("cannot run go"), "{message}");
    assert!(message.contains("go-* runtime is unknown"), "{message}");
    assert!(message.contains("azureSessions.languages"), "{message}");
    assert_eq!(pool.executions().len(), 1, "a 400 is not retried");
}

/// `stdinFile` feeds runs on pools that take stdin, from inside the workspace folder only; a
/// run's own stdin wins, and a Python pool never gets it.
#[tokio::test]
async fn stdin_file_feeds_custom_pools_from_the_workspace() {
    let pool = FakePool::start(|_, _| executions_ok("ok\n", json!(""))).await;
    let ws = workspace();
    std::fs::write(ws.folder.join("input.txt"), "3 4\n").unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "not yours\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        ws.folder.join("link.txt"),
    )
    .unwrap();
    let settings = |api: &str, file: &str| json!({"azureSessions": {"endpoint": pool.endpoint(), "auth": "none", "api": api, "stdinFile": file}});
    let lsp = start(&ws, settings("custom", "input.txt")).await;
    let uri = uri_in(&ws.folder, "main.cpp");
    lsp.open(&uri, "cpp", "int main() {}\n").await;
    lsp.command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(
        pool.executions().pop().unwrap().json()["properties"]["stdin"],
        "3 4\n"
    );
    lsp.command(
        "azure-sessions.run",
        json!({"uri": uri, "stdin": "typed\n"}),
    )
    .await
    .unwrap();
    assert_eq!(
        pool.executions().pop().unwrap().json()["properties"]["stdin"],
        "typed\n"
    );

    // A link out of the folder is refused before any request (Unix: the test makes the link).
    #[cfg(unix)]
    {
        lsp.notify(
            "workspace/didChangeConfiguration",
            json!({"settings": settings("custom", "link.txt")}),
        )
        .await;
        let before = pool.executions().len();
        let refused = lsp
            .command("azure-sessions.run", json!({"uri": uri}))
            .await
            .unwrap_err();
        assert!(
            refused["message"]
                .as_str()
                .unwrap()
                .contains("outside the workspace folder"),
            "{refused}"
        );
        assert_eq!(pool.executions().len(), before);
    }

    // A Python pool does not take stdin: the file is not sent, and the run goes on.
    lsp.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": settings("executions", "input.txt")}),
    )
    .await;
    let py = uri_in(&ws.folder, "main.py");
    lsp.open(&py, "python", "print(1)\n").await;
    lsp.command("azure-sessions.run", json!({"uri": py}))
        .await
        .unwrap();
    assert!(
        pool.executions()
            .pop()
            .unwrap()
            .json()
            .get("stdin")
            .is_none()
    );
}
