//! `azure-sessions-lsp mcp` driven by MCP clients that no one here wrote: the official Python
//! SDK's stdio client (PyPI `mcp`) and the MCP Inspector's CLI mode (npm).

mod common;

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_azure-sessions-lsp");

fn isolated(command: &mut Command, state: &std::path::Path) {
    command
        .env("XDG_STATE_HOME", state)
        .env("XDG_RUNTIME_DIR", state)
        .env_remove("AZURE_SESSIONS_ENDPOINT")
        .env_remove("AZURE_SESSIONS_LANGUAGE");
}

#[test]
fn the_python_sdk_client_lists_calls_and_sees_errors() {
    let python = common::pyvenv::python_with_packages();
    let (ws, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mcp/python_client.py");
    let mut command = Command::new(python);
    command.arg(script).arg(BIN).arg(ws.path());
    isolated(&mut command, state.path());
    let output = command.output().expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(seen["server"], "azure-sessions-lsp");
    let tools: Vec<&str> = seen["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        tools,
        [
            "download_file",
            "list_files",
            "reset_session",
            "run_code",
            "run_file",
            "session_info",
            "upload_file",
            "variables"
        ]
    );
    let annotations = &seen["annotations"];
    assert_eq!(
        annotations["reset_session"]["destructive_hint"], true,
        "{seen}"
    );
    assert_eq!(annotations["list_files"]["read_only_hint"], true, "{seen}");
    assert_eq!(seen["run"]["isError"], false, "{seen}");
    assert!(
        seen["run"]["text"].as_str().unwrap().contains("42"),
        "{seen}"
    );
    assert_eq!(seen["failed"]["isError"], true, "{seen}");
    assert!(
        seen["failed"]["text"]
            .as_str()
            .unwrap()
            .contains("ZeroDivisionError: division by zero (line 1)"),
        "{seen}"
    );
    assert!(
        seen["outside"]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("outside the workspace"),
        "{seen}"
    );
    assert_eq!(seen["info"]["endpoint"], "local", "{seen}");
    assert_eq!(seen["info"]["runs"], 3, "{seen}");
}

/// `mcp-inspector --cli BIN mcp … --method M [args]`: its JSON output, or its error output
/// when it exits with a failure (as it does for an MCP error answer).
fn inspector_answer(
    state: &std::path::Path,
    workspace: &std::path::Path,
    method: &[&str],
) -> Result<Value, String> {
    let cli = common::inspector::inspector_cli();
    let mut command = Command::new("node");
    command
        .arg(cli)
        .arg("--cli")
        .arg(BIN)
        .args(["mcp", "--endpoint", "local", "--workspace"])
        .arg(workspace)
        .arg("--method")
        .args(method);
    isolated(&mut command, state);
    let output = command.output().expect("node runs the inspector");
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{method:?}: {e}: {stdout}")))
}

fn inspector(state: &std::path::Path, workspace: &std::path::Path, method: &[&str]) -> Value {
    inspector_answer(state, workspace, method).unwrap_or_else(|e| panic!("{method:?}: {e}"))
}

#[test]
fn the_mcp_inspector_cli_lists_and_calls_tools() {
    let (ws, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let listed = inspector(state.path(), ws.path(), &["tools/list"]);
    let tools = listed["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), 8, "{listed}");
    for tool in tools {
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
    }
    let ran = inspector(
        state.path(),
        ws.path(),
        &[
            "tools/call",
            "--tool-name",
            "run_code",
            "--tool-arg",
            "code=print(6*7)",
        ],
    );
    assert_eq!(ran["isError"], false, "{ran}");
    assert_eq!(ran["content"][0]["text"], "stdout:\n42\n", "{ran}");
    // The inspector's own process per call: the session lives on in the state directory's
    // identifier, but each process starts its own local pool, so only the identifier persists.
    let info = inspector(
        state.path(),
        ws.path(),
        &["tools/call", "--tool-name", "session_info"],
    );
    let info: Value = serde_json::from_str(info["content"][0]["text"].as_str().unwrap()).unwrap();
    assert!(
        info["identifier"].as_str().unwrap().starts_with("azs-"),
        "{info}"
    );
    let bad = inspector_answer(
        state.path(),
        ws.path(),
        &[
            "tools/call",
            "--tool-name",
            "run_code",
            "--tool-arg",
            "language=python",
        ],
    )
    .expect_err("a call without `code` is refused");
    assert!(
        bad.contains("MCP error -32602: `code` is required"),
        "{bad}"
    );
}
