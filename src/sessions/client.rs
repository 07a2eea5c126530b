//! The HTTP side: one `reqwest::Client` per process (connections and TLS sessions are reused),
//! retries where the code surely did not run, token refresh on 401, bounded reads.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};

use super::answer_errors::{
    self, describe, give_up, host_of, is_connection_refused, names_unknown_language, status_reason,
    transport_error,
};
use super::error::SessionsError;
use super::request_body::{
    Memory, execute_body, refuses_jupyter_format, refuses_output_max, takes_stdin,
};
use super::response::{self, Execution};
use super::retry;
use super::{Api, ExecuteRequest, PoolTarget};
use crate::auth::Credentials;

pub const USER_AGENT: &str = concat!(
    "azure-sessions-lsp/",
    env!("CARGO_PKG_VERSION"),
    " (Language=Rust)"
);

/// The HTTP timeout is the execution timeout plus a margin for the network and the pool:
/// 5 s plus an eighth of the timeout, at most 30 s (Azure itself stops code at 220 s).
pub(super) fn http_timeout(execution: Duration) -> Duration {
    execution + (Duration::from_secs(5) + execution / 8).min(Duration::from_secs(30))
}
/// File and session calls are short.
const SHORT_CALL_TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// No answer can be larger than this; memory stays bounded whatever the pool sends.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 << 20;

/// Network settings that need a new `reqwest::Client` when they change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct HttpOptions {
    /// An explicit proxy URL; `None` follows HTTPS_PROXY/HTTP_PROXY/NO_PROXY.
    pub proxy: Option<String>,
    /// Extra PEM files of certificate authorities to trust.
    pub extra_ca_files: Vec<PathBuf>,
}

/// Told before each retry, so the editor can say "waiting for the session container to start".
#[derive(Debug, Clone)]
pub struct RetryNotice {
    pub attempt: u32,
    /// What the pool answered, e.g. "502 Bad Gateway" or "connection refused".
    pub reason: String,
    pub waited: Duration,
    pub next_in: Duration,
    /// The run has started and the pool reports it running (a long-running execution): the
    /// wait is for the code, not for a container.
    pub polling: bool,
}

pub type Progress<'a> = &'a (dyn Fn(RetryNotice) + Send + Sync);

/// A finished HTTP exchange.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    /// The body was larger than the limit: `body` holds its start only.
    pub(super) truncated: bool,
}

/// How long one call may retry and take, and how much of its answer is read.
#[derive(Clone, Copy)]
pub(super) struct Limits {
    /// How long to keep retrying while the pool is not ready.
    pub(super) budget: Duration,
    /// The HTTP timeout of one attempt.
    pub(super) timeout: Duration,
    /// The largest answer read; the rest is cut.
    pub(super) bytes: usize,
    /// Which answers may be retried (an execution only when its code surely did not run).
    pub(super) kind: retry::CallKind,
}

impl Limits {
    /// File and session calls.
    pub(super) fn short(bytes: usize) -> Limits {
        Limits {
            budget: Duration::from_secs(30),
            timeout: SHORT_CALL_TIMEOUT,
            bytes,
            kind: retry::CallKind::default(),
        }
    }
}

/// Downloads may be as large as an upload (128 MB); other answers are small or capped.
pub(super) const MAX_DOWNLOAD_BYTES: usize = 130 << 20;

#[derive(Clone)]
pub struct SessionsClient {
    pub(super) http: reqwest::Client,
    pub(super) max_response_bytes: usize,
    /// What each pool has shown it wants (body style, fields, whether it answered before).
    pub(super) learned: Memory,
}

/// An error with its causes (reqwest's own text is only "builder error").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

impl SessionsClient {
    pub fn new(options: &HttpOptions) -> Result<SessionsClient, SessionsError> {
        let builder = || {
            let builder = reqwest::Client::builder()
                .user_agent(USER_AGENT)
                .connect_timeout(CONNECT_TIMEOUT)
                .pool_idle_timeout(Duration::from_secs(90))
                .tcp_keepalive(Duration::from_secs(30))
                // The server's certificate rides along each answer, for `doctor` to show its
                // issuer and expiry (a copy of a few KiB per answer; nothing else reads it).
                .tls_info(true)
                // The data plane never redirects; following one could send the code (and,
                // within one origin, the token) somewhere the user did not choose.
                .redirect(reqwest::redirect::Policy::none());
            super::network::configure(builder, options)
        };
        let http = match builder()?.build() {
            Ok(http) => http,
            // The system's certificate verifier could not start (seen under wine, whose
            // certificate-chain engine refuses the verifier's settings). Plain-http endpoints
            // (the local pool) still work; HTTPS trusts only the certificates configured
            // (azureSessions.extraCaCertificates, SSL_CERT_FILE), so nothing is trusted that
            // would not be otherwise.
            Err(error) => match builder()?.tls_certs_only(std::iter::empty()).build() {
                Ok(http) => {
                    tracing::debug!(
                        error = %error_chain(&error),
                        "the system's certificate verifier could not start; HTTPS trusts only \
                         azureSessions.extraCaCertificates and SSL_CERT_FILE"
                    );
                    http
                }
                Err(_) => {
                    return Err(SessionsError::Unsupported(format!(
                        "could not set up HTTP: {}",
                        error_chain(&error)
                    )));
                }
            },
        };
        Ok(SessionsClient {
            http,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            learned: Memory::default(),
        })
    }

    pub fn with_max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Runs code in the session and returns its output. A failure of the code is an
    /// [`Execution`] with status Failed; an `Err` means it could not run (or we cannot tell).
    pub async fn execute(
        &self,
        pool: &PoolTarget,
        credentials: &Credentials,
        request: &ExecuteRequest<'_>,
        progress: Progress<'_>,
    ) -> Result<Execution, SessionsError> {
        if request.stdin.is_some() && !takes_stdin(pool.api, request.language) {
            return Err(SessionsError::StdinNotTaken {
                language: request.language.to_owned(),
            });
        }
        let url = pool.execute_url(request.identifier, request.language);
        // The same operation-id on every attempt: the pool can tell a retry from a new run.
        let operation_id = uuid::Uuid::new_v4().to_string();
        let timeout = http_timeout(request.timeout);
        let mut fallbacks = 0;
        loop {
            let learned = self.learned.get(pool);
            let body = execute_body(pool, request, learned);
            let answer = self
                .send(
                    &url,
                    credentials,
                    Limits {
                        budget: request.cold_start_budget,
                        timeout,
                        bytes: self.max_response_bytes,
                        kind: retry::CallKind {
                            runs_code: true,
                            full_pool_is_404: learned.answered,
                        },
                    },
                    progress,
                    &|| {
                        self.http
                            .post(url.clone())
                            .header("operation-id", &operation_id)
                            .json(&body)
                    },
                )
                .await?;
            if answer.status.is_success() || answer.status.as_u16() == 400 {
                self.learned.update(pool, |l| l.answered = true);
            }
            if answer.status.is_success() && answer.truncated {
                let limit = self.max_response_bytes;
                return tokio::task::spawn_blocking(move || salvage_execution(&answer.body, limit))
                    .await
                    .unwrap_or(Err(SessionsError::ResponseTooLarge { limit }));
            }
            if answer.status.is_success() {
                let mut execution = parse_off_thread(answer.body).await?;
                execution.session_guid = session_guid(&answer.headers);
                if response::is_pending(&execution.raw_status) {
                    return self
                        .poll_execution(
                            pool,
                            credentials,
                            request,
                            (execution, answer.headers),
                            progress,
                        )
                        .await;
                }
                return Ok(execution);
            }
            if pool.api == Api::Custom
                && answer.status.as_u16() >= 400
                && !matches!(answer.status.as_u16(), 401 | 403 | 404 | 407 | 429)
                && let Some(failed) = response::failed_run_in_error_answer(&answer.body)
            {
                return Ok(failed);
            }
            let error = match self.error_for(pool, &url, &answer) {
                // Piston: `<language>-* runtime is unknown`; Microsoft's sample: `Unsupported
                // language: x`. The user can fix either with the languages setting.
                SessionsError::BadRequest { message, .. }
                    if pool.api == Api::Custom && names_unknown_language(&message) =>
                {
                    SessionsError::UnknownLanguage {
                        language: request.language.to_owned(),
                        message,
                    }
                }
                other => other,
            };
            // A 400 means nothing ran: adjust the body once per cause, and remember it for
            // this pool, so the fallback costs one round trip once, not on every run.
            if let SessionsError::BadRequest { code, message } = &error
                && pool.api == Api::Executions
                && fallbacks < 3
            {
                if code == "SessionPropertiesMissing" && !learned.wrapped {
                    tracing::debug!("the pool wants the wrapped body; retrying once");
                    self.learned.update(pool, |l| l.wrapped = true);
                    fallbacks += 1;
                    continue;
                }
                if refuses_jupyter_format(code, message) && !learned.without_jupyter_format {
                    tracing::debug!(
                        "the pool refused the Jupyter format; retrying once without it"
                    );
                    self.learned
                        .update(pool, |l| l.without_jupyter_format = true);
                    fallbacks += 1;
                    continue;
                }
                if refuses_output_max(code, message) && !learned.without_output_max {
                    tracing::debug!(
                        "the pool refused outputStreamsMaxLength; retrying once without it"
                    );
                    self.learned.update(pool, |l| l.without_output_max = true);
                    fallbacks += 1;
                    continue;
                }
            }
            return Err(error);
        }
    }

    /// A short call without a body, with the usual retries. An answer over `limit` is an error.
    pub(super) async fn simple(
        &self,
        credentials: &Credentials,
        method: Method,
        url: &Url,
        limit: usize,
    ) -> Result<Answer, SessionsError> {
        let answer = self
            .send(url, credentials, Limits::short(limit), &|_| {}, &|| {
                self.http.request(method.clone(), url.clone())
            })
            .await?;
        if answer.truncated {
            return Err(SessionsError::ResponseTooLarge { limit });
        }
        Ok(answer)
    }

    /// Sends a request built by `build` (called again for each attempt) and reads the answer.
    pub(super) async fn send(
        &self,
        url: &Url,
        credentials: &Credentials,
        limits: Limits,
        progress: Progress<'_>,
        build: &(dyn Fn() -> reqwest::RequestBuilder + Send + Sync),
    ) -> Result<Answer, SessionsError> {
        let Limits {
            budget,
            timeout,
            bytes: limit,
            ..
        } = limits;
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut refreshed_token = false;
        loop {
            attempt += 1;
            let (secret, token) = authorization(credentials, url).await?;
            let mut request = build().timeout(timeout);
            if let Some(secret) = &secret {
                request = request.bearer_auth(secret);
            }
            let outcome = match request.send().await {
                Ok(response) => Ok(self.read(response, timeout, limit).await?),
                Err(error) => Err(error),
            };
            let reason = match outcome {
                Ok(answer)
                    if answer.status == StatusCode::UNAUTHORIZED
                        && !refreshed_token
                        && token.is_some() =>
                {
                    // The cached token may have been revoked or expired early: one fresh try.
                    refreshed_token = true;
                    if let Some(token) = &token {
                        credentials.invalidate(token);
                    }
                    tracing::debug!("401 from the pool; fetching a fresh token");
                    continue;
                }
                Ok(answer) => match retry::verdict(answer.status, &answer.body, limits.kind) {
                    retry::Verdict::Final => {
                        let mut answer = answer;
                        // A pool or a container may echo the request, in an error or in the
                        // code's output: the token (or key) never goes further.
                        if let Some(secret) = &secret {
                            answer.body = scrub(&answer.body, secret);
                        }
                        return Ok(answer);
                    }
                    retry::Verdict::MayHaveRun(said) => {
                        return Err(SessionsError::MayHaveRun {
                            status: answer.status.as_u16(),
                            said,
                        });
                    }
                    retry::Verdict::Retry => {
                        let reason = status_reason(answer.status);
                        let wait = retry::delay_for(answer.status, attempt, &answer.headers);
                        if started.elapsed() + wait > budget {
                            return Err(give_up(answer.status, started.elapsed(), reason));
                        }
                        (reason, wait)
                    }
                },
                Err(error) if is_connection_refused(&error) => {
                    let reason = "connection refused".to_owned();
                    let wait = retry::delay(attempt, None);
                    if started.elapsed() + wait > budget {
                        return Err(SessionsError::Unreachable {
                            host: host_of(&error),
                            reason: if budget.is_zero() {
                                reason
                            } else {
                                format!("{reason} for {:.0?}", started.elapsed())
                            },
                        });
                    }
                    (reason, wait)
                }
                Err(error) => return Err(transport_error(&error, timeout)),
            };
            let (reason, wait) = reason;
            tracing::info!(attempt, %reason, ?wait, "pool not ready; retrying");
            progress(RetryNotice {
                attempt,
                reason,
                waited: started.elapsed(),
                next_in: wait,
                polling: false,
            });
            tokio::time::sleep(wait).await;
        }
    }

    /// Reads the body up to `limit` bytes (the rest is not read: the connection is dropped);
    /// a stall or a reset mid-body is reported, not retried.
    async fn read(
        &self,
        mut response: reqwest::Response,
        timeout: Duration,
        limit: usize,
    ) -> Result<Answer, SessionsError> {
        let status = response.status();
        let headers = response.headers().clone();
        let expected = response.content_length().unwrap_or(0).min(limit as u64) as usize;
        let mut body = Vec::with_capacity(expected);
        let mut truncated = false;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = limit - body.len();
                    if chunk.len() > room {
                        body.extend_from_slice(&chunk[..room]);
                        truncated = true;
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(error) if error.is_timeout() => {
                    return Err(SessionsError::Timeout { after: timeout });
                }
                Err(error) => {
                    return Err(SessionsError::ConnectionLost {
                        reason: describe(&error),
                    });
                }
            }
        }
        Ok(Answer {
            status,
            headers,
            body: Bytes::from(body),
            truncated,
        })
    }

    /// Turns a non-success answer into an error that says what to do.
    pub(super) fn error_for(&self, pool: &PoolTarget, url: &Url, answer: &Answer) -> SessionsError {
        answer_errors::error_for(pool, url, answer)
    }
}

/// The container behind the session, as the pool names it in `x-ms-session-guid`.
pub(super) fn session_guid(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-ms-session-guid")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Parses an execution answer; a large one on the blocking pool, so that parsing megabytes
/// never stalls the thread that serves the editor.
pub(super) async fn parse_off_thread(body: Bytes) -> Result<Execution, SessionsError> {
    const INLINE_LIMIT: usize = 256 << 10;
    let body_len = body.len();
    // The body goes as soon as it is parsed: a large answer (an image) is then held as JSON
    // while its parts are taken out, not twice.
    let parse = move || {
        let value = response::parse_json(&body);
        drop(body);
        response::execution_from_value(value?)
    };
    let parsed = if body_len <= INLINE_LIMIT {
        parse()
    } else {
        tokio::task::spawn_blocking(parse)
            .await
            .unwrap_or_else(|e| Err(format!("parsing the answer failed: {e}")))
    };
    parsed.map_err(SessionsError::MalformedResponse)
}

/// An execution answer larger than the cap: what arrived is shown, with a note that the rest
/// was cut (memory stays bounded whatever the pool sends).
fn salvage_execution(prefix: &[u8], limit: usize) -> Result<Execution, SessionsError> {
    let value =
        super::salvage::parse_prefix(prefix).ok_or(SessionsError::ResponseTooLarge { limit })?;
    let has_status = value
        .get("status")
        .or_else(|| value.pointer("/properties/status"))
        .is_some();
    let mut execution =
        response::execution_from_value(value).map_err(SessionsError::MalformedResponse)?;
    if !has_status {
        execution.status = response::ExecutionStatus::Failed;
        execution.raw_status = "Unknown".to_owned();
    }
    let note = format!(
        "\n[output cut: the pool's answer was larger than {} MiB; the rest was not read]\n",
        limit >> 20
    );
    execution.stdout.push_str(&note);
    tracing::warn!(limit, "execution answer over the size cap; output cut");
    Ok(execution)
}

/// Replaces every occurrence of `secret` in `body`.
/// What goes in `Authorization: Bearer …` for `url`, and the token it came from. An Entra or
/// editor token goes only over https; the local pool's key only to plain-http loopback.
async fn authorization(
    credentials: &Credentials,
    url: &Url,
) -> Result<(Option<String>, Option<crate::auth::AccessToken>), SessionsError> {
    match credentials {
        Credentials::None => Ok((None, None)),
        Credentials::PoolKey(key) => {
            let loopback =
                url.scheme() == "http" && url.host_str().is_some_and(super::is_loopback_host);
            Ok((loopback.then(|| key.to_string()), None))
        }
        Credentials::Bearer(_) if url.scheme() != "https" => Err(SessionsError::InsecureEndpoint {
            endpoint: format!("{}://{}", url.scheme(), url.host_str().unwrap_or("?")),
        }),
        Credentials::Bearer(_) => {
            let token = credentials.token().await?;
            Ok((token.as_ref().map(|t| t.secret().to_owned()), token))
        }
    }
}

fn scrub(body: &Bytes, secret: &str) -> Bytes {
    let finder = memchr::memmem::Finder::new(secret.as_bytes());
    if secret.is_empty() || finder.find(body).is_none() {
        return body.clone();
    }
    let mut out = Vec::with_capacity(body.len());
    let mut rest = &body[..];
    while let Some(at) = finder.find(rest) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(b"[redacted]");
        rest = &rest[at + secret.len()..];
    }
    out.extend_from_slice(rest);
    Bytes::from(out)
}
