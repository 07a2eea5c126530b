//! The `azureSessions` settings: a wire struct that accepts anything the editor sends, resolved
//! into [`Settings`] with defaults; each bad value is reported by key and replaced by its default.

use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::AuthMode;
use crate::sessions::Api;

pub const DEFAULT_TIMEOUT_SECONDS: u64 = 220;
pub const DEFAULT_COLD_START_TIMEOUT_SECONDS: u64 = 60;
pub const DEFAULT_CELL_MARKER: &str = r"^\s*(#|//)\s*%%";
pub const DEFAULT_CUSTOM_PATH: &str = "{language}/execute";
const TIMEOUT_RANGE: (u64, u64) = (1, 3600);
/// Azure ends a code-interpreter run at 220 s (sessions-code-interpreter.md).
pub const AZURE_RUN_LIMIT: Duration = Duration::from_secs(220);

/// Code-interpreter pools live at `<region>.dynamicsessions.io`.
pub fn is_code_interpreter_host(url: &str) -> bool {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.to_ascii_lowercase()))
        .is_some_and(|h| h.ends_with(".dynamicsessions.io"))
}
const COLD_START_RANGE: (u64, u64) = (0, 600);

/// Where code runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `""`: a run fails with a message naming `azureSessions.endpoint`.
    NotConfigured,
    /// `"local"`: the built-in local pool, started by the server itself.
    Local,
    Remote(String),
    /// A value that cannot be used (plain http off loopback, not a URL): every run names it and
    /// says why, instead of claiming that nothing is configured.
    Refused(String),
}

impl Endpoint {
    /// Reads the setting's text: `""`, `"local"`, or a URL that [`crate::sessions::PoolTarget`]
    /// accepts (the error says why not, without any credentials written into the URL).
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            Ok(Endpoint::NotConfigured)
        } else if trimmed.eq_ignore_ascii_case("local") {
            Ok(Endpoint::Local)
        } else {
            crate::sessions::PoolTarget::new(trimmed, Api::Executions, None, "")
                .map(|_| Endpoint::Remote(trimmed.to_owned()))
                .map_err(|e| e.to_string())
        }
    }

    /// The endpoint as it enters session identifiers: `local`, or the URL with scheme and host
    /// lowercased, the default port, query, fragment and trailing `/` left out, so that spellings
    /// of one pool give one session and different pools never share one.
    pub fn identity(&self) -> String {
        match self {
            Endpoint::NotConfigured | Endpoint::Refused(_) => "none".to_owned(),
            Endpoint::Local => "local".to_owned(),
            Endpoint::Remote(url) => match reqwest::Url::parse(url) {
                Ok(mut url) => {
                    url.set_query(None);
                    url.set_fragment(None);
                    url.to_string().trim_end_matches('/').to_owned()
                }
                Err(_) => url.trim().to_owned(),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionScope {
    Workspace,
    File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiagnosticsLevel {
    All,
    Errors,
    Off,
}

/// Who chose the endpoint, as the editor integration tells (`endpointOrigin`, not a user setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointOrigin {
    /// User or machine settings: prewarmed at `initialized`.
    User,
    /// The workspace's own settings (`.vscode/settings.json`, an exrc file): no token and no
    /// request before the user's first run there, so opening a folder sends nothing.
    Workspace,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub endpoint: Endpoint,
    pub api: Api,
    pub api_version: Option<String>,
    pub custom_path: String,
    pub auth: AuthMode,
    pub timeout: Duration,
    pub cold_start_timeout: Duration,
    pub session_scope: SessionScope,
    pub diagnostics: DiagnosticsLevel,
    pub cell_marker: Regex,
    pub proxy: String,
    pub extra_ca_certificates: Vec<PathBuf>,
    pub prewarm: bool,
    pub endpoint_origin: EndpointOrigin,
    /// `poolType`: `None` (auto: from the api and the endpoint's host), `Some(true)` a
    /// custom-container pool, `Some(false)` a code-interpreter pool.
    pub custom_container: Option<bool>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            endpoint: Endpoint::NotConfigured,
            api: Api::Executions,
            api_version: None,
            custom_path: DEFAULT_CUSTOM_PATH.to_owned(),
            auth: AuthMode::Auto,
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECONDS),
            cold_start_timeout: Duration::from_secs(DEFAULT_COLD_START_TIMEOUT_SECONDS),
            session_scope: SessionScope::Workspace,
            diagnostics: DiagnosticsLevel::All,
            cell_marker: Regex::new(DEFAULT_CELL_MARKER).expect("the default cell marker is valid"),
            proxy: String::new(),
            extra_ca_certificates: Vec::new(),
            prewarm: true,
            endpoint_origin: EndpointOrigin::User,
            custom_container: None,
        }
    }
}

/// A value as sent: the expected type, or anything else (reported, then replaced by the default).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Field<T> {
    Valid(T),
    Invalid(Value),
}

/// What the editor sends; every key optional and tolerant of wrong types.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WireSettings {
    endpoint: Option<Field<String>>,
    api: Option<Field<String>>,
    api_version: Option<Field<String>>,
    custom_path: Option<Field<String>>,
    auth: Option<Field<String>>,
    timeout_seconds: Option<Field<f64>>,
    cold_start_timeout_seconds: Option<Field<f64>>,
    session_scope: Option<Field<String>>,
    diagnostics: Option<Field<String>>,
    cell_marker: Option<Field<String>>,
    proxy: Option<Field<String>>,
    extra_ca_certificates: Option<Field<Vec<String>>>,
    prewarm: Option<Field<bool>>,
    endpoint_origin: Option<Field<String>>,
    pool_type: Option<Field<String>>,
}

/// One bad value: the key (as the user writes it) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub key: &'static str,
    pub message: String,
}

impl std::fmt::Display for SettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "azureSessions.{}: {}", self.key, self.message)
    }
}

impl Settings {
    /// Reads settings from `{"azureSessions": {...}}` or the bare object. Anything that is not an
    /// object (null included) gives the defaults.
    pub fn from_json(value: &Value) -> (Settings, Vec<SettingError>) {
        let inner = value.get("azureSessions").unwrap_or(value);
        let wire = match inner {
            Value::Object(_) => WireSettings::deserialize(inner).unwrap_or_default(),
            _ => WireSettings::default(),
        };
        wire.resolve()
    }
}

impl WireSettings {
    fn resolve(self) -> (Settings, Vec<SettingError>) {
        let mut errors = Vec::new();
        let defaults = Settings::default();
        let mut take =
            |key: &'static str, field: Option<Field<String>>, expected: &str| -> Option<String> {
                match field {
                    None => None,
                    Some(Field::Valid(text)) => Some(text),
                    Some(Field::Invalid(value)) => {
                        errors.push(SettingError {
                            key,
                            message: format!("expected {expected}, got {value}; using the default"),
                        });
                        None
                    }
                }
            };
        let endpoint = take("endpoint", self.endpoint, "a string");
        let api = take("api", self.api, "a string");
        let api_version = take("apiVersion", self.api_version, "a string");
        let custom_path = take("customPath", self.custom_path, "a string");
        let auth = take("auth", self.auth, "a string");
        let session_scope = take("sessionScope", self.session_scope, "a string");
        let pool_type = take("poolType", self.pool_type, "a string");
        let diagnostics = take("diagnostics", self.diagnostics, "a string");
        let cell_marker = take("cellMarker", self.cell_marker, "a string");
        let proxy = take("proxy", self.proxy, "a string");
        let endpoint_origin = take("endpointOrigin", self.endpoint_origin, "a string");

        let mut settings = defaults;
        if let Some(endpoint) = endpoint {
            settings.endpoint = Endpoint::parse(&endpoint).unwrap_or_else(|reason| {
                errors.push(SettingError {
                    key: "endpoint",
                    message: reason.clone(),
                });
                Endpoint::Refused(reason)
            });
        }
        if let Some(api) = api {
            match Api::parse(&api) {
                Some(api) => settings.api = api,
                None => errors.push(one_of("api", &api, &Api::NAMES)),
            }
        }
        settings.api_version = api_version
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        if let Some(path) = custom_path {
            let path = path.trim().trim_matches('/').to_owned();
            if path.is_empty() {
                errors.push(SettingError {
                    key: "customPath",
                    message: format!("must not be empty; using {DEFAULT_CUSTOM_PATH:?}"),
                });
            } else {
                settings.custom_path = path;
            }
        }
        if let Some(auth) = auth {
            match AuthMode::parse(&auth) {
                Some(mode) => settings.auth = mode,
                None => errors.push(one_of("auth", &auth, &AuthMode::NAMES)),
            }
        }
        settings.timeout = seconds(
            "timeoutSeconds",
            self.timeout_seconds,
            TIMEOUT_RANGE,
            DEFAULT_TIMEOUT_SECONDS,
            &mut errors,
        );
        // Azure ends a code-interpreter run at 220 s: a larger value would promise what the
        // service will not do, so it is reported once and held there.
        if settings.timeout > AZURE_RUN_LIMIT
            && let Endpoint::Remote(url) = &settings.endpoint
            && is_code_interpreter_host(url)
        {
            errors.push(SettingError {
                key: "timeoutSeconds",
                message: format!(
                    "{} s is beyond what Azure allows: code-interpreter pools end a run at 220 s \
                     (and Container Apps ingress at 240 s); using 220",
                    settings.timeout.as_secs()
                ),
            });
            settings.timeout = AZURE_RUN_LIMIT;
        }
        settings.cold_start_timeout = seconds(
            "coldStartTimeoutSeconds",
            self.cold_start_timeout_seconds,
            COLD_START_RANGE,
            DEFAULT_COLD_START_TIMEOUT_SECONDS,
            &mut errors,
        );
        if let Some(kind) = pool_type {
            match kind.as_str() {
                "auto" => settings.custom_container = None,
                "code-interpreter" => settings.custom_container = Some(false),
                "custom-container" => settings.custom_container = Some(true),
                _ => errors.push(one_of(
                    "poolType",
                    &kind,
                    &["auto", "code-interpreter", "custom-container"],
                )),
            }
        }
        if let Some(scope) = session_scope {
            match scope.as_str() {
                "workspace" => settings.session_scope = SessionScope::Workspace,
                "file" => settings.session_scope = SessionScope::File,
                _ => errors.push(one_of("sessionScope", &scope, &["workspace", "file"])),
            }
        }
        if let Some(level) = diagnostics {
            match level.as_str() {
                "all" => settings.diagnostics = DiagnosticsLevel::All,
                "errors" => settings.diagnostics = DiagnosticsLevel::Errors,
                "off" => settings.diagnostics = DiagnosticsLevel::Off,
                _ => errors.push(one_of("diagnostics", &level, &["all", "errors", "off"])),
            }
        }
        if let Some(marker) = cell_marker {
            match regex::RegexBuilder::new(&marker)
                .size_limit(1 << 20)
                .build()
            {
                Ok(regex) if !marker.is_empty() => settings.cell_marker = regex,
                Ok(_) => errors.push(SettingError {
                    key: "cellMarker",
                    message: "must not be empty; using the default".to_owned(),
                }),
                Err(error) => errors.push(SettingError {
                    key: "cellMarker",
                    message: format!(
                        "is not a valid regular expression ({error}); using the default"
                    ),
                }),
            }
        }
        if let Some(proxy) = proxy {
            let proxy = proxy.trim().to_owned();
            if proxy.is_empty() || reqwest::Url::parse(&proxy).is_ok() {
                settings.proxy = proxy;
            } else {
                errors.push(SettingError {
                    key: "proxy",
                    message: format!("{proxy:?} is not a URL; following HTTPS_PROXY instead"),
                });
            }
        }
        match self.extra_ca_certificates {
            None => {}
            Some(Field::Valid(paths)) => {
                settings.extra_ca_certificates = paths
                    .into_iter()
                    .filter(|p| !p.trim().is_empty())
                    .map(PathBuf::from)
                    .collect()
            }
            Some(Field::Invalid(value)) => errors.push(SettingError {
                key: "extraCaCertificates",
                message: format!("expected a list of paths, got {value}; using none"),
            }),
        }
        match self.prewarm {
            None => {}
            Some(Field::Valid(on)) => settings.prewarm = on,
            Some(Field::Invalid(value)) => errors.push(SettingError {
                key: "prewarm",
                message: format!("expected true or false, got {value}; using true"),
            }),
        }
        if let Some(origin) = endpoint_origin {
            match origin.as_str() {
                "user" => settings.endpoint_origin = EndpointOrigin::User,
                "workspace" => settings.endpoint_origin = EndpointOrigin::Workspace,
                _ => errors.push(one_of("endpointOrigin", &origin, &["user", "workspace"])),
            }
        }
        (settings, errors)
    }
}

fn one_of(key: &'static str, got: &str, allowed: &[&str]) -> SettingError {
    SettingError {
        key,
        message: format!(
            "{got:?} is not one of {}; using the default",
            allowed
                .iter()
                .map(|a| format!("{a:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn seconds(
    key: &'static str,
    field: Option<Field<f64>>,
    (min, max): (u64, u64),
    default: u64,
    errors: &mut Vec<SettingError>,
) -> Duration {
    match field {
        None => Duration::from_secs(default),
        Some(Field::Valid(value))
            if value.is_finite() && value >= min as f64 && value <= max as f64 =>
        {
            Duration::from_secs_f64(value)
        }
        Some(Field::Valid(value)) => {
            errors.push(SettingError {
                key,
                message: format!("{value} is outside {min} to {max}; using {default}"),
            });
            Duration::from_secs(default)
        }
        Some(Field::Invalid(value)) => {
            errors.push(SettingError {
                key,
                message: format!("expected a number of seconds, got {value}; using {default}"),
            });
            Duration::from_secs(default)
        }
    }
}

/// The settings as a JSON schema-like table, printed by `azure-sessions-lsp settings-schema`
/// so the VS Code extension's `contributes.configuration` can be checked against it. Only the
/// user's settings: `endpointOrigin` is set by the editor integrations, so it is left out (a
/// setting a workspace could write would defeat it).
pub fn schema() -> Value {
    json!({
        "endpoint": {"type": "string", "default": "", "description": "The session pool management endpoint: an https:// URL, http:// to a loopback address, \"local\" for the built-in local pool, or \"\" (not configured)."},
        "api": {"type": "string", "default": "executions", "enum": Api::NAMES, "description": "The wire contract: executions (2025-10-02-preview), legacy (code/execute, 2024-02-02-preview) or custom (a custom-container pool)."},
        "apiVersion": {"type": "string", "default": "", "description": "The api-version query value; empty means 2025-10-02-preview for executions, 2024-02-02-preview for legacy, none for custom."},
        "customPath": {"type": "string", "default": DEFAULT_CUSTOM_PATH, "description": "The path for api = custom; {language} is the document's language id."},
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_for_nothing() {
        let (settings, errors) = Settings::from_json(&Value::Null);
        assert!(errors.is_empty());
        assert_eq!(settings.endpoint, Endpoint::NotConfigured);
        assert_eq!(settings.api, Api::Executions);
        assert_eq!(settings.timeout, Duration::from_secs(220));
    }

    #[test]
    fn wrapped_and_bare_objects() {
        let (a, _) =
            Settings::from_json(&json!({"azureSessions": {"endpoint": "local", "api": "legacy"}}));
        let (b, _) = Settings::from_json(&json!({"endpoint": "local", "api": "legacy"}));
        assert_eq!(a.endpoint, Endpoint::Local);
        assert_eq!(b.api, Api::Legacy);
    }

    #[test]
    fn each_bad_value_is_reported_by_key_and_the_rest_kept() {
        let (settings, errors) = Settings::from_json(&json!({
            "endpoint": "https://pool.example.io",
            "api": "soap",
            "timeoutSeconds": "ten",
            "coldStartTimeoutSeconds": 9000,
            "cellMarker": "(",
            "auth": 3,
            "sessionScope": "file",
            "extraCaCertificates": "x.pem",
            "prewarm": null,
        }));
        let keys: Vec<_> = errors.iter().map(|e| e.key).collect();
        assert_eq!(
            keys,
            vec![
                "auth",
                "api",
                "timeoutSeconds",
                "coldStartTimeoutSeconds",
                "cellMarker",
                "extraCaCertificates"
            ]
        );
        assert_eq!(
            settings.endpoint,
            Endpoint::Remote("https://pool.example.io".into())
        );
        assert_eq!(settings.api, Api::Executions);
        assert_eq!(settings.timeout, Duration::from_secs(220));
        assert_eq!(settings.session_scope, SessionScope::File);
        assert!(errors[0].to_string().starts_with("azureSessions.auth:"));
    }

    #[test]
    fn runs_longer_than_azure_allows_are_reported_and_held_at_220_s() {
        let (settings, errors) = Settings::from_json(&json!({
            "endpoint": "https://eastus.dynamicsessions.io/subscriptions/s/resourceGroups/g/sessionPools/p",
            "timeoutSeconds": 600,
        }));
        assert_eq!(settings.timeout, Duration::from_secs(220));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("220 s"), "{}", errors[0].message);
        // Custom containers and the local pool may run longer.
        for endpoint in ["https://p.env.eastus.azurecontainerapps.io", "local"] {
            let (settings, errors) =
                Settings::from_json(&json!({"endpoint": endpoint, "timeoutSeconds": 600}));
            assert_eq!(settings.timeout, Duration::from_secs(600));
            assert!(errors.is_empty());
        }
    }

    #[test]
    fn insecure_endpoints_are_refused_at_settings_time() {
        let (settings, errors) =
            Settings::from_json(&json!({"endpoint": "http://pool.example.io"}));
        let Endpoint::Refused(reason) = &settings.endpoint else {
            panic!("{:?}", settings.endpoint)
        };
        assert!(reason.contains("http://pool.example.io"), "{reason}");
        assert!(reason.contains("loopback"), "{reason}");
        assert_eq!(errors[0].key, "endpoint");
        let (settings, _) =
            Settings::from_json(&json!({"endpoint": "https://user:hunter2@pool.example.io"}));
        let Endpoint::Refused(reason) = &settings.endpoint else {
            panic!("{:?}", settings.endpoint)
        };
        assert!(!reason.contains("hunter2"), "{reason}");
    }

    #[test]
    fn schema_defaults_match_the_resolved_defaults() {
        let schema = schema();
        let (defaults, _) = Settings::from_json(&Value::Null);
        assert_eq!(
            schema["timeoutSeconds"]["default"],
            json!(defaults.timeout.as_secs())
        );
        assert_eq!(
            schema["cellMarker"]["default"],
            json!(defaults.cell_marker.as_str())
        );
        assert_eq!(schema.as_object().unwrap().len(), 14);
        assert!(schema.get("endpointOrigin").is_none(), "not a user setting");
        assert_eq!(schema["poolType"]["default"], "auto");
    }

    #[test]
    fn pool_type_says_what_kind_of_pool_the_endpoint_is() {
        for (value, expected) in [
            ("auto", None),
            ("code-interpreter", Some(false)),
            ("custom-container", Some(true)),
        ] {
            let (settings, errors) = Settings::from_json(&json!({"poolType": value}));
            assert!(errors.is_empty(), "{value}");
            assert_eq!(settings.custom_container, expected, "{value}");
        }
        let (settings, errors) = Settings::from_json(&json!({"poolType": "byoc"}));
        assert_eq!(settings.custom_container, None);
        assert_eq!(errors[0].key, "poolType");
    }

    #[test]
    fn endpoint_origin_defaults_to_user_and_a_bad_value_is_reported() {
        let (settings, errors) = Settings::from_json(&Value::Null);
        assert!(errors.is_empty());
        assert_eq!(settings.endpoint_origin, EndpointOrigin::User);
        let (settings, errors) = Settings::from_json(&json!({"endpointOrigin": "workspace"}));
        assert!(errors.is_empty());
        assert_eq!(settings.endpoint_origin, EndpointOrigin::Workspace);
        for bad in [json!("folder"), json!(true)] {
            let (settings, errors) = Settings::from_json(&json!({"endpointOrigin": bad}));
            assert_eq!(settings.endpoint_origin, EndpointOrigin::User);
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].key, "endpointOrigin");
        }
    }
}
