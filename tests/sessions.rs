//! Which session a command acts on: file commands name it the way a run does (the document the
//! user is in, or the folder), never by the path of the file being moved; every local pool a
//! session used; resets seen by other editors; untitled documents; folders opened two ways.
//! (Correctness review F1, F2, F13, F14, F15, F16.)

mod common;

use common::lsp::*;
use common::workspace::*;
use serde_json::json;

fn run_all(uri: &str) -> serde_json::Value {
    json!({"uri": uri})
}

/// F1: an upload from outside the workspace, or with per-file sessions, reaches the session the
/// code runs in.
#[tokio::test]
async fn uploads_go_to_the_session_of_the_document_not_of_the_uploaded_file() {
    for scope in ["workspace", "file"] {
        let ws = workspace();
        let lsp = ws.start(local_with(json!({"sessionScope": scope}))).await;
        let outside = ws.root.path().join("Downloads");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("data.csv"), "a,b\n").unwrap();
        std::fs::write(ws.folder.join("inside.csv"), "c,d\n").unwrap();
        let code = ws.uri("analysis.py");
        for file in [outside.join("data.csv"), ws.folder.join("inside.csv")] {
            let uploaded = lsp
                .command(
                    "azure-sessions.uploadFile",
                    json!({"uri": file_uri(&file), "documentUri": code}),
                )
                .await
                .unwrap();
            assert_eq!(uploaded["size"], 4, "{uploaded}");
        }
        lsp.open(
            &code,
            "python",
            "import os\nprint(sorted(f for f in os.listdir('.') if f.endswith('.csv')))\n",
        )
        .await;
        let ran = lsp
            .command("azure-sessions.run", run_all(&code))
            .await
            .unwrap();
        assert_eq!(
            ran["stdout"], "['data.csv', 'inside.csv']\n",
            "{scope}: {ran}"
        );
        let mut names = file_names(&lsp, &code).await;
        names.sort();
        assert_eq!(names, ["data.csv", "inside.csv"], "{scope}");
    }
}

/// F1: a download names its session by the document, never by where the file is written.
#[tokio::test]
async fn downloads_come_from_the_session_of_the_document() {
    let ws = workspace();
    let lsp = ws.start(local_with(json!({"sessionScope": "file"}))).await;
    let code = ws.uri("writer.py");
    lsp.open(&code, "python", "open('out.txt', 'w').write('made here')\n")
        .await;
    lsp.command("azure-sessions.run", run_all(&code))
        .await
        .unwrap();
    let target = ws.root.path().join("elsewhere.txt");
    let got = lsp
        .command(
            "azure-sessions.downloadFile",
            json!({"remoteName": "out.txt", "targetUri": file_uri(&target), "uri": code}),
        )
        .await
        .unwrap();
    assert_eq!(got["size"], 9);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "made here");
}

/// F2: with `endpoint: "local"`, a JavaScript session's files are where its code runs, and a
/// reset ends the session in every local pool.
#[tokio::test]
async fn javascript_sessions_see_their_uploads_and_files_on_the_local_pool() {
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("node is needed for this test (the CI installs it)");
    }
    let ws = workspace();
    let lsp = ws.start(local_with(json!({"sessionScope": "file"}))).await;
    let js = ws.uri("app.js");
    lsp.open(
        &js,
        "javascript",
        "require('fs').writeFileSync('from-js.txt', 'js');\nconsole.log(require('fs').readdirSync('.').sort().join(','));\n",
    )
    .await;
    // The session ran JavaScript first: its files live in the JavaScript pool.
    let first = lsp
        .command("azure-sessions.run", run_all(&js))
        .await
        .unwrap();
    assert_eq!(first["status"], "Succeeded", "{first}");
    std::fs::write(ws.folder.join("input.csv"), "1\n").unwrap();
    lsp.command(
        "azure-sessions.uploadFile",
        json!({"uri": file_uri(&ws.folder.join("input.csv")), "documentUri": js}),
    )
    .await
    .unwrap();
    let again = lsp
        .command("azure-sessions.run", run_all(&js))
        .await
        .unwrap();
    assert_eq!(again["stdout"], "from-js.txt,input.csv\n", "{again}");
    let mut names = file_names(&lsp, &js).await;
    names.sort();
    assert_eq!(names, ["from-js.txt", "input.csv"]);
    let target = ws.root.path().join("from-js.txt");
    lsp.command(
        "azure-sessions.downloadFile",
        json!({"remoteName": "from-js.txt", "targetUri": file_uri(&target), "uri": js}),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "js");
}

/// F13: VS Code and Neovim on one folder share a session; a reset in one is seen by the other
/// at its next run, with a note.
#[tokio::test]
async fn a_reset_in_one_editor_is_seen_by_the_other() {
    let ws = workspace();
    let vscode = ws.start(local_with(json!({}))).await;
    let neovim = ws.start(local_with(json!({}))).await;
    let uri = ws.uri("shared.py");
    for lsp in [&vscode, &neovim] {
        lsp.open(&uri, "python", "x = 1\n").await;
    }
    let before = identifier(&neovim, &uri).await;
    assert_eq!(before, identifier(&vscode, &uri).await);
    neovim
        .command("azure-sessions.run", run_all(&uri))
        .await
        .unwrap();
    vscode
        .command("azure-sessions.resetSession", json!({"uri": uri}))
        .await
        .unwrap();
    let reset_to = identifier(&vscode, &uri).await;
    assert_ne!(reset_to, before);
    neovim
        .command("azure-sessions.run", run_all(&uri))
        .await
        .unwrap();
    assert_eq!(identifier(&neovim, &uri).await, reset_to);
    let info = neovim
        .command("azure-sessions.sessionInfo", json!({"uri": uri}))
        .await
        .unwrap();
    let transcript = neovim
        .request("azure-sessions/output", json!({"uri": info["outputUri"]}))
        .await
        .unwrap();
    assert!(
        transcript["text"]
            .as_str()
            .unwrap()
            .contains("reset from another editor"),
        "{transcript}"
    );
}

/// F14: an untitled buffer runs in its workspace's session, and two projects' "Untitled-1"
/// never share one.
#[tokio::test]
async fn untitled_documents_belong_to_their_workspace() {
    let a = workspace();
    let b = workspace();
    let lsp_a = a.start(local_with(json!({}))).await;
    let lsp_b = b.start(local_with(json!({}))).await;
    let untitled = "untitled:Untitled-1";
    let folder_a = identifier(&lsp_a, &a.uri("main.py")).await;
    assert_eq!(identifier(&lsp_a, untitled).await, folder_a);
    assert_ne!(
        identifier(&lsp_a, untitled).await,
        identifier(&lsp_b, untitled).await
    );
    // Per-file sessions: each project's untitled buffer still has its own.
    let lsp_a = a.start(local_with(json!({"sessionScope": "file"}))).await;
    let lsp_b = b.start(local_with(json!({"sessionScope": "file"}))).await;
    assert_ne!(
        identifier(&lsp_a, untitled).await,
        identifier(&lsp_b, untitled).await
    );
}

/// F16: a folder opened through a symlink or with a trailing slash is the same session, and the
/// CLI in that folder (whose current directory is the physical path) uses it too.
#[tokio::test]
async fn one_folder_opened_two_ways_is_one_session() {
    let ws = workspace();
    let link = ws.root.path().join("link-to-project");
    std::os::unix::fs::symlink(&ws.folder, &link).unwrap();
    let plain = ws.start(local_with(json!({}))).await;
    let linked = ws.start_on(&[&link], local_with(json!({}))).await;
    let slash = {
        let mut params = init_params(&[&ws.folder], local_with(json!({})));
        let folder = format!("{}/", file_uri(&ws.folder));
        params["workspaceFolders"][0]["uri"] = json!(folder);
        params["rootUri"] = json!(folder);
        Lsp::start(ws.state.path(), params).await
    };
    let expected = identifier(&plain, &ws.uri("a.py")).await;
    assert_eq!(
        identifier(&linked, &file_uri(&link.join("a.py"))).await,
        expected
    );
    assert_eq!(identifier(&slash, &ws.uri("a.py")).await, expected);
}

/// F15: two editors on one folder never overwrite each other's saved outputs.
#[tokio::test]
async fn two_servers_save_big_outputs_to_different_files() {
    let ws = workspace();
    let mut paths = Vec::new();
    for (n, marker) in ["A", "B"].iter().enumerate() {
        let lsp = ws.start(local_with(json!({}))).await;
        let uri = ws.uri(&format!("big{n}.py"));
        // Over 2 MiB even after the pool's 1 Mi-character cap: saved to a file.
        lsp.open(
            &uri,
            "python",
            &format!("print('{marker}' + '€' * 1_100_000)\n"),
        )
        .await;
        let ran = lsp
            .command("azure-sessions.run", run_all(&uri))
            .await
            .unwrap();
        let stdout = ran["stdout"].as_str().unwrap();
        let path = stdout
            .split("bytes are in ")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .unwrap_or_else(|| panic!("no saved file named: {}", &stdout[..200.min(stdout.len())]))
            .to_owned();
        paths.push((path, marker.to_string()));
    }
    assert_ne!(paths[0].0, paths[1].0);
    for (path, marker) in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.starts_with(marker.as_str()),
            "{path} holds the other run's output"
        );
    }
}

/// F19: a transcript an editor reopens after a server restart is served (the folder's session
/// exists again), and one that cannot exist any more says why instead of failing.
#[tokio::test]
async fn transcripts_reopen_after_a_restart() {
    let ws = workspace();
    let first = ws.start(local_with(json!({}))).await;
    let uri = ws.uri("t.py");
    first.open(&uri, "python", "print(1)\n").await;
    let ran = first
        .command("azure-sessions.run", run_all(&uri))
        .await
        .unwrap();
    let output = ran["outputUri"].as_str().unwrap().to_owned();
    drop(first);
    let second = ws.start(local_with(json!({}))).await;
    let text = second
        .request("azure-sessions/output", json!({"uri": output}))
        .await
        .unwrap();
    assert!(
        text["text"]
            .as_str()
            .unwrap()
            .contains("Session identifier"),
        "{text}"
    );
    let gone = second
        .request(
            "azure-sessions/output",
            json!({"uri": "azure-sessions://output/gone-12345678.log"}),
        )
        .await
        .unwrap();
    assert!(
        gone["text"].as_str().unwrap().contains("earlier run"),
        "{gone}"
    );
}

/// Audit #25/#36 and issue 13 item 8: a recycled session is noticed from the session GUID the
/// pool sends with each run, never by asking `GET /session` (which could allocate a session on
/// Azure, or be forwarded to a custom container).
#[tokio::test]
async fn recycling_is_noticed_from_the_session_guid_without_session_calls() {
    use common::fake_pool::{FakePool, Reply};
    let pool = FakePool::start(|_, n| {
        let guid = if n < 2 { "6f055fe5-0000-4343-a520-1e2d595ec4ff" } else { "9a1b2c3d-0000-4343-a520-1e2d595ec4ff" };
        Reply::Raw(
            202,
            vec![("x-ms-session-guid", guid.to_owned()), ("content-type", "application/json".to_owned())],
            serde_json::to_vec(&json!({"id": "e", "status": "Succeeded", "result": {"stdout": "ok\n", "stderr": "", "executionResult": ""}})).unwrap(),
        )
    })
    .await;
    let ws = workspace();
    let lsp = ws
        .start(json!({"azureSessions": {"endpoint": pool.endpoint(), "auth": "none"}}))
        .await;
    let uri = ws.uri("guid.py");
    lsp.open(&uri, "python", "print('ok')\n").await;
    for _ in 0..3 {
        lsp.command("azure-sessions.run", run_all(&uri))
            .await
            .unwrap();
    }
    let info = lsp
        .command("azure-sessions.sessionInfo", json!({"uri": uri}))
        .await
        .unwrap();
    let text = lsp
        .request("azure-sessions/output", json!({"uri": info["outputUri"]}))
        .await
        .unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        text.matches("The session was recycled").count(),
        1,
        "{text}"
    );
    assert!(
        pool.requests().iter().all(|r| !r.path.contains("session")),
        "{:?}",
        pool.requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
    );
}
