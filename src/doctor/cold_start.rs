//! The cold start: how long the session took to answer the one-line run, and what the 502s,
//! 503s or refused connections before it were.

use std::time::Duration;

use super::report::Report;
use super::run::denied_or_unreached;
use super::{Input, Pool};
use crate::sessions::{Execution, RetryNotice, SessionsError};

const COLD: &str = "Cold start";

pub(super) fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The distinct reasons of the retries, with their counts: "3 × 502 Bad Gateway".
fn retries_text(notices: &[RetryNotice]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for notice in notices {
        match counts.iter_mut().find(|(r, _)| *r == notice.reason) {
            Some((_, n)) => *n += 1,
            None => counts.push((notice.reason.clone(), 1)),
        }
    }
    counts
        .iter()
        .map(|(reason, n)| format!("{n} × {reason}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn cold_start_row(
    report: &mut Report,
    input: &Input,
    pool: &Pool,
    outcome: &Result<Execution, SessionsError>,
    notices: &[RetryNotice],
    elapsed: Duration,
) {
    let budget = input.settings.cold_start_timeout;
    match outcome {
        Err(SessionsError::NotReady { .. }) | Err(SessionsError::Unreachable { .. })
            if !notices.is_empty() =>
        {
            let fix = if pool.target.is_custom_container() {
                "see Container below".to_owned()
            } else {
                "try again in a minute; if it lasts, look at the pool in the portal (provisioning \
                 state, readySessionInstances, maxConcurrentSessions), or raise \
                 azureSessions.coldStartTimeoutSeconds"
                    .to_owned()
            };
            report.fail(
                COLD,
                format!(
                    "not ready within coldStartTimeoutSeconds ({} s): {}",
                    budget.as_secs(),
                    retries_text(notices)
                ),
                fix,
            );
        }
        Err(e) if denied_or_unreached(e) => report.skip(COLD, "no session was reached"),
        Err(SessionsError::Timeout { .. }) | Err(SessionsError::MayHaveRun { .. }) => {
            report.skip(COLD, "the run did not finish")
        }
        _ if notices.is_empty() => report.ok(
            COLD,
            format!(
                "no wait for a container: the session answered the first request, in {}",
                seconds(elapsed)
            ),
        ),
        _ => {
            let detail = format!(
                "the session answered after {} ({} before it)",
                seconds(elapsed),
                retries_text(notices)
            );
            if !budget.is_zero() && elapsed * 2 > budget {
                report.warn(
                    COLD,
                    format!(
                        "{detail}: over half of coldStartTimeoutSeconds ({} s)",
                        budget.as_secs()
                    ),
                    "raise azureSessions.coldStartTimeoutSeconds, or keep sessions ready (the pool's \
                     readySessionInstances)",
                );
            } else {
                report.ok(COLD, detail);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_counted_by_reason() {
        let notice = |reason: &str| RetryNotice {
            attempt: 1,
            reason: reason.to_owned(),
            waited: Duration::ZERO,
            next_in: Duration::ZERO,
            polling: false,
        };
        let notices = [
            notice("502 Bad Gateway"),
            notice("502 Bad Gateway"),
            notice("503 Service Unavailable"),
        ];
        assert_eq!(
            retries_text(&notices),
            "2 × 502 Bad Gateway, 1 × 503 Service Unavailable"
        );
    }
}
