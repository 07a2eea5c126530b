//! Settings by all three routes (initializationOptions, `workspace/configuration` per folder,
//! `didChangeConfiguration`), and which folder a document belongs to.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use serde_json::Value;
use tower_lsp_server::ls_types::*;

use super::{Inner, lock};
use crate::settings::{SettingError, Settings};

#[derive(Default)]
pub struct Config {
    global: Settings,
    /// Settings pulled for each workspace folder, by folder URI.
    per_folder: BTreeMap<String, Settings>,
    /// Workspace folders: URI and path.
    pub folders: Vec<(String, PathBuf)>,
    pub supports_configuration: bool,
    pub supports_progress: bool,
    pub supports_code_lens_refresh: bool,
    pub supports_inlay_hint_refresh: bool,
    /// The editor hands tokens to the server (VS Code's Microsoft account).
    pub client_tokens: bool,
    /// Bad values already shown to the user, so each is shown once.
    reported: HashSet<String>,
    /// Messages are held until `initialized` (the editor drops them before).
    initialized: bool,
    pending: Vec<String>,
}

impl Config {
    /// Settings for a document: those of its folder, else the global ones.
    pub fn settings_for(&self, uri: &str) -> Settings {
        self.folder_of(uri)
            .and_then(|folder| self.per_folder.get(&folder.0))
            .unwrap_or(&self.global)
            .clone()
    }

    /// The innermost workspace folder holding a document.
    pub fn folder_of(&self, uri: &str) -> Option<&(String, PathBuf)> {
        let path = file_path(uri)?;
        let os = crate::platform::Os::current();
        let path = path.to_string_lossy();
        self.folders
            .iter()
            .filter(|(_, folder)| {
                crate::platform::paths::is_within(&path, &folder.to_string_lossy(), os)
            })
            .max_by_key(|(_, folder)| folder.as_os_str().len())
    }

    pub fn global(&self) -> &Settings {
        &self.global
    }
}

/// The path of a `file:` URI (other schemes, like `untitled:`, have none), as this platform
/// spells it: `file:///c%3A/Users/…` is `C:\Users\…` on Windows, `file://server/share/…` a
/// share (see `platform::paths`).
pub fn file_path(uri: &str) -> Option<PathBuf> {
    crate::platform::paths::file_uri_to_path(uri, crate::platform::Os::current()).map(PathBuf::from)
}

pub fn local_path(uri: &Uri) -> Option<PathBuf> {
    file_path(uri.as_str())
}

impl Inner {
    pub(super) fn initialize(&self, params: &InitializeParams) {
        let mut config = lock(&self.config);
        let caps = &params.capabilities;
        config.supports_configuration = caps
            .workspace
            .as_ref()
            .and_then(|w| w.configuration)
            .unwrap_or(false);
        config.supports_code_lens_refresh = caps
            .workspace
            .as_ref()
            .and_then(|w| w.code_lens.as_ref())
            .and_then(|c| c.refresh_support)
            .unwrap_or(false);
        config.supports_inlay_hint_refresh = caps
            .workspace
            .as_ref()
            .and_then(|w| w.inlay_hint.as_ref())
            .and_then(|c| c.refresh_support)
            .unwrap_or(false);
        config.supports_progress = caps
            .window
            .as_ref()
            .and_then(|w| w.work_done_progress)
            .unwrap_or(false);
        let mut folders: Vec<(String, PathBuf)> = params
            .workspace_folders
            .iter()
            .flatten()
            .filter_map(|f| Some((f.uri.as_str().to_owned(), local_path(&f.uri)?)))
            .collect();
        #[allow(deprecated)]
        if folders.is_empty()
            && let Some(root) = &params.root_uri
            && let Some(path) = local_path(root)
        {
            folders.push((root.as_str().to_owned(), path));
        }
        config.folders = folders;
        let options = params.initialization_options.clone().unwrap_or(Value::Null);
        config.client_tokens =
            options.get("tokenProvider").and_then(Value::as_str) == Some("client");
        let (settings, errors) = Settings::from_json(&options);
        config.global = settings;
        drop(config);
        self.report_setting_errors(errors);
    }

    pub(super) fn folders_changed(&self, event: WorkspaceFoldersChangeEvent) {
        let mut config = lock(&self.config);
        for removed in &event.removed {
            config
                .folders
                .retain(|(uri, _)| uri != removed.uri.as_str());
            config.per_folder.remove(removed.uri.as_str());
        }
        for added in event.added {
            if let Some(path) = local_path(&added.uri) {
                config.folders.push((added.uri.as_str().to_owned(), path));
            }
        }
    }

    /// `didChangeConfiguration` with the settings in it (VS Code's and Neovim's push).
    pub(super) fn configuration_pushed(&self, settings: &Value) {
        let section = settings.get("azureSessions").unwrap_or(settings);
        if !section.is_object() {
            return; // a bare "something changed": the pull that follows reads it
        }
        let (resolved, errors) = Settings::from_json(section);
        {
            // Folder settings pulled before are stale now; the pull that follows refreshes them,
            // and until it answers the pushed settings apply (a change applies to the next run).
            let mut config = lock(&self.config);
            config.global = resolved;
            config.per_folder.clear();
        }
        self.report_setting_errors(errors);
    }

    /// Pulls `azureSessions` for the window and for each folder, where the editor supports it.
    pub(super) async fn pull_configuration(&self) {
        let (supported, folders) = {
            let config = lock(&self.config);
            (config.supports_configuration, config.folders.clone())
        };
        if !supported {
            return;
        }
        let mut items = vec![ConfigurationItem {
            scope_uri: None,
            section: Some("azureSessions".to_owned()),
        }];
        items.extend(folders.iter().map(|(uri, _)| ConfigurationItem {
            scope_uri: uri.parse().ok(),
            section: Some("azureSessions".to_owned()),
        }));
        let answers = match self.client.configuration(items).await {
            Ok(answers) => answers,
            Err(error) => {
                tracing::debug!(%error, "workspace/configuration failed");
                return;
            }
        };
        let mut errors = Vec::new();
        let mut resolved = answers.iter().map(|answer| {
            let (settings, mut bad) = Settings::from_json(answer);
            errors.append(&mut bad);
            (settings, !answer.is_null())
        });
        let global = resolved.next();
        let per_folder: Vec<(Settings, bool)> = resolved.collect();
        {
            let mut config = lock(&self.config);
            if let Some((settings, present)) = global
                && present
            {
                config.global = settings;
            }
            for ((uri, _), (settings, present)) in folders.iter().zip(per_folder) {
                if present {
                    config.per_folder.insert(uri.clone(), settings);
                }
            }
        }
        self.report_setting_errors(errors);
    }

    /// Shows each bad value once (naming the key); the rest of the settings keep working.
    fn report_setting_errors(&self, errors: Vec<SettingError>) {
        let fresh: Vec<String> = {
            let mut config = lock(&self.config);
            let fresh: Vec<String> = errors
                .into_iter()
                .map(|e| e.to_string())
                .filter(|text| config.reported.insert(text.clone()))
                .collect();
            if !config.initialized {
                config.pending.extend(fresh);
                return;
            }
            fresh
        };
        self.show_setting_errors(fresh);
    }

    /// Called once the editor is ready for messages.
    pub(super) fn flush_pending_messages(&self) {
        let pending = {
            let mut config = lock(&self.config);
            config.initialized = true;
            std::mem::take(&mut config.pending)
        };
        self.show_setting_errors(pending);
    }

    fn show_setting_errors(&self, texts: Vec<String>) {
        for text in texts {
            tracing::warn!("{text}");
            let client = self.client.clone();
            tokio::spawn(async move {
                client
                    .show_message(
                        MessageType::WARNING,
                        format!("Azure Sessions: invalid setting {text}"),
                    )
                    .await
            });
        }
    }
}
