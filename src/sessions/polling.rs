//! Long-running executions. `POST /executions` is a long-running operation in the spec, but the
//! service's recorded answers to synchronous runs are 202 with the final result in the body and
//! no `Operation-Location`: such an answer is final. Only a body whose status is `Running` or
//! `NotStarted` is polled: at `Operation-Location` when the pool names one (on the pool's own
//! host), else at `GET /executions/{id}`, honouring `Retry-After`, within the run's timeout.

use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::header::HeaderMap;

use super::client::{
    Limits, Progress, RetryNotice, SessionsClient, http_timeout, parse_off_thread, session_guid,
};
use super::error::SessionsError;
use super::response::{Execution, is_pending};
use super::{ExecuteRequest, PoolTarget, retry};
use crate::auth::Credentials;

/// Polls start quick (a short run ends soon after it is reported running) and back off to a
/// twelfth of the time so far, so a run's end is seen within about a tenth of its duration.
const FIRST_POLL: Duration = Duration::from_millis(50);
const MAX_POLL: Duration = Duration::from_secs(5);

/// How long to wait before the next poll. The pool's `Retry-After` counts from its answer.
/// Without one, polls are `elapsed / 12` (50 ms to 5 s) apart counted from when the previous
/// one was sent (`since_sent` ago), so a poll's own round trip does not stretch the interval:
/// a run's end is then seen within one round trip plus the larger of 100 ms and a tenth of its
/// duration for round trips up to 200 ms, where waiting after each answer would add half a
/// round trip more (and miss at 100 ms for runs of about a second).
pub(super) fn poll_delay(elapsed: Duration, since_sent: Duration, headers: &HeaderMap) -> Duration {
    match retry::retry_after(headers) {
        Some(asked) => asked,
        None => (elapsed / 12)
            .clamp(FIRST_POLL, MAX_POLL)
            .saturating_sub(since_sent),
    }
}

impl SessionsClient {
    /// Follows a pending execution until it ends (or the run's timeout passes).
    pub(super) async fn poll_execution(
        &self,
        pool: &PoolTarget,
        credentials: &Credentials,
        request: &ExecuteRequest<'_>,
        first: (Execution, HeaderMap),
        progress: Progress<'_>,
    ) -> Result<Execution, SessionsError> {
        let (mut execution, mut headers) = first;
        let first_guid = execution.session_guid.clone();
        let url = poll_url(pool, request.identifier, &execution, &headers)?;
        let started = Instant::now();
        // When the previous request went out; the first poll counts from the first answer.
        let mut sent = started;
        let deadline = http_timeout(request.timeout);
        let mut attempt = 0;
        while is_pending(&execution.raw_status) {
            attempt += 1;
            let wait = poll_delay(started.elapsed(), sent.elapsed(), &headers);
            if started.elapsed() + wait > deadline {
                return Err(SessionsError::Timeout { after: deadline });
            }
            progress(RetryNotice {
                attempt,
                reason: format!("the pool reports the run as {}", execution.raw_status),
                waited: started.elapsed(),
                next_in: wait,
                polling: true,
            });
            tokio::time::sleep(wait).await;
            sent = Instant::now();
            let answer = self
                .send(
                    &url,
                    credentials,
                    Limits::short(self.max_response_bytes),
                    &|_| {},
                    &|| self.http.get(url.clone()),
                )
                .await?;
            if !answer.status.is_success() {
                return Err(self.error_for(pool, &url, &answer));
            }
            execution = parse_off_thread(answer.body).await?;
            execution.session_guid = session_guid(&answer.headers).or(first_guid.clone());
            headers = answer.headers;
        }
        Ok(execution)
    }
}

/// Where to poll: `Operation-Location` (only on the pool's own scheme, host and port, since the
/// token goes with it), else `{endpoint}/executions/{id}`.
fn poll_url(
    pool: &PoolTarget,
    identifier: &str,
    execution: &Execution,
    headers: &HeaderMap,
) -> Result<Url, SessionsError> {
    let endpoint = pool.endpoint();
    if let Some(location) = headers
        .get("operation-location")
        .and_then(|v| v.to_str().ok())
        .filter(|l| !l.trim().is_empty())
    {
        let url = endpoint.join(location.trim()).map_err(|e| {
            SessionsError::MalformedResponse(format!("Operation-Location {location:?}: {e}"))
        })?;
        if url.origin() != endpoint.origin() {
            return Err(SessionsError::MalformedResponse(format!(
                "the pool asked to poll the run at another host ({}); not followed",
                url.host_str().unwrap_or("?")
            )));
        }
        return Ok(url);
    }
    match &execution.id {
        Some(id) => Ok(pool.url(
            &["executions", id],
            pool.api_version.as_deref(),
            Some(identifier),
        )),
        None => Err(SessionsError::MalformedResponse(format!(
            "the pool reports the run as {} but gives neither an Operation-Location nor an id to follow it",
            execution.raw_status
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_start_quick_and_back_off_to_a_twelfth() {
        let none = HeaderMap::new();
        let now = Duration::ZERO;
        assert_eq!(poll_delay(Duration::ZERO, now, &none), FIRST_POLL);
        assert_eq!(
            poll_delay(Duration::from_secs(12), now, &none),
            Duration::from_secs(1)
        );
        assert_eq!(poll_delay(Duration::from_secs(600), now, &none), MAX_POLL);
        let mut asked = HeaderMap::new();
        asked.insert("retry-after", "2".parse().unwrap());
        assert_eq!(
            poll_delay(Duration::ZERO, now, &asked),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn the_interval_counts_from_when_the_previous_poll_was_sent() {
        let none = HeaderMap::new();
        // 12 s in the interval is 1 s; a poll that took 300 ms to come back leaves 700 ms.
        assert_eq!(
            poll_delay(Duration::from_secs(12), Duration::from_millis(300), &none),
            Duration::from_millis(700)
        );
        // A round trip longer than the interval: the next poll goes out at once.
        assert_eq!(
            poll_delay(Duration::from_millis(200), Duration::from_millis(80), &none),
            Duration::ZERO
        );
        // `Retry-After` counts from the answer, whatever the poll's round trip.
        let mut asked = HeaderMap::new();
        asked.insert("retry-after", "2".parse().unwrap());
        assert_eq!(
            poll_delay(Duration::from_secs(12), Duration::from_millis(300), &asked),
            Duration::from_secs(2)
        );
    }
}
