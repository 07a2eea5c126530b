//! The local pool runs code as the user who started it, so every request passes this guard
//! before any route: nothing a web page can send (an `Origin`, a foreign `Host` from a DNS
//! rebinding, a "simple" body that is not `application/json`, a CORS preflight) and nothing
//! without the pool's per-start key gets through.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::PoolError;

/// What a request must carry.
pub struct Guard {
    key: String,
    /// `127.0.0.1:PORT` and `localhost:PORT`, the only `Host` values accepted.
    hosts: [String; 2],
}

impl Guard {
    pub fn new(key: String, port: u16) -> Guard {
        Guard {
            key,
            hosts: [format!("127.0.0.1:{port}"), format!("localhost:{port}")],
        }
    }
}

pub async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    match refusal(
        &guard,
        request.method(),
        request.uri().path(),
        request.headers(),
    ) {
        Some(error) => error,
        None => next.run(request).await,
    }
}

fn refusal(guard: &Guard, method: &Method, path: &str, headers: &HeaderMap) -> Option<Response> {
    // Browsers send Origin (and Sec-Fetch-*) on cross-site requests; no pool client does.
    if headers.contains_key(header::ORIGIN) || headers.contains_key("sec-fetch-mode") {
        return Some(forbidden(
            "OriginNotAllowed",
            "The local pool does not serve web pages: requests with an Origin header are refused.",
        ));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !guard.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Some(forbidden(
            "HostNotAllowed",
            format!(
                "The local pool answers only requests for {} or {}.",
                guard.hosts[0], guard.hosts[1]
            ),
        ));
    }
    if method == Method::OPTIONS {
        // No CORS allowance of any kind.
        return Some(
            PoolError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The local pool does not answer OPTIONS.",
            )
            .into_response(),
        );
    }
    if !has_key(headers, &guard.key) {
        let mut response = PoolError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "The local pool needs its key: send `Authorization: Bearer KEY` with the key that \
             `azure-sessions-lsp pool` printed (also in its key file).",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"azure-sessions-lsp local pool\""),
        );
        return Some(response);
    }
    if method == Method::POST && takes_json(path) && !is_json(headers) {
        return Some(
            PoolError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                "Execution requests must have Content-Type: application/json.",
            )
            .into_response(),
        );
    }
    None
}

fn forbidden(code: &'static str, message: impl Into<String>) -> Response {
    PoolError::new(StatusCode::FORBIDDEN, code, message).into_response()
}

/// The routes whose body is JSON: every POST but the file uploads (multipart) and the
/// `.management` calls (no body).
fn takes_json(path: &str) -> bool {
    !(path.starts_with("/files") || path.starts_with("/.management/"))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

fn has_key(headers: &HeaderMap, key: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
        })
    else {
        return false;
    };
    constant_time_eq(given.as_bytes(), key.as_bytes())
}

/// Compares without stopping at the first difference, so timing tells nothing about the key.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn status(pairs: &[(&'static str, &str)], method: Method, path: &str) -> Option<StatusCode> {
        let guard = Guard::new("k3y".to_owned(), 4000);
        refusal(&guard, &method, path, &headers(pairs)).map(|r| r.status())
    }

    const OK: [(&str, &str); 3] = [
        ("host", "127.0.0.1:4000"),
        ("authorization", "Bearer k3y"),
        ("content-type", "application/json"),
    ];

    #[test]
    fn a_well_formed_request_passes() {
        assert_eq!(status(&OK, Method::POST, "/executions"), None);
        let localhost = [
            ("host", "LocalHost:4000"),
            ("authorization", "bearer k3y"),
            ("content-type", "application/json; charset=utf-8"),
        ];
        assert_eq!(status(&localhost, Method::POST, "/python/execute"), None);
    }

    #[test]
    fn browsers_and_rebinding_are_refused() {
        let mut with_origin = OK.to_vec();
        with_origin.push(("origin", "https://evil.example"));
        assert_eq!(
            status(&with_origin, Method::POST, "/executions"),
            Some(StatusCode::FORBIDDEN)
        );
        for host in ["attacker.example:4000", "127.0.0.1:4001", "", "127.0.0.1"] {
            let mut foreign = OK.to_vec();
            foreign[0] = ("host", host);
            assert_eq!(
                status(&foreign, Method::GET, "/listSessions"),
                Some(StatusCode::FORBIDDEN),
                "{host}"
            );
        }
        assert_eq!(
            status(&OK, Method::OPTIONS, "/executions"),
            Some(StatusCode::METHOD_NOT_ALLOWED)
        );
    }

    #[test]
    fn the_key_is_required() {
        for auth in ["", "Bearer", "Bearer k3", "Bearer k3y4", "Basic k3y"] {
            let mut pairs = OK.to_vec();
            pairs[1] = ("authorization", auth);
            assert_eq!(
                status(&pairs, Method::GET, "/session"),
                Some(StatusCode::UNAUTHORIZED),
                "{auth:?}"
            );
        }
    }

    #[test]
    fn json_routes_need_json() {
        for content_type in [
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "",
        ] {
            let mut pairs = OK.to_vec();
            pairs[2] = ("content-type", content_type);
            assert_eq!(
                status(&pairs, Method::POST, "/executions"),
                Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
                "{content_type:?}"
            );
        }
        let no_type = &OK[..2];
        assert_eq!(
            status(no_type, Method::POST, "/.management/stopSession"),
            None
        );
        assert_eq!(status(no_type, Method::GET, "/files"), None);
    }
}
