//! `azure-sessions.exportNotebook`: the session's runs written as an nbformat 4 notebook.

use std::sync::Arc;

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc;

use super::config::local_path;
use super::protocol::ExportArgs;
use super::protocol::invalid_params;
use super::{Inner, lock};
use crate::notebook::{self, RunRecord};

/// Runs kept for the notebook per session (the oldest go first).
pub const MAX_RECORDED_RUNS: usize = 1000;

/// Adds a run to a session's history, dropping the oldest beyond the limit.
pub fn record(history: &mut Vec<RunRecord>, run: RunRecord) {
    if history.len() >= MAX_RECORDED_RUNS {
        history.remove(0);
    }
    history.push(run);
}

impl Inner {
    pub(super) async fn export_notebook(
        self: &Arc<Self>,
        args: ExportArgs,
    ) -> jsonrpc::Result<Value> {
        let target = local_path(&args.target_uri)
            .ok_or_else(|| invalid_params("exportNotebook expects targetUri to be a file: URI"))?;
        let (session, _) = match &args.uri {
            Some(uri) => self.session_for(uri.as_str()),
            None => self.default_session(),
        }
        .map_err(invalid_params)?;
        let (runs, language) = {
            let state = lock(&session.state);
            (state.history.clone(), state.language.clone())
        };
        let language = language.unwrap_or_else(|| "python".to_owned());
        let cells = runs.len();
        // Reading saved images and writing the file: off the LSP thread.
        let written = tokio::task::spawn_blocking(move || {
            let notebook = notebook::notebook(&runs, &language);
            let text = serde_json::to_string_pretty(&notebook).map_err(|e| e.to_string())?;
            std::fs::write(&target, text + "\n").map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        written.map_err(|e| self.fail(format!("could not write the notebook: {e}")))?;
        Ok(json!({"targetUri": args.target_uri, "cells": cells}))
    }
}
