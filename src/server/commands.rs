//! The session commands besides running: reset, info, files, and prewarming.

use std::sync::Arc;

use bytes::Bytes;
use futures::FutureExt;
use serde_json::{Value, json};
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::Uri;

use super::config::local_path;
use super::protocol::*;
use super::runtime::Resolved;
use super::sessions::Session;
use super::{Inner, lock};
use crate::settings::{Endpoint, EndpointOrigin, Settings};

/// Files larger than this are not read into memory for upload (Azure's limit is 128 MB).
pub(super) const MAX_UPLOAD_BYTES: u64 = 128 * 1024 * 1024;

impl Inner {
    pub(super) async fn reset_session(
        self: &Arc<Self>,
        args: SessionArgs,
    ) -> jsonrpc::Result<Value> {
        let (session, settings) = self.command_session(args.uri.as_ref())?;
        let old = session.identifier();
        let new = self
            .runtime
            .identity()
            .and_then(|store| {
                store
                    .reset(&session.key)
                    .map_err(|e| format!("could not save the new identifier: {e}"))
            })
            .map_err(|e| self.fail(e))?;
        {
            let mut state = lock(&session.state);
            state.identifier = new.clone();
            state.session_guid = None;
            state.transcript.note(&format!(
                "Session reset: the new identifier is {new}; earlier state is gone."
            ));
        }
        // Delete the old session where the API allows it; the new identifier is used either way.
        // With `endpoint = "local"` every local pool that started may hold it (one per language).
        let languages = match settings.endpoint {
            Endpoint::Local => self.runtime.started_local_languages(),
            _ => vec![session.language()],
        };
        for language in languages {
            match self.resolve(&settings, &language).await {
                Ok(resolved) => {
                    if let Err(error) = resolved
                        .http
                        .delete_session(&resolved.target, &resolved.credentials, &old)
                        .await
                    {
                        tracing::info!(%error, "could not delete the old session");
                        lock(&session.state)
                            .transcript
                            .note(&format!("The old session could not be deleted ({error}); the pool ends it after its cooldown."));
                    }
                }
                Err(reason) => tracing::debug!(%reason, "no pool to delete the old session from"),
            }
        }
        self.output_changed(&session).await;
        Ok(json!({ "identifierChanged": true }))
    }

    pub(super) fn session_info(&self, args: SessionArgs) -> jsonrpc::Result<Value> {
        let (session, settings) = self.command_session(args.uri.as_ref())?;
        let state = lock(&session.state);
        Ok(json!({
            "endpoint": match &settings.endpoint {
                Endpoint::NotConfigured | Endpoint::Refused(_) => String::new(),
                Endpoint::Local => "local".to_owned(),
                Endpoint::Remote(url) => url.clone(),
            },
            "api": settings.api.name(),
            "scope": match settings.session_scope {
                crate::settings::SessionScope::Workspace => "workspace",
                crate::settings::SessionScope::File => "file",
            },
            "identifier": state.identifier,
            "runs": state.runs,
            "lastRunAt": state.last_run_at,
            "outputUri": session.output_uri,
        }))
    }

    pub(super) async fn upload_file(self: &Arc<Self>, args: UploadArgs) -> jsonrpc::Result<Value> {
        let path = local_path(&args.uri)
            .ok_or_else(|| invalid_params("uploadFile expects a file: URI of a local file"))?;
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|e| invalid_params(format!("cannot read {}: {e}", path.display())))?;
        if !meta.is_file() {
            return Err(invalid_params(format!("{} is not a file", path.display())));
        }
        if meta.len() > MAX_UPLOAD_BYTES {
            return Err(self.fail(format!(
                "{} is larger than the pool's 128 MB upload limit",
                path.display()
            )));
        }
        let name = match args.remote_name.filter(|n| !n.trim().is_empty()) {
            Some(name) => name,
            None => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "upload".to_owned()),
        };
        if name.contains(['/', '\\', '\0']) || name == "." || name == ".." {
            return Err(invalid_params(format!(
                "remoteName {name:?} must be a plain file name"
            )));
        }
        let content = tokio::fs::read(&path)
            .await
            .map_err(|e| invalid_params(format!("cannot read {}: {e}", path.display())))?;
        let (session, resolved) = self.command_pool(args.document_uri.as_ref()).await?;
        let file = resolved
            .http
            .upload_file(
                &resolved.target,
                &resolved.credentials,
                &session.identifier(),
                &name,
                Bytes::from(content),
            )
            .await
            .map_err(|e| self.fail(e.to_string()))?;
        Ok(json!({ "name": file.name, "size": file.size }))
    }

    pub(super) async fn list_files(self: &Arc<Self>, args: SessionArgs) -> jsonrpc::Result<Value> {
        let (session, resolved) = self.command_pool(args.uri.as_ref()).await?;
        let files = resolved
            .http
            .list_files(
                &resolved.target,
                &resolved.credentials,
                &session.identifier(),
            )
            .await
            .map_err(|e| self.fail(e.to_string()))?;
        Ok(serde_json::to_value(files).unwrap_or(Value::Null))
    }

    pub(super) async fn download_file(
        self: &Arc<Self>,
        args: DownloadArgs,
    ) -> jsonrpc::Result<Value> {
        let target = local_path(&args.target_uri)
            .ok_or_else(|| invalid_params("downloadFile expects targetUri to be a file: URI"))?;
        // The session is the one the user is in (or the default), never the target path's.
        let (session, resolved) = self.command_pool(args.uri.as_ref()).await?;
        let content = resolved
            .http
            .download_file(
                &resolved.target,
                &resolved.credentials,
                &session.identifier(),
                &args.remote_name,
            )
            .await
            .map_err(|e| self.fail(e.to_string()))?;
        tokio::fs::write(&target, &content)
            .await
            .map_err(|e| self.fail(format!("could not write {}: {e}", target.display())))?;
        Ok(json!({ "targetUri": args.target_uri.as_str(), "size": content.len() }))
    }

    /// `azure-sessions.doctor`: the doctor's report for the settings of a document or folder
    /// (else the first folder's), with a one-line run in the document's language.
    pub(super) async fn doctor(self: &Arc<Self>, args: SessionArgs) -> jsonrpc::Result<Value> {
        let uri = args.uri.map(|u| u.as_str().to_owned());
        let settings = {
            let config = lock(&self.config);
            match (&uri, config.folders.first()) {
                (Some(uri), _) => config.settings_for(uri),
                (None, Some((folder, _))) => config.settings_for(folder),
                (None, None) => config.global().clone(),
            }
        };
        // The document's language as its runs send it; a code-interpreter pool cannot run a
        // language it refuses, so the doctor then tries Python there.
        let language_id = uri
            .as_deref()
            .map(|uri| {
                let sent = lock(&self.documents)
                    .get(uri)
                    .map(|doc| doc.language_id.clone())
                    .unwrap_or_default();
                crate::languages::language_id(&sent, uri).to_owned()
            })
            .unwrap_or_else(|| "python".to_owned());
        let mapped = crate::languages::pool_language(&language_id, &settings.languages);
        let language = match crate::languages::check_runnable(settings.api, &language_id, &mapped) {
            Ok(()) => mapped,
            Err(_) => "python".to_owned(),
        };
        let local = settings.endpoint == Endpoint::Local;
        let pool = self
            .resolve(&settings, &language)
            .await
            .map(|resolved| crate::doctor::Pool {
                target: resolved.target,
                credentials: resolved.credentials,
                http: resolved.http,
                local,
            });
        let input = crate::doctor::Input {
            settings,
            language,
            pool,
        };
        Ok(crate::doctor::diagnose(&input).await.to_json())
    }

    /// The session a file command names (through a document or folder URI, else the default
    /// one) and its pool: with `endpoint = "local"`, the local pool of the language the session
    /// last ran, where its files are.
    pub(super) async fn command_pool(
        &self,
        uri: Option<&Uri>,
    ) -> jsonrpc::Result<(Arc<Session>, Resolved)> {
        let (session, settings) = self.command_session(uri)?;
        self.refresh_identifier(&session);
        let language = session.language();
        let resolved = self
            .resolve(&settings, &language)
            .await
            .map_err(|e| self.fail(e))?;
        Ok((session, resolved))
    }

    fn command_session(&self, uri: Option<&Uri>) -> jsonrpc::Result<(Arc<Session>, Settings)> {
        match uri {
            Some(uri) => self.session_for(uri.as_str()),
            None => self.default_session(),
        }
        .map_err(invalid_params)
    }

    /// Gets the token (and starts the local pool) before the first run, so it costs no more
    /// than the next ones. Not for an endpoint the workspace's own settings chose: opening a
    /// folder must not send the user's token to a host the folder picked; its first run does.
    pub(super) fn prewarm(self: &Arc<Self>) {
        let folders = lock(&self.config).folders.clone();
        let targets: Vec<String> = if folders.is_empty() {
            vec![String::new()]
        } else {
            folders.into_iter().map(|(uri, _)| uri).collect()
        };
        for uri in targets {
            let settings = lock(&self.config).settings_for(&uri);
            if !settings.prewarm
                || settings.endpoint == Endpoint::NotConfigured
                || settings.endpoint_origin == EndpointOrigin::Workspace
            {
                continue;
            }
            let inner = self.clone();
            let warm = async move {
                let Ok(resolved) = inner.resolve(&settings, "python").await else {
                    return;
                };
                if let Err(error) = resolved.credentials.token().await {
                    tracing::info!(%error, "prewarm: no token yet");
                    return;
                }
                // Open the connection without naming a session: a request with an identifier
                // could allocate (and bill) one the user never ran.
                if let Err(error) = resolved
                    .http
                    .warm_up(&resolved.target, &resolved.credentials)
                    .await
                {
                    tracing::debug!(%error, "prewarm: the pool did not answer");
                }
                let _ = uri;
            }
            .boxed()
            .shared();
            lock(&self.warming).push(warm.clone());
            tokio::spawn(warm);
        }
    }

    /// A run that starts while the prewarm is still connecting waits for it (at most 2 s): they
    /// then share one connection (and one token fetch) instead of opening two.
    pub(super) async fn wait_for_prewarm(&self) {
        let warming: Vec<_> = lock(&self.warming).clone();
        if warming.is_empty() {
            return;
        }
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            futures::future::join_all(warming),
        )
        .await;
        lock(&self.warming).retain(|warm| warm.peek().is_none());
    }
}
