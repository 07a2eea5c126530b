//! `list_files`, `upload_file` and `download_file`, with local paths kept inside the workspace.

use std::path::{Component, Path, PathBuf};

use bytes::Bytes;
use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};

use super::{McpServer, invalid, string_arg};

/// A path given relative to the workspace (or absolute within it), refused when it leads
/// outside: `..` components, absolute paths elsewhere, or symbolic links out of it.
pub fn inside_workspace(
    workspace: &Path,
    given: &str,
    must_exist: bool,
) -> Result<PathBuf, McpError> {
    let refuse = || {
        invalid(format!(
            "`{given}` is outside the workspace folder {}; give a path inside it",
            workspace.display()
        ))
    };
    if given.trim().is_empty() {
        return Err(invalid("the path is empty"));
    }
    let path = Path::new(given);
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(refuse());
    }
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        workspace.join(path)
    };
    if !joined.starts_with(workspace) {
        return Err(refuse());
    }
    // Symbolic links: the nearest existing ancestor must resolve inside the workspace.
    let mut existing = joined.as_path();
    while !existing.exists() {
        if must_exist {
            return Err(invalid(format!(
                "`{given}` does not exist in the workspace"
            )));
        }
        existing = existing.parent().ok_or_else(refuse)?;
    }
    let resolved =
        std::fs::canonicalize(existing).map_err(|e| invalid(format!("`{given}`: {e}")))?;
    // Compared with the workspace resolved the same way (on Windows, canonical paths carry
    // the `\\?\` prefix; on macOS, /var is /private/var).
    let root = std::fs::canonicalize(workspace).unwrap_or_else(|_| workspace.to_path_buf());
    if !resolved.starts_with(&root) && !resolved.starts_with(workspace) {
        return Err(refuse());
    }
    Ok(joined)
}

fn failed(error: impl std::fmt::Display) -> McpError {
    McpError::internal_error(error.to_string(), None)
}

pub async fn list(server: &McpServer) -> Result<CallToolResult, McpError> {
    let reached = server.pool(None).await?;
    let pool = &reached.pool;
    let files = pool
        .http
        .list_files(&pool.target, &pool.credentials, &server.identifier())
        .await
        .map_err(failed)?;
    let items: Vec<Value> = files
        .iter()
        .map(|f| json!({"name": f.name, "size": f.size, "lastModified": f.last_modified}))
        .collect();
    Ok(CallToolResult::success(vec![ContentBlock::text(
        serde_json::to_string_pretty(&items).unwrap_or_default(),
    )]))
}

pub async fn upload(
    server: &McpServer,
    args: &Map<String, Value>,
) -> Result<CallToolResult, McpError> {
    let given = string_arg(args, "path", true)?.unwrap_or_default();
    let local = inside_workspace(&server.workspace, &given, true)?;
    if !local.is_file() {
        return Err(invalid(format!("`{given}` is not a file")));
    }
    let name = match string_arg(args, "remoteName", false)?.filter(|n| !n.trim().is_empty()) {
        Some(name) => name,
        None => local
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| invalid("the path has no file name"))?,
    };
    let content = tokio::fs::read(&local)
        .await
        .map_err(|e| invalid(format!("cannot read `{given}`: {e}")))?;
    let reached = server.pool(None).await?;
    let pool = &reached.pool;
    let file = pool
        .http
        .upload_file(
            &pool.target,
            &pool.credentials,
            &server.identifier(),
            &name,
            Bytes::from(content),
        )
        .await
        .map_err(failed)?;
    Ok(CallToolResult::success(vec![ContentBlock::text(format!(
        "Uploaded {given} as /mnt/data/{} ({} bytes).",
        file.name,
        file.size.map_or("?".to_owned(), |s| s.to_string())
    ))]))
}

pub async fn download(
    server: &McpServer,
    args: &Map<String, Value>,
) -> Result<CallToolResult, McpError> {
    let name = string_arg(args, "remoteName", true)?.unwrap_or_default();
    if name.trim().is_empty() {
        return Err(invalid("`remoteName` is empty"));
    }
    let given = string_arg(args, "path", true)?.unwrap_or_default();
    let local = inside_workspace(&server.workspace, &given, false)?;
    if local.is_dir() {
        return Err(invalid(format!("`{given}` is a folder; give a file path")));
    }
    let reached = server.pool(None).await?;
    let pool = &reached.pool;
    let bytes = pool
        .http
        .download_file(&pool.target, &pool.credentials, &server.identifier(), &name)
        .await
        .map_err(failed)?;
    if let Some(parent) = local.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(failed)?;
    }
    tokio::fs::write(&local, &bytes).await.map_err(failed)?;
    Ok(CallToolResult::success(vec![ContentBlock::text(format!(
        "Downloaded /mnt/data/{name} to {given} ({} bytes).",
        bytes.len()
    ))]))
}
