//! The agent socket: `azure-sessions-lsp mcp` for one of this server's workspace folders sends
//! its tool calls here (see `crate::bridge`), so an agent's runs use the editor's settings and
//! token, wait in the session's queue with the user's runs, are marked as the agent's in the
//! transcript, and leave diagnostics on the files open in the editor.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::Value;
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::Uri;

use super::config::file_path;
use super::protocol::*;
use super::{Inner, lock};
use crate::bridge::{self, ErrorAnswer};

/// The listening tasks by workspace folder.
pub type Sockets = Mutex<HashMap<PathBuf, tokio::task::AbortHandle>>;

/// The commands an agent may send (with the argument objects of the editor's commands), besides
/// `azure-sessions.runCode`.
const AGENT_COMMANDS: &[&str] = &[
    RUN,
    RUN_CELL,
    RESET_SESSION,
    SESSION_INFO,
    UPLOAD_FILE,
    LIST_FILES,
    DOWNLOAD_FILE,
    VARIABLES,
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunCodeArgs {
    uri: Uri,
    code: String,
    #[serde(default)]
    language: Option<String>,
}

impl Inner {
    /// Listens for agents on every workspace folder that has no socket yet, and stops listening
    /// for folders that were removed. A folder another live server already shares is left to it.
    pub(super) fn share_folders(self: &Arc<Self>) {
        let folders: Vec<PathBuf> = lock(&self.config)
            .folders
            .iter()
            .map(|(_, path)| path.clone())
            .collect();
        let mut sockets = lock(&self.agent_sockets);
        sockets.retain(|folder, task| {
            let keep = folders.contains(folder);
            if !keep {
                task.abort();
            }
            keep
        });
        for folder in folders {
            if sockets.contains_key(&folder) {
                continue;
            }
            match bridge::listen(self.runtime.state_dir(), &folder) {
                Ok(listener) => {
                    tracing::info!(
                        "agents reach this folder's session through {}",
                        bridge::socket_path(self.runtime.state_dir(), &folder).display()
                    );
                    let task = tokio::spawn(self.clone().serve_agents(listener, folder.clone()));
                    sockets.insert(folder, task.abort_handle());
                }
                Err(error) => {
                    tracing::info!(
                        "`azure-sessions-lsp mcp` will not share this server's session for {}: {error}",
                        folder.display()
                    );
                }
            }
        }
    }

    /// Stops listening (the sockets' files are removed).
    pub(super) fn stop_sharing(&self) {
        for (_, task) in lock(&self.agent_sockets).drain() {
            task.abort();
        }
    }

    async fn serve_agents(self: Arc<Self>, mut listener: bridge::Listener, folder: PathBuf) {
        loop {
            let connection = match listener.next().await {
                Ok(connection) => connection,
                Err(error) => {
                    tracing::warn!("the agent socket stopped accepting: {error}");
                    return;
                }
            };
            let inner = self.clone();
            let folder = folder.clone();
            tokio::spawn(async move {
                connection
                    .serve(|request| async move {
                        inner
                            .agent_request(&folder, &request.method, request.params)
                            .await
                            .map_err(|error| ErrorAnswer {
                                code: error.code.code(),
                                message: error.message.into_owned(),
                            })
                    })
                    .await;
            });
        }
    }

    /// One request from an agent. Its paths must lie in the folder of the socket.
    pub(super) async fn agent_request(
        self: &Arc<Self>,
        folder: &Path,
        method: &str,
        params: Value,
    ) -> jsonrpc::Result<Value> {
        for key in ["uri", "targetUri"] {
            if let Some(uri) = params.get(key).and_then(Value::as_str) {
                inside(folder, uri)?;
            }
        }
        if method == bridge::RUN_CODE {
            let args: RunCodeArgs = serde_json::from_value(params).map_err(|e| {
                invalid_params(format!(
                    "{method} takes {{\"uri\", \"code\", \"language\"?}}: {e}"
                ))
            })?;
            return Ok(self
                .run_code(args.uri, args.code, args.language)
                .await?
                .into_value());
        }
        if !AGENT_COMMANDS.contains(&method) {
            return Err(invalid_params(format!(
                "{method:?} is not offered to agents; they may send {} and {}",
                bridge::RUN_CODE,
                AGENT_COMMANDS.join(", ")
            )));
        }
        self.command(method, &[params], None, true).await
    }
}

/// A `file:` URI must name a path within the folder (other schemes name no file).
fn inside(folder: &Path, uri: &str) -> jsonrpc::Result<()> {
    if !uri.starts_with("file:") {
        return Ok(());
    }
    let path = file_path(uri).ok_or_else(|| invalid_params(format!("{uri} is not a file URI")))?;
    let resolved = super::sessions::identity_path(&path);
    let folder = super::sessions::identity_path(folder);
    let lexical_escape = path
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir));
    if lexical_escape || !(path.starts_with(&folder) || resolved.starts_with(&folder)) {
        return Err(invalid_params(format!(
            "{uri} is outside the workspace folder {} shared with agents",
            folder.display()
        )));
    }
    Ok(())
}
