//! Answers and transport failures turned into errors that say what to do.

use std::time::Duration;

use reqwest::{StatusCode, Url};

use super::client::Answer;
use super::error::{AzureErrorBody, SessionsError, snippet};
use super::{Api, PoolTarget};

/// Turns a non-success answer into an error that says what to do.
pub(super) fn error_for(pool: &PoolTarget, url: &Url, answer: &Answer) -> SessionsError {
    let header_code = answer
        .headers
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok());
    let azure = AzureErrorBody::parse(header_code, &answer.body);
    match answer.status.as_u16() {
        401 if url.scheme() == "http" => SessionsError::PoolKeyRefused {
            host: pool.host().to_owned(),
        },
        401 => SessionsError::Unauthorized,
        300..=399 => SessionsError::Redirected {
            status: answer.status.as_u16(),
            to: answer
                .headers
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|location| url.join(location).ok())
                .and_then(|target| target.host_str().map(str::to_owned))
                .unwrap_or_else(|| "an unnamed place".to_owned()),
        },
        403 => SessionsError::Forbidden,
        404 => SessionsError::NotFound {
            path: url.path().to_owned(),
            custom_hint: if pool.api == Api::Custom {
                " and azureSessions.customPath".to_owned()
            } else {
                String::new()
            },
        },
        413 => SessionsError::PayloadTooLarge,
        400 => SessionsError::BadRequest {
            code: azure.code.unwrap_or_else(|| "BadRequest".to_owned()),
            message: azure.message.unwrap_or_else(|| snippet(&answer.body)),
        },
        status => SessionsError::Http {
            status,
            message: match (azure.code, azure.message) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code,
                (None, Some(message)) => message,
                (None, None) => status_reason(answer.status),
            },
        },
    }
}

/// Whether a 400 of a custom container says it has no runtime for the language sent.
pub(super) fn names_unknown_language(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("runtime is unknown")
        || message.contains("unsupported language")
        || message.contains("unknown language")
}

pub(super) fn give_up(status: StatusCode, waited: Duration, reason: String) -> SessionsError {
    if status == StatusCode::TOO_MANY_REQUESTS {
        SessionsError::TooManyRequests { waited }
    } else if status == StatusCode::NOT_FOUND {
        SessionsError::PoolFull { waited }
    } else {
        SessionsError::NotReady {
            waited,
            last: reason,
        }
    }
}

pub(super) fn status_reason(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

pub(super) fn is_connection_refused(error: &reqwest::Error) -> bool {
    if !error.is_connect() {
        return false;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        source = current.source();
    }
    false
}

pub(super) fn transport_error(error: &reqwest::Error, timeout: Duration) -> SessionsError {
    if error.is_connect() {
        // Nothing was sent: a DNS failure, an unreachable network, a TLS or proxy failure.
        let host = host_of(error);
        let reason = super::network::explain(&host, &describe(error));
        return SessionsError::Unreachable { host, reason };
    }
    if error.is_timeout() {
        return SessionsError::Timeout { after: timeout };
    }
    SessionsError::ConnectionLost {
        reason: describe(error),
    }
}

pub(super) fn host_of(error: &reqwest::Error) -> String {
    error
        .url()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(port) => format!("{h}:{port}"),
                None => h.to_owned(),
            })
        })
        .unwrap_or_else(|| "the pool".to_owned())
}

/// The innermost causes of a transport error, without the URL (it carries the identifier).
pub(super) fn describe(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(current) = source {
        let text = current.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = current.source();
    }
    if parts.is_empty() {
        let text = error.to_string();
        parts.push(match error.url() {
            Some(url) => text.replace(url.as_str(), "the pool"),
            None => text,
        });
    }
    parts.join(": ")
}
