//! When to try again. Only answers that prove the code did not run are retried:
//! 502/503/504 (the container is not up yet), 429 (the pool is full) and a refused connection.
//! A 500, a timeout after the request was sent or a connection lost mid-answer are never
//! retried, since that could run the user's code twice.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Delays start small so a cold start ends close to when the container is ready.
const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_millis(250);
/// A `Retry-After` beyond this is treated as "give up" rather than waited for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// What to do with an answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A final answer: hand it to the caller.
    Final,
    /// The request surely did not reach the code: wait and send it again.
    Retry,
    /// The gateway says the connection broke after the request reached the container: the code
    /// may have run, so an execution is not sent again.
    MayHaveRun(String),
}

/// How the kind of call changes the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallKind {
    /// An execution: sending it twice could run the user's code twice.
    pub runs_code: bool,
    /// The pool has answered before, so a 404 means "full" (Azure's documented answer at
    /// `maxConcurrentSessions`), not a wrong endpoint.
    pub full_pool_is_404: bool,
}

/// Whether to retry an answer. Reads, session calls and file calls are retried on every
/// "not ready" status; an execution only where the answer shows the code was not reached:
/// 429, a full pool (404 from a pool that answered before), and 502/503/504 unless the gateway
/// says it lost the container after sending the request (Envoy's "reset before headers" with a
/// reset reason other than a failure to connect, or a 504 that does not say it could not
/// connect).
pub fn verdict(status: StatusCode, body: &[u8], kind: CallKind) -> Verdict {
    let code = status.as_u16();
    if code == 404 && kind.runs_code && kind.full_pool_is_404 {
        return Verdict::Retry;
    }
    if !is_retryable_status(status) {
        return Verdict::Final;
    }
    if !kind.runs_code || code == 429 {
        return Verdict::Retry;
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]).to_ascii_lowercase();
    let not_connected = [
        "connection failure",
        "connection refused",
        "no healthy upstream",
        "overflow",
        "connect error",
    ]
    .iter()
    .any(|m| text.contains(m))
        && !text.contains("connection termination");
    let reached = text.contains("reset before headers") || text.contains("connection termination");
    if reached && !not_connected {
        return Verdict::MayHaveRun(snippet(&text));
    }
    if code == 504 && !not_connected {
        return Verdict::MayHaveRun("504 Gateway Timeout".to_owned());
    }
    Verdict::Retry
}

fn snippet(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    line.chars().take(160).collect()
}

/// The wait before attempt `attempt + 1` for this status: a throttled pool (429) without
/// `Retry-After` backs off to seconds; a starting container is asked again soon.
pub fn delay_for(status: StatusCode, attempt: u32, headers: &HeaderMap) -> Duration {
    if retry_after(headers).is_none() && status.as_u16() == 429 {
        let exponential = THROTTLED_FIRST.saturating_mul(1u32 << attempt.saturating_sub(1).min(8));
        return exponential
            .min(THROTTLED_MAX)
            .mul_f64(0.7 + 0.3 * random_unit());
    }
    delay(attempt, Some(headers))
}

const THROTTLED_FIRST: Duration = Duration::from_millis(500);
const THROTTLED_MAX: Duration = Duration::from_secs(4);

/// The wait before attempt `attempt + 1` (attempts count from 1): exponential with jitter,
/// or what `Retry-After` asks for.
pub fn delay(attempt: u32, headers: Option<&HeaderMap>) -> Duration {
    if let Some(wait) = headers.and_then(retry_after) {
        return wait;
    }
    let exponential = FIRST_DELAY.saturating_mul(1u32 << attempt.saturating_sub(1).min(8));
    let capped = exponential.min(MAX_DELAY);
    // Full jitter between 70 % and 100 %, so many editors do not retry in step.
    let jitter = 0.7 + 0.3 * random_unit();
    capped.mul_f64(jitter)
}

/// `Retry-After` as seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        // Clamped before converting: 1e300 or 2e19 seconds do not fit in a Duration.
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(MAX_RETRY_AFTER.as_secs_f64())));
    }
    let when =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = when - time::OffsetDateTime::now_utc();
    Some(
        Duration::try_from(wait)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

fn random_unit() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64;
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retryable_statuses() {
        for code in [429, 502, 503, 504] {
            assert!(is_retryable_status(StatusCode::from_u16(code).unwrap()));
        }
        for code in [400, 401, 403, 404, 413, 500] {
            assert!(!is_retryable_status(StatusCode::from_u16(code).unwrap()));
        }
    }

    #[test]
    fn delays_grow_and_stay_capped() {
        let first = delay(1, None);
        assert!(first >= Duration::from_millis(70) && first <= Duration::from_millis(100));
        for attempt in 1..50 {
            assert!(delay(attempt, None) <= MAX_DELAY);
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(delay(1, Some(&headers)), Duration::from_secs(2));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn retry_after_values_that_do_not_fit_are_clamped() {
        let mut headers = HeaderMap::new();
        for (value, expected) in [
            ("1e300", Some(MAX_RETRY_AFTER)),
            ("2e19", Some(MAX_RETRY_AFTER)),
            ("18446744073709551616", Some(MAX_RETRY_AFTER)),
            ("-1", None),
            ("NaN", None),
            ("inf", None),
            ("1e", None),
            ("0.25", Some(Duration::from_millis(250))),
        ] {
            headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
            assert_eq!(retry_after(&headers), expected, "{value}");
        }
    }

    #[test]
    fn executions_are_retried_only_when_the_code_was_surely_not_reached() {
        let run = CallKind {
            runs_code: true,
            full_pool_is_404: false,
        };
        let status = |c| StatusCode::from_u16(c).unwrap();
        let cold = b"upstream connect error or disconnect/reset before headers. reset reason: connection failure";
        assert_eq!(verdict(status(503), cold, run), Verdict::Retry);
        assert_eq!(verdict(status(502), b"", run), Verdict::Retry);
        assert_eq!(verdict(status(429), b"", run), Verdict::Retry);
        let died = b"upstream connect error or disconnect/reset before headers. reset reason: connection termination";
        assert!(matches!(
            verdict(status(503), died, run),
            Verdict::MayHaveRun(_)
        ));
        assert!(matches!(
            verdict(status(504), b"", run),
            Verdict::MayHaveRun(_)
        ));
        assert_eq!(
            verdict(status(504), b"no healthy upstream", run),
            Verdict::Retry
        );
        assert_eq!(verdict(status(404), b"", run), Verdict::Final);
        let full = CallKind {
            full_pool_is_404: true,
            ..run
        };
        assert_eq!(verdict(status(404), b"", full), Verdict::Retry);
        // Reads may always be asked again.
        assert_eq!(
            verdict(status(504), b"", CallKind::default()),
            Verdict::Retry
        );
    }

    #[test]
    fn throttling_backs_off_to_seconds() {
        let headers = HeaderMap::new();
        let status = StatusCode::TOO_MANY_REQUESTS;
        assert!(delay_for(status, 1, &headers) >= Duration::from_millis(350));
        assert!(delay_for(status, 5, &headers) >= Duration::from_millis(2800));
        assert!(delay_for(status, 30, &headers) <= THROTTLED_MAX);
        assert!(delay_for(StatusCode::BAD_GATEWAY, 5, &headers) <= MAX_DELAY);
    }
}
