//! `azure-sessions-lsp mcp`: a Model Context Protocol server over stdio (on `rmcp`) that runs
//! code in the session the editor uses for the workspace folder: the same settings (flags and
//! environment, then the folder's `.vscode/settings.json` `azureSessions.*` keys) and the same
//! identifier derivation. Nothing falls back to the local pool unless the endpoint is `local`.

mod files;
mod run;
mod tools;

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
use crate::settings::{self, Endpoint, Settings};

/// The settings for the workspace: a flag (or its environment variable) that differs from its
/// default wins over the folder's `.vscode/settings.json`.
pub fn workspace_settings(args: &PoolArgs, workspace: &Path) -> Settings {
    let flags = args.settings();
    let Some(file) = read_vscode_settings(workspace) else {
        return flags;
    };
    let (mut merged, errors) = Settings::from_json(&Value::Object(file));
    for error in errors {
        tracing::warn!(key = error.key, "ignored setting: {}", error.message);
    }
    let defaults = crate::cli::PoolArgs {
        endpoint: String::new(),
        api: "executions".into(),
        api_version: None,
        custom_path: settings::DEFAULT_CUSTOM_PATH.into(),
        auth: "auto".into(),
        language: None,
        timeout_seconds: settings::DEFAULT_TIMEOUT_SECONDS,
        cold_start_timeout_seconds: settings::DEFAULT_COLD_START_TIMEOUT_SECONDS,
    };
    // An endpoint from the folder's own file: nothing is sent before the first tool call
    // (the pool is reached lazily anyway).
    merged.endpoint_origin = settings::EndpointOrigin::Workspace;
    if args.endpoint.trim() != defaults.endpoint {
        merged.endpoint = flags.endpoint;
        merged.endpoint_origin = settings::EndpointOrigin::User;
    }
    if args.api != defaults.api {
        merged.api = flags.api;
    }
    if args.api_version.is_some() {
        merged.api_version = flags.api_version;
    }
    if args.custom_path != defaults.custom_path {
        merged.custom_path = flags.custom_path;
    }
    if args.auth != defaults.auth {
        merged.auth = flags.auth;
    }
    if args.timeout_seconds != defaults.timeout_seconds {
        merged.timeout = flags.timeout;
    }
    if args.cold_start_timeout_seconds != defaults.cold_start_timeout_seconds {
        merged.cold_start_timeout = flags.cold_start_timeout;
    }
    merged
}

/// The `azureSessions.*` keys of `.vscode/settings.json`, prefix stripped. Comments and
/// trailing commas (JSONC) are not read: such a file is ignored with a warning.
fn read_vscode_settings(workspace: &Path) -> Option<Map<String, Value>> {
    let path = workspace.join(".vscode").join("settings.json");
    let text = std::fs::read_to_string(&path).ok()?;
    let value: Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(error) => {
            tracing::warn!("{} is not plain JSON, ignored: {error}", path.display());
            return None;
        }
    };
    let mut out = Map::new();
    for (key, value) in value.as_object()? {
        if let Some(name) = key.strip_prefix("azureSessions.") {
            out.insert(name.to_owned(), value.clone());
        } else if key == "azureSessions"
            && let Some(object) = value.as_object()
        {
            out.extend(object.clone());
        }
    }
    // Said by the editor integration, not a user setting.
    out.remove("endpointOrigin");
    (!out.is_empty()).then_some(out)
}

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
}

impl McpServer {
    pub fn new(args: &PoolArgs, workspace: &Path) -> Result<McpServer, String> {
        let workspace = std::fs::canonicalize(workspace)
            .map_err(|e| format!("cannot open the workspace {}: {e}", workspace.display()))?;
        let settings = workspace_settings(args, &workspace);
        let store = IdentityStore::open(&default_state_dir())
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
            match request.name.as_ref() {
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
pub async fn serve_stdio(args: &PoolArgs, workspace: &Path) -> Result<(), String> {
    let server = Arc::new(McpServer::new(args, workspace)?);
    let service = Handler(server.clone())
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("MCP initialization failed: {e}"))?;
    let result = service.waiting().await;
    server.shutdown().await;
    result.map(|_| ()).map_err(|e| e.to_string())
}
