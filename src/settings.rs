//! The `azureSessions` settings: a wire struct that accepts anything the editor sends, resolved
//! into [`Settings`] with defaults; each bad value is reported by key and replaced by its default.

use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::auth::AuthMode;
use crate::languages::Overrides;
use crate::sessions::Api;

mod schema;
pub use schema::schema;

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
    /// `languages`: the user's editor language id → pool language names, over the defaults.
    pub languages: Overrides,
    /// `stdinFile`: a file of the workspace folder given as stdin to runs on pools that take it.
    pub stdin_file: Option<PathBuf>,
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
            languages: Overrides::new(),
            stdin_file: None,
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
    languages: Option<Value>,
    stdin_file: Option<Field<String>>,
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
        let stdin_file = take("stdinFile", self.stdin_file, "a string");

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
        if let Some(path) = stdin_file.map(|p| p.trim().to_owned()) {
            let relative = std::path::Path::new(&path);
            if path.is_empty() {
                settings.stdin_file = None;
            } else if relative.components().any(|c| {
                // Only plain names: not `..`, not a root (`/x`; `\x` on Windows is rooted at the
                // current drive without being "absolute"), not a drive (`C:x`).
                !matches!(
                    c,
                    std::path::Component::Normal(_) | std::path::Component::CurDir
                )
            }) {
                errors.push(SettingError {
                    key: "stdinFile",
                    message: format!(
                        "{path:?} must be a path inside the workspace folder (relative, without ..); using none"
                    ),
                });
            } else {
                settings.stdin_file = Some(PathBuf::from(path));
            }
        }
        if let Some(value) = &self.languages {
            let (overrides, problems) = crate::languages::parse_overrides(value);
            settings.languages = overrides;
            errors.extend(problems.into_iter().map(|message| SettingError {
                key: "languages",
                message,
            }));
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

#[cfg(test)]
mod tests;
