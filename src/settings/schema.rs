//! The user's settings as a JSON schema-like table.

use serde_json::{Value, json};

use super::{
    AuthMode, COLD_START_RANGE, DEFAULT_CELL_MARKER, DEFAULT_COLD_START_TIMEOUT_SECONDS,
    DEFAULT_CUSTOM_PATH, DEFAULT_TIMEOUT_SECONDS, TIMEOUT_RANGE,
};
use crate::sessions::Api;

/// The settings as a JSON schema-like table, printed by `azure-sessions-lsp settings-schema`
/// so the VS Code extension's `contributes.configuration` can be checked against it. Only the
/// user's settings: `endpointOrigin` is set by the editor integrations, so it is left out (a
/// setting a workspace could write would defeat it).
pub fn schema() -> Value {
    json!({
        "endpoint": {"type": "string", "default": "", "description": "The session pool management endpoint: an https:// URL, http:// to a loopback address, \"local\" for the built-in local pool, or \"\" (not configured)."},
        "api": {"type": "string", "default": "executions", "enum": Api::NAMES, "description": "The wire contract: executions (2025-10-02-preview), legacy (code/execute, 2024-02-02-preview) or custom (a custom-container pool)."},
        "apiVersion": {"type": "string", "default": "", "description": "The api-version query value; empty means 2025-10-02-preview for executions, 2024-02-02-preview for legacy, none for custom."},
        "customPath": {"type": "string", "default": DEFAULT_CUSTOM_PATH, "description": "The path for api = custom; {language} is the pool's name for the document's language (see languages)."},
        "auth": {"type": "string", "default": "auto", "enum": AuthMode::NAMES, "description": "How to get an Entra ID token for https://dynamicsessions.io/.default."},
        "timeoutSeconds": {"type": "integer", "default": DEFAULT_TIMEOUT_SECONDS, "minimum": TIMEOUT_RANGE.0, "maximum": TIMEOUT_RANGE.1, "description": "How long one execution may take. Azure ends code-interpreter runs at 220 s (a larger value on a *.dynamicsessions.io pool is held at 220) and Container Apps ingress at 240 s; larger values are for custom containers and the local pool."},
        "coldStartTimeoutSeconds": {"type": "integer", "default": DEFAULT_COLD_START_TIMEOUT_SECONDS, "minimum": COLD_START_RANGE.0, "maximum": COLD_START_RANGE.1, "description": "How long to keep retrying while the pool answers 502, 503, 504 or 429, or refuses the connection."},
        "poolType": {"type": "string", "default": "auto", "enum": ["auto", "code-interpreter", "custom-container"], "description": "What kind of pool the endpoint is. auto: a custom container when api is custom or the endpoint is *.azurecontainerapps.io. Custom-container pools forward /session to the container, so session calls (reset) use /.management/* there."},
        "sessionScope": {"type": "string", "default": "workspace", "enum": ["workspace", "file"], "description": "One session per workspace folder, or one per file."},
        "diagnostics": {"type": "string", "default": "all", "enum": ["all", "errors", "off"], "description": "Which run results become diagnostics."},
        "cellMarker": {"type": "string", "default": DEFAULT_CELL_MARKER, "description": "A regular expression; a line matching it starts a cell."},
        "proxy": {"type": "string", "default": "", "description": "The HTTPS proxy for pool calls; empty follows HTTPS_PROXY/HTTP_PROXY/NO_PROXY. Loopback is never proxied."},
        "extraCaCertificates": {"type": "array", "default": [], "description": "PEM files of certificate authorities trusted for the pool connection besides the system's."},
        "prewarm": {"type": "boolean", "default": true, "description": "Fetch the token and touch the session when a workspace opens, so the first run is as fast as the next."},
        "stdinFile": {"type": "string", "default": "", "description": "A file of the workspace folder (a relative path) given as standard input to every run on a pool that takes stdin (Shell and custom-container pools), unless the run brings its own. Empty: none."},
        "languages": {"type": "object", "default": {}, "additionalProperties": {"type": "string"}, "description": "Editor language id → the language name sent to the pool ({language} in customPath, properties.language), over the built-in defaults: Piston's names (cpp → c++, shellscript → bash, csharp → csharp.net, typescriptreact → typescript, …). Code-interpreter pools run python and javascript only."},
    })
}
