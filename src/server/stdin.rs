//! Standard input from `azureSessions.stdinFile`: a file of the document's workspace folder,
//! given to runs on pools that take stdin (Shell and custom containers) when the run brings none.

use std::path::{Path, PathBuf};

use super::{Inner, lock};
use crate::sessions::request_body::takes_stdin;
use crate::settings::Settings;

/// Larger input is refused: it would travel in every request's body.
const MAX_STDIN_FILE_BYTES: u64 = 1 << 20;

impl Inner {
    /// The stdin of a run: the one it brings, else the setting's file where the pool takes
    /// stdin. An unreadable file, or one outside the folder, is an error naming the setting.
    pub(super) async fn stdin_for(
        &self,
        given: Option<String>,
        settings: &Settings,
        uri: &str,
        language: &str,
    ) -> Result<Option<String>, String> {
        let Some(relative) = &settings.stdin_file else {
            return Ok(given);
        };
        if given.is_some() || !takes_stdin(settings.api, language) {
            return Ok(given);
        }
        let folder = {
            let config = lock(&self.config);
            config
                .folder_of(uri)
                .or_else(|| config.folders.first())
                .map(|(_, path)| path.clone())
        };
        let Some(folder) = folder else {
            return Err(format!(
                "azureSessions.stdinFile ({}) is relative to a workspace folder, and none is open",
                relative.display()
            ));
        };
        read_inside(&folder, relative).await.map(Some)
    }
}

async fn read_inside(folder: &Path, relative: &Path) -> Result<String, String> {
    let shown = relative.display();
    let fail = |why: String| format!("azureSessions.stdinFile: {shown} {why}");
    let path: PathBuf = tokio::fs::canonicalize(folder.join(relative))
        .await
        .map_err(|e| fail(format!("cannot be read: {e}")))?;
    let root = tokio::fs::canonicalize(folder)
        .await
        .unwrap_or_else(|_| folder.to_owned());
    // A symbolic link out of the folder would send any file of the machine to the pool.
    if !path.starts_with(&root) {
        return Err(fail(format!(
            "leads outside the workspace folder {}",
            root.display()
        )));
    }
    let meta = tokio::fs::metadata(&path)
        .await
        .map_err(|e| fail(format!("cannot be read: {e}")))?;
    if !meta.is_file() || meta.len() > MAX_STDIN_FILE_BYTES {
        return Err(fail(format!(
            "is not a file of at most {} MiB",
            MAX_STDIN_FILE_BYTES >> 20
        )));
    }
    tokio::fs::read_to_string(&path)
        .await
        .map_err(|e| fail(format!("cannot be read as text: {e}")))
}
