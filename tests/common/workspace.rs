//! A workspace for in-process language-server tests: a project folder and a private state
//! directory, with helpers to start a server on them.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::lsp::{Lsp, file_uri, init_params};

pub struct Workspace {
    pub root: tempfile::TempDir,
    pub state: tempfile::TempDir,
    pub folder: PathBuf,
}

pub fn workspace() -> Workspace {
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("project");
    std::fs::create_dir_all(&folder).unwrap();
    Workspace {
        state: tempfile::tempdir().unwrap(),
        folder,
        root,
    }
}

/// `initializationOptions` for the built-in local pool, with extra settings merged in.
pub fn local_with(extra: Value) -> Value {
    let mut settings = json!({"endpoint": "local"});
    if let (Some(base), Some(extra)) = (settings.as_object_mut(), extra.as_object()) {
        base.extend(extra.clone());
    }
    json!({ "azureSessions": settings })
}

impl Workspace {
    /// A server on this workspace's folder(s) and state directory.
    pub async fn start(&self, options: Value) -> Lsp {
        Lsp::start(self.state.path(), init_params(&[&self.folder], options)).await
    }

    pub async fn start_on(&self, folders: &[&Path], options: Value) -> Lsp {
        Lsp::start(self.state.path(), init_params(folders, options)).await
    }

    pub fn uri(&self, name: &str) -> String {
        file_uri(&self.folder.join(name))
    }
}

/// The identifier of the session a document (or folder) URI runs in.
pub async fn identifier(lsp: &Lsp, uri: &str) -> String {
    lsp.command("azure-sessions.sessionInfo", json!({"uri": uri}))
        .await
        .unwrap()["identifier"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// The names of the session's files.
pub async fn file_names(lsp: &Lsp, uri: &str) -> Vec<String> {
    lsp.command("azure-sessions.listFiles", json!({"uri": uri}))
        .await
        .unwrap_or(Value::Null)
        .as_array()
        .map(|files| {
            files
                .iter()
                .filter_map(|f| f["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
