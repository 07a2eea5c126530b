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

pub(super) fn poll_delay(elapsed: Duration, headers: &HeaderMap) -> Duration {
    retry::retry_after(headers).unwrap_or_else(|| (elapsed / 12).clamp(FIRST_POLL, MAX_POLL))
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
        let deadline = http_timeout(request.timeout);
        let mut attempt = 0;
        while is_pending(&execution.raw_status) {
            attempt += 1;
            let wait = poll_delay(started.elapsed(), &headers);
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
        assert_eq!(poll_delay(Duration::ZERO, &none), FIRST_POLL);
        assert_eq!(
            poll_delay(Duration::from_secs(12), &none),
            Duration::from_secs(1)
        );
        assert_eq!(poll_delay(Duration::from_secs(600), &none), MAX_POLL);
        let mut asked = HeaderMap::new();
        asked.insert("retry-after", "2".parse().unwrap());
        assert_eq!(poll_delay(Duration::ZERO, &asked), Duration::from_secs(2));
    }
}
