//! The HTTP surface: Azure's data-plane routes (executions, legacy `code/execute`, the custom
//! container style `/{language}/execute`, sessions, metadata) mapped onto the session registry
//! (the custom route onto the Piston-like jobs of `piston`).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use regex::Regex;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::OnceCell;

use super::Language;
use super::errors::{PoolError, shorten};
use super::executions;
use super::files;
use super::session::{Registry, SessionView, Settings};

/// Largest JSON body accepted by the execution routes.
pub const MAX_JSON_BODY: usize = 32 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub registry: Arc<Registry>,
    pub settings: Arc<Settings>,
    pub started_at: OffsetDateTime,
    pub runtimes: Arc<OnceCell<Vec<Value>>>,
    /// The custom route's runtimes and jobs.
    pub piston: Arc<super::piston::Piston>,
    /// The process groups to kill when the pool goes.
    pub processes: super::interpreter::ProcessTable,
}

pub fn router(state: AppState, guard: super::guard::Guard) -> Router {
    Router::new()
        .route("/executions", post(executions::executions))
        .route(
            "/executions/{execution_id}",
            get(executions::execution_record),
        )
        .route("/code/execute", post(executions::legacy_execute))
        .route("/{language}/execute", post(executions::custom_execute))
        .route(
            "/files",
            get(files::list)
                .post(files::upload)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/files/upload",
            post(files::legacy_upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/files/content/{*name}", get(files::legacy_content))
        .route("/files/{name}", get(files::get).delete(files::delete))
        .route("/files/{name}/content", get(files::content))
        .route("/session", get(get_session).delete(delete_session))
        .route("/listSessions", get(list_sessions))
        .route("/metadata", get(metadata))
        .route("/.management/stopSession", post(management_stop))
        .route("/.management/getSession", post(management_get))
        .route("/.management/listSessions", post(management_list))
        .fallback(unknown_route)
        .method_not_allowed_fallback(unknown_route)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(guard),
            super::guard::check,
        ))
        .with_state(state)
}

pub async fn unknown_route(method: Method, uri: Uri) -> PoolError {
    PoolError::not_found(
        "NotFound",
        format!(
            "The local pool does not serve {method} {}.",
            shorten(uri.path())
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Query parameters

static IDENTIFIER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^[A-Za-z0-9_|}{\[\]:"';<>?/.,@#$%^&*()\-+=!~`]{4,128}$"#)
        .unwrap_or_else(|e| panic!("identifier pattern: {e}"))
});
static API_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
        .unwrap_or_else(|e| panic!("api-version pattern: {e}"))
});

/// The query of one request, keys compared case-insensitively as Azure does.
pub struct Request {
    query: HashMap<String, String>,
}

impl Request {
    pub fn new(uri: &Uri) -> Self {
        let pairs: HashMap<String, String> = Query::try_from_uri(uri)
            .map(|Query(q)| q)
            .unwrap_or_default();
        let query = pairs
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        Self { query }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    /// Requires a well-formed `api-version` (every route except the custom-container one).
    pub fn with_api_version(self) -> Result<Self, PoolError> {
        match self.get("api-version") {
            None | Some("") => Err(PoolError::validation("api-version is required")),
            Some(v) if API_VERSION.is_match(v) => Ok(self),
            Some(v) => Err(PoolError::new(
                StatusCode::BAD_REQUEST,
                "InvalidApiVersion",
                format!(
                    "The api-version '{}' is invalid: expected YYYY-MM-DD or YYYY-MM-DD-preview, for example 2025-10-02-preview.",
                    shorten(v)
                ),
            )),
        }
    }

    pub fn api_version(&self) -> &str {
        self.get("api-version").unwrap_or_default()
    }

    pub fn identifier(&self) -> Result<&str, PoolError> {
        match self.get("identifier") {
            None | Some("") => Err(PoolError::validation(
                "The identifier query parameter is required: a session identifier of 4 to 128 characters.",
            )),
            Some(id) if IDENTIFIER.is_match(id) => Ok(id),
            Some(id) => Err(PoolError::validation(format!(
                "The identifier '{}' is invalid: it must be 4 to 128 characters of letters, digits and _|{{}}[]:\"';<>?/.,@#$%^&*()-+=!~`.",
                shorten(id)
            ))),
        }
    }
}

/// Versions before 2024-10-02-preview speak the legacy files contract.
pub fn is_legacy(api_version: &str) -> bool {
    api_version
        .get(..10)
        .is_some_and(|date| date < "2024-10-02")
}

pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Sessions and metadata

fn session_json(view: &SessionView, expires_key: &str) -> Value {
    let mut value = json!({
        "identifier": view.identifier,
        "createdAt": timestamp(view.created_at),
        "lastAccessedAt": timestamp(view.last_accessed_at),
        "etag": view.etag,
    });
    value[expires_key] = Value::from(timestamp(view.expires_at));
    value
}

/// `GET /session`: 404 for an identifier the pool does not know (it is not allocated here).
async fn get_session(State(app): State<AppState>, uri: Uri) -> Result<Response, PoolError> {
    let req = Request::new(&uri).with_api_version()?;
    let identifier = req.identifier()?;
    let session = app.registry.get(identifier).ok_or_else(|| {
        PoolError::not_found(
            "SessionNotFound",
            format!(
                "No session with identifier '{}' exists in the local pool.",
                shorten(identifier)
            ),
        )
    })?;
    Ok(axum::Json(session_json(&session.view(), "expireAt")).into_response())
}

/// `DELETE /session`: kills the interpreters and deletes the files; the identifier can be reused.
async fn delete_session(State(app): State<AppState>, uri: Uri) -> Result<Response, PoolError> {
    let req = Request::new(&uri).with_api_version()?;
    app.registry.remove(req.identifier()?).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_sessions(State(app): State<AppState>, uri: Uri) -> Result<Response, PoolError> {
    Request::new(&uri).with_api_version()?;
    let sessions: Vec<Value> = app
        .registry
        .list()
        .iter()
        .map(|s| session_json(&s.view(), "expireAt"))
        .collect();
    Ok(axum::Json(json!({ "sessions": sessions, "nextLink": null })).into_response())
}

fn session_missing(identifier: &str) -> PoolError {
    PoolError::new(
        StatusCode::BAD_REQUEST,
        "SessionWithIdentifierNotFound",
        format!(
            "Session with identifier '{}' was not found in session pool local.",
            shorten(identifier)
        ),
    )
}

async fn management_stop(State(app): State<AppState>, uri: Uri) -> Result<Response, PoolError> {
    let req = Request::new(&uri).with_api_version()?;
    let identifier = req.identifier()?;
    if !app.registry.remove(identifier).await {
        return Err(session_missing(identifier));
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("Session {identifier} in session pool local stopped."),
    )
        .into_response())
}

async fn management_get(State(app): State<AppState>, uri: Uri) -> Result<Response, PoolError> {
    let req = Request::new(&uri).with_api_version()?;
    let identifier = req.identifier()?;
    let session = app
        .registry
        .get(identifier)
        .ok_or_else(|| session_missing(identifier))?;
    Ok(axum::Json(session_json(&session.view(), "expiresAt")).into_response())
}

async fn management_list(State(app): State<AppState>, uri: Uri) -> Result<Response, PoolError> {
    Request::new(&uri).with_api_version()?;
    let value: Vec<Value> = app
        .registry
        .list()
        .iter()
        .map(|s| session_json(&s.view(), "expiresAt"))
        .collect();
    let count = value.len();
    Ok(axum::Json(json!({ "value": value, "count": count, "nextLink": null })).into_response())
}

/// `GET /metadata`: the runtimes this machine offers, the pool's language first.
async fn metadata(State(app): State<AppState>, uri: Uri) -> Result<Response, PoolError> {
    Request::new(&uri).with_api_version()?;
    let runtimes = app
        .runtimes
        .get_or_init(|| detect_runtimes(app.settings.clone()))
        .await
        .clone();
    Ok(axum::Json(json!({
        "runtimes": runtimes,
        "preInstalledPackages": [],
        "createdAt": timestamp(app.started_at),
        "lastUpdatedAt": timestamp(app.started_at),
        "jupyterKernel": null,
    }))
    .into_response())
}

async fn detect_runtimes(settings: Arc<Settings>) -> Vec<Value> {
    let mut order = vec![Language::Python, Language::JavaScript, Language::Shell];
    order.sort_by_key(|l| *l != settings.language);
    let mut runtimes = Vec::new();
    for language in order {
        let (program, args): (&str, &[&str]) = match language {
            Language::Python => (
                &settings.python.program,
                &["-c", "import platform; print(platform.python_version())"],
            ),
            Language::JavaScript => (&settings.javascript.program, &["--version"]),
            Language::Shell => ("bash", &["-c", "echo $BASH_VERSION"]),
        };
        let run = tokio::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        if let Ok(Ok(out)) = tokio::time::timeout(Duration::from_secs(10), run).await
            && out.status.success()
        {
            let version = String::from_utf8_lossy(&out.stdout)
                .trim()
                .trim_start_matches('v')
                .to_string();
            runtimes.push(json!({ "name": language.as_str(), "version": version }));
        }
    }
    runtimes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_versions_are_older_than_2024_10_02() {
        assert!(is_legacy("2024-02-02-preview"));
        assert!(is_legacy("2024-08-02-preview"));
        assert!(!is_legacy("2024-10-02-preview"));
        assert!(!is_legacy("2025-10-02-preview"));
    }

    #[test]
    fn identifiers_follow_the_spec_pattern() {
        let req = |id: &str| {
            let uri: Uri = format!("/x?identifier={}", percent_encode(id))
                .parse()
                .unwrap();
            Request::new(&uri).identifier().is_ok()
        };
        assert!(req("abcd"));
        assert!(req("a|b-c&d^e%f$g#h(i){j}[k];<l>"));
        assert!(!req("abc"));
        assert!(!req(&"a".repeat(129)));
        assert!(!req("with space"));
    }
}
