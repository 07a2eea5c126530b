//! Sessions: identifiers per folder and state directory, resets, parallel sessions in order,
//! cancel, cold-start progress and files.

use super::*;

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
