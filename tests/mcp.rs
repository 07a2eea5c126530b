//! `azure-sessions-lsp mcp`: the MCP server spoken to over its stdio, as an agent would.

mod common;

use std::time::Duration;

use common::mcp::{Mcp, text};

use serde_json::{Value, json};

/// A 1×1 PNG.
const PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

fn dirs() -> (tempfile::TempDir, tempfile::TempDir) {
    (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap())
}

#[test]
fn tools_are_listed_with_schemas_and_annotations() {
    let (ws, state) = dirs();
    let mut mcp = Mcp::start(ws.path(), state.path(), &["--endpoint", "local"]);
    let list = mcp.request("tools/list", json!({}));
    let tools = list["result"]["tools"].as_array().expect("tools");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    for name in [
        "run_code",
        "run_file",
        "list_files",
        "upload_file",
        "download_file",
        "session_info",
        "reset_session",
        "variables",
    ] {
        let tool = tools
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {names:?}"));
        assert_eq!(tool["inputSchema"]["type"], "object", "{name}");
        assert!(
            tool["description"].as_str().is_some_and(|d| d.len() > 20),
            "{name}"
        );
    }
    let annotation = |name: &str, key: &str| {
        tools.iter().find(|t| t["name"] == name).unwrap()["annotations"][key].clone()
    };
    assert_eq!(annotation("reset_session", "destructiveHint"), json!(true));
    for name in ["list_files", "session_info", "variables"] {
        assert_eq!(annotation(name, "readOnlyHint"), json!(true), "{name}");
    }
    assert_eq!(annotation("run_code", "readOnlyHint"), json!(false));
}

#[test]
fn runs_share_state_report_errors_with_lines_and_images() {
    let (ws, state) = dirs();
    let mut mcp = Mcp::start(ws.path(), state.path(), &["--endpoint", "local"]);
    let first = mcp.call("run_code", json!({"code": "x = 6*7"}));
    assert_eq!(first["result"]["isError"], json!(false), "{first}");
    let second = mcp.call("run_code", json!({"code": "print(x)"}));
    assert!(text(&second).contains("42"), "{second}");

    let failed = mcp.call("run_code", json!({"code": "a = 1\nb = 2\n1/0\n"}));
    assert_eq!(failed["result"]["isError"], json!(true), "{failed}");
    assert!(text(&failed).contains("ZeroDivisionError"), "{failed}");
    assert!(text(&failed).contains("(line 3)"), "{failed}");

    let image = mcp.call(
        "run_code",
        json!({"code": format!("import base64\nclass P:\n def _repr_png_(self): return base64.b64decode('{PNG_BASE64}')\nP()")}),
    );
    let blocks = image["result"]["content"].as_array().expect("content");
    let png = blocks
        .iter()
        .find(|b| b["type"] == "image")
        .unwrap_or_else(|| panic!("an image block: {image}"));
    assert_eq!(png["mimeType"], "image/png");
    assert_eq!(png["data"], PNG_BASE64);

    let vars = mcp.call("variables", json!({}));
    assert!(text(&vars).contains("\"x\""), "{vars}");
}

#[test]
fn run_file_reports_the_document_line() {
    let (ws, state) = dirs();
    std::fs::write(
        ws.path().join("script.py"),
        "# %%\nx = 1\n# %%\ny = 2\nz = y / 0\n",
    )
    .unwrap();
    let mut mcp = Mcp::start(ws.path(), state.path(), &["--endpoint", "local"]);
    let cell = mcp.call("run_file", json!({"path": "script.py", "cell": 4}));
    assert!(text(&cell).contains("(line 5)"), "{cell}");
    let range = mcp.call(
        "run_file",
        json!({"path": "script.py", "range": {"start": 2, "end": 2}}),
    );
    assert_eq!(range["result"]["isError"], json!(false), "{range}");
    let outside = mcp.call("run_file", json!({"path": "../script.py"}));
    assert!(
        outside["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("outside the workspace"),
        "{outside}"
    );
}

#[test]
fn files_move_inside_the_workspace_only() {
    let (ws, state) = dirs();
    std::fs::write(ws.path().join("data.txt"), "hello from the workspace").unwrap();
    let mut mcp = Mcp::start(ws.path(), state.path(), &["--endpoint", "local"]);
    let up = mcp.call(
        "upload_file",
        json!({"path": "data.txt", "remoteName": "in.txt"}),
    );
    assert_eq!(up["result"]["isError"], json!(false), "{up}");
    let listed = mcp.call("list_files", json!({}));
    assert!(text(&listed).contains("in.txt"), "{listed}");
    let down = mcp.call(
        "download_file",
        json!({"remoteName": "in.txt", "path": "out/copy.txt"}),
    );
    assert_eq!(down["result"]["isError"], json!(false), "{down}");
    assert_eq!(
        std::fs::read_to_string(ws.path().join("out/copy.txt")).unwrap(),
        "hello from the workspace"
    );
    for (tool, args) in [
        ("upload_file", json!({"path": "/etc/passwd"})),
        ("upload_file", json!({"path": "../x"})),
        (
            "download_file",
            json!({"remoteName": "in.txt", "path": "../x"}),
        ),
        (
            "download_file",
            json!({"remoteName": "in.txt", "path": "/etc/passwd"}),
        ),
    ] {
        let refused = mcp.call(tool, args.clone());
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("outside the workspace"),
            "{tool} {args}: {refused}"
        );
    }
    let bad = mcp.call("run_code", json!({"code": 5}));
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("must be a string"),
        "{bad}"
    );
}

#[test]
fn the_identifier_is_the_editors_for_that_folder() {
    use azure_sessions_lsp::identity::{IdentityStore, session_key};
    let (ws, state) = dirs();
    let mut mcp = Mcp::start(ws.path(), state.path(), &["--endpoint", "local"]);
    let info = mcp.call("session_info", json!({}));
    let info: Value = serde_json::from_str(&text(&info)).expect("JSON info");
    let folder = std::fs::canonicalize(ws.path()).unwrap();
    let store = IdentityStore::open(&state.path().join("azure-sessions-lsp")).unwrap();
    let expected = store.identifier(&session_key(
        &azure_sessions_lsp::settings::Endpoint::Local.identity(),
        "executions",
        &format!("folder:{}", folder.display()),
    ));
    assert_eq!(info["identifier"], json!(expected));
    assert_eq!(info["endpoint"], "local");
}

#[test]
fn settings_come_from_the_workspace_and_nothing_runs_without_an_endpoint() {
    let (ws, state) = dirs();
    let mut mcp = Mcp::start(ws.path(), state.path(), &[]);
    let refused = mcp.call("run_code", json!({"code": "print(1)"}));
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("no session pool is configured"),
        "{refused}"
    );
    drop(mcp);

    std::fs::create_dir(ws.path().join(".vscode")).unwrap();
    std::fs::write(
        ws.path().join(".vscode/settings.json"),
        "{\n  // the pool\n  \"azureSessions.endpoint\": \"local\",\n  \"editor.tabSize\": 4,\n}\n",
    )
    .unwrap();
    let mut mcp = Mcp::start(ws.path(), state.path(), &[]);
    let ran = mcp.call("run_code", json!({"code": "print(6*7)"}));
    assert!(text(&ran).contains("42"), "{ran}");
}

#[test]
fn a_cancelled_run_stops_waiting() {
    let (ws, state) = dirs();
    let mut mcp = Mcp::start(ws.path(), state.path(), &["--endpoint", "local"]);
    let warm = mcp.call("run_code", json!({"code": "1"}));
    assert_eq!(warm["result"]["isError"], json!(false), "{warm}");
    mcp.next_id += 1;
    let slow = mcp.next_id;
    mcp.send(json!({"jsonrpc": "2.0", "id": slow, "method": "tools/call",
        "params": {"name": "run_code", "arguments": {"code": "import time\ntime.sleep(30)"}}}));
    std::thread::sleep(Duration::from_millis(500));
    mcp.send(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": slow, "reason": "test"}}),
    );
    // The server is free again: a tool that needs the pool answers long before the run ends.
    let started = std::time::Instant::now();
    let listed = mcp.call("list_files", json!({}));
    assert!(listed["result"].is_object(), "{listed}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn javascript_runs_in_a_local_pool_of_its_own_and_reset_moves_to_a_new_session() {
    let (ws, state) = dirs();
    let mut mcp = Mcp::start(ws.path(), state.path(), &["--endpoint", "local"]);
    let js = mcp.call(
        "run_code",
        json!({"code": "console.log(6*7)", "language": "javascript"}),
    );
    assert!(text(&js).contains("42"), "{js}");
    let set = mcp.call("run_code", json!({"code": "kept = 1"}));
    assert_eq!(set["result"]["isError"], json!(false), "{set}");
    let before: Value = serde_json::from_str(&text(&mcp.call("session_info", json!({})))).unwrap();
    let reset = mcp.call("reset_session", json!({}));
    assert_eq!(reset["result"]["isError"], json!(false), "{reset}");
    let after: Value = serde_json::from_str(&text(&mcp.call("session_info", json!({})))).unwrap();
    assert_ne!(before["identifier"], after["identifier"]);
    let gone = mcp.call("run_code", json!({"code": "print(kept)"}));
    assert!(text(&gone).contains("NameError"), "{gone}");
}

/// The language server for the same folder (and state directory) names the same session, and
/// a reset made in the editor is followed by the MCP server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editor_and_the_agent_share_the_session_and_its_resets() {
    use common::lsp::{Lsp, file_uri, init_params};
    let (ws, xdg) = dirs();
    let folder = std::fs::canonicalize(ws.path()).unwrap();
    let state = xdg.path().join("azure-sessions-lsp");
    std::fs::create_dir_all(&state).unwrap();
    let lsp = Lsp::start(
        &state,
        init_params(&[&folder], common::workspace::local_with(json!({}))),
    )
    .await;
    let uri = file_uri(&folder);
    let editor = common::workspace::identifier(&lsp, &uri).await;
    assert!(editor.starts_with("azs-"), "{editor}");

    let agent_id = |mcp: &mut Mcp| -> String {
        let info: Value =
            serde_json::from_str(&text(&mcp.call("session_info", json!({})))).unwrap();
        info["identifier"].as_str().unwrap_or_default().to_owned()
    };
    let mut mcp = Mcp::start(&folder, xdg.path(), &["--endpoint", "local"]);
    assert_eq!(agent_id(&mut mcp), editor);

    lsp.command("azure-sessions.resetSession", json!({"uri": uri}))
        .await
        .unwrap();
    let after = common::workspace::identifier(&lsp, &uri).await;
    assert_ne!(after, editor);
    assert_eq!(agent_id(&mut mcp), after);
}
