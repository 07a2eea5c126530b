//! Azure-shaped error responses: `{"error":{"code","message","traceId"}}` plus `x-ms-error-code`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to the client the way the Azure data plane answers it.
#[derive(Debug, Clone)]
pub struct PoolError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl PoolError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "SessionRequestValidationFailed",
            message,
        )
    }

    pub fn code_missing() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "SessionPropertiesMissing",
            "code is required but not provided",
        )
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn invalid_file_path(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "FilePathInvalid",
            format!(
                "File Path '{}' is invalid because 'path cannot contain any reserved file path characters'.",
                shorten(name)
            ),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            message,
        )
    }
}

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for PoolError {}

impl IntoResponse for PoolError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "traceId": uuid::Uuid::new_v4().to_string(),
            }
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        response
            .headers_mut()
            .insert("x-ms-error-code", HeaderValue::from_static(self.code));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        response
    }
}

/// Echoing user input into messages is useful, but never unbounded.
pub fn shorten(s: &str) -> String {
    const MAX: usize = 160;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}…")
    }
}
