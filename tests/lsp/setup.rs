//! Setting up: settings by every route, bad values and arguments, endpoints that are missing or
//! insecure, where tokens may go, and the `initialize` payloads of real editors.

use super::*;

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
