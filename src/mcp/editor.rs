//! The tools carried out by the editor's language server for this folder, when one runs (see
//! `crate::bridge`): the run joins the session's queue with the user's runs, is marked as the
//! agent's in the transcript, and uses the editor's settings and token. Answers come back as the
//! editor's `RunOutcome` and command results, turned into MCP content here.

use base64::Engine;
use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};

use super::run::capped;
use super::{McpServer, invalid, string_arg};
use crate::bridge::{self, Called};

/// The most bytes of one image put into a result.
const MAX_IMAGE_BYTES: u64 = 16 << 20;

/// Sends a request to the language server of this folder (or of the nearest folder above it)
/// that listens for agents; `None` when none does, and the tool runs alone.
pub(super) async fn call(
    server: &McpServer,
    method: &str,
    params: Value,
) -> Option<Result<Value, McpError>> {
    if server.standalone {
        return None;
    }
    for socket in bridge::candidates(&server.state_dir, &server.workspace) {
        match bridge::call(&socket, method, params.clone()).await {
            Called::NoEditor => continue,
            Called::Answer(answer) => {
                return Some(answer.map_err(|error| match error.code {
                    bridge::INVALID_PARAMS => invalid(error.message),
                    _ => McpError::internal_error(error.message, None),
                }));
            }
        }
    }
    None
}

/// A `file:` URI for a local path.
pub(super) fn file_uri(path: &std::path::Path) -> Result<String, McpError> {
    reqwest::Url::from_file_path(path)
        .map(String::from)
        .map_err(|()| invalid(format!("{} cannot be named by a file URI", path.display())))
}

fn text_result(value: &Value) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(
        serde_json::to_string_pretty(value).unwrap_or_default(),
    )])
}

fn workspace_uri(server: &McpServer) -> Result<String, McpError> {
    file_uri(&server.workspace)
}

/// `run_code` through the editor.
pub(super) async fn run_code(
    server: &McpServer,
    code: &str,
    language: Option<&str>,
) -> Option<Result<CallToolResult, McpError>> {
    let uri = match workspace_uri(server) {
        Ok(uri) => uri,
        Err(error) => return Some(Err(error)),
    };
    let mut params = json!({"uri": uri, "code": code});
    if let Some(language) = language {
        params["language"] = json!(language);
    }
    let answer = call(server, bridge::RUN_CODE, params).await?;
    Some(answer.map(|outcome| outcome_content(&outcome)))
}

/// What `run_file` runs: the whole file, the cell holding a line, or lines (all 1-based).
#[derive(Clone, Copy)]
pub(super) enum FilePart {
    File,
    Cell(u32),
    Lines(u32, u32),
}

/// `run_file` through the editor: the run of a document, so its errors become diagnostics
/// where the editor has the file open.
pub(super) async fn run_file(
    server: &McpServer,
    local: &std::path::Path,
    part: FilePart,
) -> Option<Result<CallToolResult, McpError>> {
    let uri = match file_uri(local) {
        Ok(uri) => uri,
        Err(error) => return Some(Err(error)),
    };
    let (method, params) = match part {
        FilePart::File => ("azure-sessions.run", json!({"uri": uri})),
        FilePart::Cell(line) => (
            "azure-sessions.runCell",
            json!({"uri": uri, "position": {"line": line - 1, "character": 0}}),
        ),
        FilePart::Lines(start, end) => (
            "azure-sessions.run",
            json!({"uri": uri, "range": {
                "start": {"line": start - 1, "character": 0},
                "end": {"line": end - 1, "character": u32::MAX}
            }}),
        ),
    };
    let answer = call(server, method, params).await?;
    Some(answer.map(|outcome| outcome_content(&outcome)))
}

/// The other tools: the editor's command for them, with the folder's URI.
pub(super) async fn command(
    server: &McpServer,
    tool: &str,
    args: &Map<String, Value>,
) -> Option<Result<CallToolResult, McpError>> {
    let folder = match workspace_uri(server) {
        Ok(uri) => uri,
        Err(error) => return Some(Err(error)),
    };
    let prepared = match tool {
        "list_files" => Ok(("azure-sessions.listFiles", json!({"uri": folder}))),
        "variables" => Ok(("azure-sessions.variables", json!({"uri": folder}))),
        "session_info" => Ok(("azure-sessions.sessionInfo", json!({"uri": folder}))),
        "reset_session" => Ok(("azure-sessions.resetSession", json!({"uri": folder}))),
        "upload_file" => upload_params(server, args),
        "download_file" => download_params(server, args, &folder).await,
        _ => return None,
    };
    let (method, params) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return Some(Err(error)),
    };
    let answer = call(server, method, params).await?;
    Some(answer.map(|value| match tool {
        "session_info" => {
            let mut info = value;
            info["workspace"] = json!(server.workspace.display().to_string());
            info["sharedWith"] = json!("editor");
            text_result(&info)
        }
        "reset_session" => CallToolResult::success(vec![ContentBlock::text(
            "The session was reset (in the editor too): earlier variables and files are gone; \
             the next run starts a fresh session.",
        )]),
        "upload_file" => CallToolResult::success(vec![ContentBlock::text(format!(
            "Uploaded as /mnt/data/{} ({} bytes).",
            value["name"].as_str().unwrap_or("?"),
            value["size"]
        ))]),
        "download_file" => CallToolResult::success(vec![ContentBlock::text(format!(
            "Downloaded to {} ({} bytes).",
            args.get("path").and_then(Value::as_str).unwrap_or("?"),
            value["size"]
        ))]),
        _ => text_result(&value),
    }))
}

fn upload_params(
    server: &McpServer,
    args: &Map<String, Value>,
) -> Result<(&'static str, Value), McpError> {
    let given = string_arg(args, "path", true)?.unwrap_or_default();
    let local = super::files::inside_workspace(&server.workspace, &given, true)?;
    if !local.is_file() {
        return Err(invalid(format!("`{given}` is not a file")));
    }
    let mut params = json!({"uri": file_uri(&local)?});
    if let Some(name) = string_arg(args, "remoteName", false)?.filter(|n| !n.trim().is_empty()) {
        params["remoteName"] = json!(name);
    }
    Ok(("azure-sessions.uploadFile", params))
}

async fn download_params(
    server: &McpServer,
    args: &Map<String, Value>,
    folder: &str,
) -> Result<(&'static str, Value), McpError> {
    let name = string_arg(args, "remoteName", true)?.unwrap_or_default();
    if name.trim().is_empty() {
        return Err(invalid("`remoteName` is empty"));
    }
    let given = string_arg(args, "path", true)?.unwrap_or_default();
    let local = super::files::inside_workspace(&server.workspace, &given, false)?;
    if local.is_dir() {
        return Err(invalid(format!("`{given}` is a folder; give a file path")));
    }
    if let Some(parent) = local.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
    }
    Ok((
        "azure-sessions.downloadFile",
        json!({"remoteName": name, "targetUri": file_uri(&local)?, "uri": folder}),
    ))
}

/// The editor's `RunOutcome` as MCP content: stdout, stderr, the result, displays (images
/// read from the private files the editor saved them to), notes, and the error with its line.
pub(super) fn outcome_content(outcome: &Value) -> CallToolResult {
    let text = |key: &str| outcome.get(key).and_then(Value::as_str).unwrap_or("");
    let mut blocks = Vec::new();
    if !text("stdout").is_empty() {
        blocks.push(capped("stdout", text("stdout")));
    }
    if !text("stderr").is_empty() {
        blocks.push(capped("stderr", text("stderr")));
    }
    match outcome.get("result").unwrap_or(&Value::Null) {
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        Value::String(s) => blocks.push(ContentBlock::text(format!("result: {s}"))),
        other if other.get("type").and_then(Value::as_str) == Some("image") => {}
        other => blocks.push(ContentBlock::text(format!("result: {other}"))),
    }
    for display in outcome
        .get("displays")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mime = display["mimeType"]
            .as_str()
            .unwrap_or("application/octet-stream");
        if let Some(text) = display["text"].as_str() {
            blocks.push(capped(mime, text));
        } else if let Some(uri) = display["uri"].as_str() {
            blocks.push(saved_display(mime, uri));
        }
    }
    if outcome["status"] == "Failed" {
        let error = &outcome["error"];
        let mut line = format!("error: {}", error["type"].as_str().unwrap_or("Error"));
        if let Some(message) = error["message"].as_str().filter(|m| !m.is_empty()) {
            line.push_str(&format!(": {message}"));
        }
        if let Some(n) = error["line"].as_u64() {
            line.push_str(&format!(" (line {})", n + 1));
        }
        blocks.push(ContentBlock::text(line));
        return CallToolResult::error(blocks);
    }
    if blocks.is_empty() {
        blocks.push(ContentBlock::text("(no output)"));
    }
    CallToolResult::success(blocks)
}

/// A display the editor saved to a file: an image as image content, anything else named.
fn saved_display(mime: &str, uri: &str) -> ContentBlock {
    let path = reqwest::Url::parse(uri)
        .ok()
        .and_then(|u| u.to_file_path().ok());
    let readable = path
        .as_ref()
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() <= MAX_IMAGE_BYTES));
    match readable.and_then(|p| std::fs::read(p).ok()) {
        Some(bytes) if mime.starts_with("image/") && mime != "image/svg+xml" => {
            ContentBlock::image(
                base64::engine::general_purpose::STANDARD.encode(bytes),
                mime.to_owned(),
            )
        }
        Some(bytes) => capped(mime, &String::from_utf8_lossy(&bytes)),
        None => ContentBlock::text(format!("{mime}: saved by the editor to {uri}")),
    }
}
