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
}
