//! `azure-sessions-lsp mcp`: a Model Context Protocol server over stdio (on `rmcp`) that runs
//! code in the session the editor uses for the workspace folder: the same settings (flags and
//! environment, then the folder's `.vscode/settings.json` `azureSessions.*` keys) and the same
//! identifier derivation. Nothing falls back to the local pool unless the endpoint is `local`.

mod editor;
mod files;
mod run;
mod tools;
mod workspace;

pub use workspace::workspace_settings;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, InitializeResult, ListToolsResult,
    PaginatedRequestParams,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData as McpError, ServerHandler, ServiceExt};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use crate::cli::{PoolArgs, Reached};
use crate::identity::{IdentityStore, default_state_dir, session_key};
use crate::settings::{Endpoint, Settings};

/// The server's state: the settings, the session identifier, and the pool once reached.
pub struct McpServer {
    pub(crate) workspace: PathBuf,
    pub(crate) settings: Settings,
    pub(crate) language: Option<String>,
    pub(crate) store: IdentityStore,
    /// The identity key of the folder (endpoint, api, `folder:<canonical path>`).
    pub(crate) key: String,
    pub(crate) reached: Mutex<HashMap<String, Reached>>,
    pub(crate) runs: std::sync::atomic::AtomicU64,
    /// Where the identifiers' secret lives (and, without `XDG_RUNTIME_DIR`, editors' sockets).
    pub(crate) state_dir: PathBuf,
    /// `--standalone`: never go through a running editor.
    pub(crate) standalone: bool,
}

impl McpServer {
    pub fn new(args: &PoolArgs, workspace: &Path, standalone: bool) -> Result<McpServer, String> {
        let workspace = std::fs::canonicalize(workspace)
            .map_err(|e| format!("cannot open the workspace {}: {e}", workspace.display()))?;
        let settings = workspace_settings(args, &workspace);
        let state_dir = default_state_dir();
        let store = IdentityStore::open(&state_dir)
            .map_err(|e| format!("could not open the state directory: {e}"))?;
        let key = session_key(
            &settings.endpoint.identity(),
            settings.api.name(),
            &format!("folder:{}", workspace.display()),
        );
        Ok(McpServer {
            workspace,
            settings,
            language: args.language.clone(),
            store,
            key,
            reached: Mutex::new(HashMap::new()),
            runs: Default::default(),
            state_dir,
            standalone,
        })
    }

    /// The pool for a language, reached on first use: the local pool (only for `local`) is
    /// started once per language, as the editor does; a remote pool is one for all.
    pub(crate) async fn pool(
        &self,
        language: Option<&str>,
    ) -> Result<tokio::sync::MappedMutexGuard<'_, Reached>, McpError> {
        let language = language
            .map(str::to_owned)
            .or_else(|| self.language.clone())
            .unwrap_or_else(|| "python".into());
        let key = match self.settings.endpoint {
            Endpoint::Local if self.settings.api != crate::sessions::Api::Custom => {
                language.clone()
            }
            _ => String::new(),
        };
        let mut guard = self.reached.lock().await;
        if !guard.contains_key(&key) {
            let reached = crate::cli::reach(&self.settings, &language)
                .await
                .map_err(|e| McpError::internal_error(e, None))?;
            guard.insert(key.clone(), reached);
        }
        Ok(tokio::sync::MutexGuard::map(guard, |pools| {
            pools.get_mut(&key).expect("just inserted")
        }))
    }

    /// The folder's session identifier now: read from the store on every call, so a reset
    /// made in the editor is followed.
    pub(crate) fn identifier(&self) -> String {
        self.store.identifier(&self.key)
    }

    pub(crate) fn endpoint_text(&self) -> String {
        match &self.settings.endpoint {
            Endpoint::NotConfigured | Endpoint::Refused(_) => String::new(),
            Endpoint::Local => "local".to_owned(),
            Endpoint::Remote(url) => crate::sessions::without_credentials(url),
        }
    }

    async fn shutdown(&self) {
        let pools = std::mem::take(&mut *self.reached.lock().await);
        for (_, reached) in pools {
            if let Some(pool) = reached.local {
                pool.shutdown().await;
            }
        }
    }
}

/// A tool input that does not fit its schema.
pub(crate) fn invalid(message: impl Into<String>) -> McpError {
    McpError::invalid_params(message.into(), None)
}

/// A string argument.
pub(crate) fn string_arg(
    args: &Map<String, Value>,
    name: &str,
    required: bool,
) -> Result<Option<String>, McpError> {
    match args.get(name) {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(invalid(format!("`{name}` is required"))),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("`{name}` must be a string"))),
    }
}

#[derive(Clone)]
pub struct Handler(pub Arc<McpServer>);

impl ServerHandler for Handler {
    fn get_info(&self) -> InitializeResult {
        serde_json::from_value(json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {"listChanged": false}},
            "serverInfo": {"name": "azure-sessions-lsp", "version": env!("CARGO_PKG_VERSION")},
            "instructions": "Runs code in the Azure Container Apps dynamic session of this workspace folder \
                             (the same session as the editor's). State persists between runs."
        }))
        .expect("a valid initialize result")
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(serde_json::from_value(json!({ "tools": tools::all() })).expect("a valid tool list"))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let args = request.arguments.unwrap_or_default();
        let server = &self.0;
        let work = async {
            let name = request.name.as_ref();
            if matches!(
                name,
                "list_files"
                    | "upload_file"
                    | "download_file"
                    | "session_info"
                    | "reset_session"
                    | "variables"
            ) && let Some(answer) = editor::command(server, name, &args).await
            {
                return answer;
            }
            match name {
                "run_code" => run::run_code(server, &args).await,
                "run_file" => run::run_file(server, &args).await,
                "variables" => run::variables(server, &args).await,
                "list_files" => files::list(server).await,
                "upload_file" => files::upload(server, &args).await,
                "download_file" => files::download(server, &args).await,
                "session_info" => Ok(session_info(server)),
                "reset_session" => reset(server).await,
                other => Err(invalid(format!("unknown tool `{other}`"))),
            }
        };
        tokio::select! {
            result = work => result,
            () = context.ct.cancelled() => Err(McpError::internal_error("cancelled", None)),
        }
    }
}

fn session_info(server: &McpServer) -> CallToolResult {
    let info = json!({
        "endpoint": server.endpoint_text(),
        "api": server.settings.api.name(),
        "identifier": server.identifier(),
        "workspace": server.workspace.display().to_string(),
        "sharedWith": "none: no editor's language server runs for this folder",
        "runs": server.runs.load(std::sync::atomic::Ordering::Relaxed),
    });
    CallToolResult::success(vec![ContentBlock::text(
        serde_json::to_string_pretty(&info).unwrap_or_default(),
    )])
}

/// As the editor's reset: the folder moves to a new identifier (for the editor too, through
/// the state directory), and the old session is deleted where the pool allows it.
async fn reset(server: &McpServer) -> Result<CallToolResult, McpError> {
    let old = server.identifier();
    server.store.reset(&server.key).map_err(|e| {
        McpError::internal_error(format!("could not save the new identifier: {e}"), None)
    })?;
    let mut message = "The session was reset: earlier variables and files are gone; the next \
                       run starts a fresh session."
        .to_owned();
    // Reach the default pool if none was, then delete the old session in every started pool.
    drop(server.pool(None).await?);
    let pools = server.reached.lock().await;
    for reached in pools.values() {
        let pool = &reached.pool;
        if let Err(error) = pool
            .http
            .delete_session(&pool.target, &pool.credentials, &old)
            .await
        {
            message = format!(
                "The folder now uses a new session; the old one could not be deleted ({error}) \
                 and ends after the pool's cooldown."
            );
        }
    }
    Ok(CallToolResult::success(vec![ContentBlock::text(message)]))
}

/// Serves MCP over stdin/stdout until the client closes it.
pub async fn serve_stdio(
    args: &PoolArgs,
    workspace: &Path,
    standalone: bool,
) -> Result<(), String> {
    let server = Arc::new(McpServer::new(args, workspace, standalone)?);
    if !standalone && !cfg!(unix) {
        tracing::warn!(
            "this platform has no agent socket yet: running alone, with the settings of the \
             flags and .vscode/settings.json (an editor's runs are not shared)"
        );
    }
    let service = Handler(server.clone())
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("MCP initialization failed: {e}"))?;
    let result = service.waiting().await;
    server.shutdown().await;
    result.map(|_| ()).map_err(|e| e.to_string())
}
