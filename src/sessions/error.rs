//! Errors of the sessions client. Each message says what happened and what to do,
//! because it reaches the user as is (CLI stderr, `window/showMessage`).

use std::time::Duration;

use crate::auth::AuthError;

#[derive(Debug, thiserror::Error)]
pub enum SessionsError {
    #[error(
        "no session pool is configured: set azureSessions.endpoint to the pool management endpoint \
         (`az containerapp sessionpool show -n POOL -g GROUP --query properties.poolManagementEndpoint`), \
         or to \"local\" to run code on this machine"
    )]
    NotConfigured,

    #[error("azureSessions.endpoint {endpoint:?} is not a valid URL: {reason}")]
    InvalidEndpoint { endpoint: String, reason: String },

    #[error(
        "azureSessions.endpoint {endpoint} is refused: plain http:// is allowed only to a loopback \
         address (127.0.0.0/8, ::1, localhost), since the code and the token would cross the \
         network unencrypted; use the pool's https:// endpoint"
    )]
    InsecureEndpoint { endpoint: String },

    #[error(
        "the pool rejected the token (401 Unauthorized): run `az login` (or check the identity used), \
         and make sure the token's audience is https://dynamicsessions.io"
    )]
    Unauthorized,

    #[error(
        "the pool at {host} wants a key (401): for the local pool started with \
         `azure-sessions-lsp pool`, its key file is found by port (or set AZURE_SESSIONS_POOL_KEY); \
         Azure tokens are never sent over plain http"
    )]
    PoolKeyRefused { host: String },

    #[error(
        "the pool answered with a redirect (HTTP {status}) to {to}; redirects are not followed: \
         set azureSessions.endpoint to the pool management endpoint itself"
    )]
    Redirected { status: u16, to: String },

    #[error(
        "access denied (403 Forbidden): the signed-in identity needs the role \
         \"Azure ContainerApps Session Executor\" on the session pool (and, where the pool's \
         docs ask for it, \"Contributor\"); role assignments can take a minute or two to apply"
    )]
    Forbidden,

    #[error(
        "stdin is taken only by Shell and custom-container pools; this run goes to a {language} \
         code-interpreter pool, which refuses it: run without stdin, or read the input from a file \
         uploaded to the session"
    )]
    StdinNotTaken { language: String },

    #[error(
        "not found (404) at {path}: check azureSessions.endpoint (the pool management endpoint) \
         and azureSessions.api{custom_hint}"
    )]
    NotFound { path: String, custom_hint: String },

    #[error(
        "the file name {name:?} cannot go to the session: {reason} (Azure takes letters, digits, \
         spaces and - _ . @ $ & = ; , # % ^ ( ) in file names)"
    )]
    InvalidFileName { name: String, reason: String },

    #[error("the pool refused the request (400 {code}): {message}")]
    BadRequest { code: String, message: String },

    #[error(
        "the pool cannot run {language} (it answered: {message}): map this document's language to \
         a name the pool runs with azureSessions.languages, or install that runtime in the container"
    )]
    UnknownLanguage { language: String, message: String },

    #[error("the request is too large for the pool (413): files and code are limited to 128 MB")]
    PayloadTooLarge,

    #[error(
        "the pool is busy or at its session limit (429) and did not accept the run within {waited:.0?}: \
         try again shortly, or raise azureSessions.coldStartTimeoutSeconds"
    )]
    TooManyRequests { waited: Duration },

    #[error(
        "the pool answered 404 for {waited:.0?} after it had answered before: the pool may be at \
         its session limit (maxConcurrentSessions); try again shortly, raise the pool's \
         --max-sessions, or raise azureSessions.coldStartTimeoutSeconds to wait longer"
    )]
    PoolFull { waited: Duration },

    #[error(
        "the pool's gateway answered {status} after the request reached the session container \
         ({said}): the code may have run; it was not sent again"
    )]
    MayHaveRun { status: u16, said: String },

    #[error(
        "the session container did not become ready within {waited:.0?} (last answer: {last}): \
         the pool may still be starting; try again, or raise azureSessions.coldStartTimeoutSeconds"
    )]
    NotReady { waited: Duration, last: String },

    #[error(
        "no answer from the pool within {after:.0?}: the code may still be running in the session; \
         raise azureSessions.timeoutSeconds for long runs (Azure ends code-interpreter runs at \
         220 s, and Container Apps ingress at 240 s, whatever the setting says)"
    )]
    Timeout { after: Duration },

    #[error("could not reach the pool at {host}: {reason}")]
    Unreachable { host: String, reason: String },

    #[error(
        "the connection to the pool broke before it answered ({reason}); the code may or may not have run"
    )]
    ConnectionLost { reason: String },

    #[error("the pool answered HTTP {status}: {message}")]
    Http { status: u16, message: String },

    #[error("the pool's answer could not be read: {0}")]
    MalformedResponse(String),

    #[error("the pool's answer is larger than {limit} bytes and was not read")]
    ResponseTooLarge { limit: usize },

    #[error("{0}")]
    Unsupported(String),

    #[error("could not read {path}: {reason}")]
    LocalFile { path: String, reason: String },

    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// Azure's error body: `{"error":{"code","message"}}`, also mirrored in `x-ms-error-code`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AzureErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
}

impl AzureErrorBody {
    pub fn parse(header_code: Option<&str>, body: &[u8]) -> Self {
        let mut parsed = AzureErrorBody {
            code: header_code.map(str::to_owned),
            message: None,
        };
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
            let error = value.get("error").unwrap_or(&value);
            if let Some(code) = error.get("code").and_then(|c| c.as_str()) {
                parsed.code = Some(code.to_owned());
            }
            parsed.message = error
                .get("message")
                .or_else(|| error.get("title"))
                .and_then(|m| m.as_str())
                .map(redact_bearer);
        } else if !body.is_empty() {
            parsed.message = Some(snippet(body));
        }
        parsed
    }
}

/// A short, printable excerpt of a body for an error message (HTML error pages included).
pub fn snippet(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let text = if text.trim_start().starts_with('<') {
        // An HTML error page from a gateway: keep its title or first text.
        html_title(&text).unwrap_or_else(|| "an HTML error page".to_owned())
    } else {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let text = redact_bearer(&text);
    if text.chars().count() > MAX {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = lower[start..].find("</title>")? + start;
    let title = html.get(start..end)?.trim();
    (!title.is_empty()).then(|| format!("an HTML error page: {title}"))
}

/// Never repeat a bearer token that a misbehaving server echoes back.
pub fn redact_bearer(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.to_ascii_lowercase().find("bearer ") {
        let after = pos + "bearer ".len();
        out.push_str(&rest[..after]);
        out.push_str("[redacted]");
        let tail = &rest[after..];
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_error_body_reads_code_and_message() {
        let body = br#"{"error":{"code":"SessionPropertiesMissing","message":"code is required","traceId":"x"}}"#;
        let parsed = AzureErrorBody::parse(None, body);
        assert_eq!(parsed.code.as_deref(), Some("SessionPropertiesMissing"));
        assert_eq!(parsed.message.as_deref(), Some("code is required"));
    }

    #[test]
    fn header_code_used_when_body_has_none() {
        let parsed = AzureErrorBody::parse(Some("Throttled"), b"");
        assert_eq!(parsed.code.as_deref(), Some("Throttled"));
        assert_eq!(parsed.message, None);
    }

    #[test]
    fn html_pages_are_summarised() {
        let page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
        assert_eq!(snippet(page), "an HTML error page: 502 Bad Gateway");
    }

    #[test]
    fn bearer_tokens_are_redacted() {
        assert_eq!(
            redact_bearer("got Authorization: Bearer abc.def.ghi here"),
            "got Authorization: Bearer [redacted] here"
        );
    }

    #[test]
    fn long_snippets_are_cut() {
        let long = "x".repeat(1000);
        assert!(snippet(long.as_bytes()).chars().count() <= 201);
    }
}
