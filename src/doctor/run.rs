//! The one-line run: `print(1)` (or its equivalent) in a session of the doctor's own, never the
//! user's; how long the session took to answer (the cold start); and the session ended
//! afterwards where the API allows it, so none is left running.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::cold_start::{cold_start_row, seconds};
use super::report::{Report, Status};
use super::{Input, Pool, container, token};
use crate::sessions::{
    Api, ExecuteRequest, Execution, ExecutionStatus, RetryNotice, SessionsError,
};

const RUN: &str = "Run";
const ROLE: &str = "Role";
const CLEANUP: &str = "Cleanup";
/// The one-line run needs far less than a user's run; a slow pool still gets a minute.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(10);

/// The code that prints `1` in a language, and its name as shown.
pub fn one_liner(language: &str) -> &'static str {
    match language.to_ascii_lowercase().as_str() {
        "javascript" | "typescript" | "js" | "node" => "console.log(1)",
        "shell" | "shellscript" | "bash" | "sh" => "echo 1",
        "ruby" => "puts 1",
        _ => "print(1)",
    }
}

/// A fresh identifier of the doctor's own: `doctor-` and 12 random hex digits.
fn identifier() -> String {
    format!(
        "doctor-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// Whether the pool turned the identity away, or was never reached: no session exists then.
pub(super) fn denied_or_unreached(error: &SessionsError) -> bool {
    matches!(
        error,
        SessionsError::Unauthorized
            | SessionsError::PoolKeyRefused { .. }
            | SessionsError::Forbidden
            | SessionsError::Auth(_)
            | SessionsError::Unreachable { .. }
            | SessionsError::Redirected { .. }
            | SessionsError::TooManyRequests { .. }
            | SessionsError::PoolFull { .. }
    )
}

/// Runs the one-liner and adds the Role (https), Run, Cold start, Container (custom pools whose
/// container never answered) and Cleanup checks.
pub async fn check(report: &mut Report, input: &Input, pool: &Pool) {
    let id = identifier();
    let code = one_liner(&input.language);
    let request = ExecuteRequest {
        identifier: &id,
        code,
        language: &input.language,
        stdin: None,
        timeout: input.settings.timeout.min(RUN_TIMEOUT),
        cold_start_budget: input.settings.cold_start_timeout,
    };
    let notices: Mutex<Vec<RetryNotice>> = Mutex::default();
    let on_retry = |notice: RetryNotice| {
        if !notice.polling {
            notices
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(notice);
        }
    };
    let started = Instant::now();
    let outcome = pool
        .http
        .execute(&pool.target, &pool.credentials, &request, &on_retry)
        .await;
    let elapsed = started.elapsed();
    let notices = notices.into_inner().unwrap_or_else(|p| p.into_inner());
    let https = pool.target.endpoint().scheme() == "https";
    let custom = pool.target.is_custom_container();

    // Role: only Azure (https) has roles; the answer to the run tells.
    if https {
        match &outcome {
            Err(SessionsError::Forbidden) => report.fail(
                ROLE,
                "access denied (403 Forbidden): the identity may not use this pool",
                "assign the role \"Azure ContainerApps Session Executor\" on the session pool (some \
                 docs also ask for \"Contributor\"): `az role assignment create --role \"Azure \
                 ContainerApps Session Executor\" --assignee YOUR_ID --scope POOL_RESOURCE_ID`; a new \
                 assignment takes a minute or two to apply",
            ),
            Err(SessionsError::Unauthorized) => report.skip(ROLE, "the token was rejected first"),
            Err(e) if denied_or_unreached(e) => report.skip(ROLE, "the pool did not answer the run"),
            _ => report.ok(ROLE, "the pool let the run through (no 401 or 403)"),
        }
    }
    match &outcome {
        Err(SessionsError::Unauthorized) => {
            token::rejected(report, input.settings.auth == crate::auth::AuthMode::None);
        }
        Err(SessionsError::PoolKeyRefused { .. }) => report.replace(
            "Key",
            Status::Fail,
            "the pool refused the key (401)".to_owned(),
            Some(
                "a local pool started with `azure-sessions-lsp pool` writes its key to a file found \
                 by port; set AZURE_SESSIONS_POOL_KEY to the key it printed"
                    .to_owned(),
            ),
        ),
        _ => {}
    }

    run_row(report, input, pool, code, &id, &outcome, elapsed);
    cold_start_row(report, input, pool, &outcome, &notices, elapsed);
    if custom {
        let what = match &outcome {
            Err(SessionsError::NotReady { waited, last }) => {
                Some(format!("{last} for {}", seconds(*waited)))
            }
            Err(SessionsError::Unreachable { reason, .. }) if notices.len() > 1 => {
                Some(reason.clone())
            }
            _ => None,
        };
        if let Some(what) = what {
            container::explain_not_ready(report, input, pool, &what, code).await;
        }
    }
    if !matches!(&outcome, Err(e) if denied_or_unreached(e)) {
        cleanup(report, pool, &id).await;
    }
}

fn run_row(
    report: &mut Report,
    input: &Input,
    pool: &Pool,
    code: &str,
    id: &str,
    outcome: &Result<Execution, SessionsError>,
    elapsed: Duration,
) {
    let execution = match outcome {
        Ok(execution) => execution,
        Err(error) => {
            let (detail, fix) = explain_error(error, input, pool);
            match error {
                SessionsError::Unauthorized | SessionsError::PoolKeyRefused { .. } => {
                    report.skip(RUN, "the pool refused the credential (see above)")
                }
                SessionsError::Forbidden => {
                    report.skip(RUN, "the pool refused the identity (see Role)")
                }
                _ => report.fail(RUN, detail, fix),
            }
            return;
        }
    };
    let took = execution
        .execution_time_ms
        .map(|ms| format!("{ms} ms in the session, "))
        .unwrap_or_default();
    let shown = format!("`{code}` in the doctor's session {id}");
    let stdout = execution.stdout.trim();
    match execution.status {
        ExecutionStatus::Succeeded if stdout == "1" => report.ok(
            RUN,
            format!("{shown} printed 1 ({took}{} in all)", seconds(elapsed)),
        ),
        ExecutionStatus::Succeeded => report.warn(
            RUN,
            format!(
                "{shown} succeeded, but printed {:?} instead of 1",
                snippet(stdout)
            ),
            "the pool ran something else than expected: check azureSessions.api and customPath",
        ),
        ExecutionStatus::Failed => {
            let why = execution
                .stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or(&execution.raw_status);
            report.fail(
                RUN,
                format!("{shown} failed: {}", snippet(why)),
                format!(
                    "the pool may be for another language than {}: run the doctor for that \
                     language (--language, or from a document in it)",
                    input.language
                ),
            )
        }
    }
}

fn snippet(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() > 160 {
        format!("{}…", text.chars().take(160).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// What a run that could not execute means, and what to do.
fn explain_error(error: &SessionsError, input: &Input, pool: &Pool) -> (String, String) {
    let custom = pool.target.is_custom_container();
    let budget = input.settings.cold_start_timeout.as_secs();
    let fix = match error {
        SessionsError::NotReady { waited, last } => {
            return (
                format!("the session never answered: {last} for {}", seconds(*waited)),
                format!(
                    "see {} below; a cold start that needs longer than {budget} s needs a larger \
                     azureSessions.coldStartTimeoutSeconds",
                    if custom { "Container" } else { "Cold start" }
                ),
            );
        }
        SessionsError::NotFound { .. } if custom => format!(
            "the container has no such route: set azureSessions.customPath to the path its server \
             serves (now {:?}; {{language}} becomes {})",
            pool.target.custom_path, input.language
        ),
        SessionsError::NotFound { .. } => "azureSessions.endpoint must be the pool's \
             poolManagementEndpoint, and azureSessions.api must suit the pool (executions for current \
             pools, legacy for code/execute, custom for custom containers)"
            .to_owned(),
        SessionsError::BadRequest { code, .. } if code == "DynamicApisNotAllowed" => {
            "this is a custom-container pool: use its https://POOL.ENV.REGION.azurecontainerapps.io \
             endpoint and api \"custom\""
                .to_owned()
        }
        SessionsError::BadRequest { .. } => format!(
            "check azureSessions.api (now {}) and apiVersion; a Shell pool takes shell scripts \
             (--language shell)",
            pool.target.api.name()
        ),
        SessionsError::TooManyRequests { .. } | SessionsError::PoolFull { .. } => {
            "the pool is at its session limit (maxConcurrentSessions): wait for idle sessions to end, \
             or raise the pool's --max-sessions"
                .to_owned()
        }
        SessionsError::Timeout { .. } => "the pool took the run but did not answer: try again; a \
             slow pool needs a larger azureSessions.timeoutSeconds"
            .to_owned(),
        SessionsError::MayHaveRun { .. } => "the gateway lost the session's container during the \
             run: try again; if it repeats, read the container's logs"
            .to_owned(),
        SessionsError::Http { status, .. } if *status >= 500 && custom => {
            "the container failed: read its logs (Log Analytics, table AppEnvSessionConsoleLogs_CL)"
                .to_owned()
        }
        SessionsError::MalformedResponse(_) if custom => "the container's answer is not what the \
             custom API expects (JSON with stdout, stderr and a status; see docs/protocol.md)"
            .to_owned(),
        SessionsError::MalformedResponse(_) => {
            format!("check azureSessions.api (now {})", pool.target.api.name())
        }
        SessionsError::Unreachable { .. } if custom => {
            "the container refused the connection for the whole cold-start budget: see Container below"
                .to_owned()
        }
        _ if pool.target.api == Api::Custom => "check the custom container's logs".to_owned(),
        _ => "check the pool's state in the Azure portal".to_owned(),
    };
    (error.to_string(), fix)
}

/// Ends the doctor's session, so that none is left running (and billed) until its cooldown.
async fn cleanup(report: &mut Report, pool: &Pool, id: &str) {
    let how = if pool.target.is_custom_container() {
        "POST /.management/stopSession"
    } else {
        "DELETE /session"
    };
    let ended = tokio::time::timeout(
        CLEANUP_TIMEOUT,
        pool.http
            .delete_session(&pool.target, &pool.credentials, id),
    )
    .await;
    let fix = "nothing to do: the pool ends the session after its cooldown period";
    match ended {
        Ok(Ok(())) => report.ok(CLEANUP, format!("ended the doctor's session {id} ({how})")),
        Ok(Err(error)) => report.warn(
            CLEANUP,
            format!("could not end the doctor's session {id} ({how}): {error}"),
            fix,
        ),
        Err(_) => report.warn(
            CLEANUP,
            format!(
                "no answer within {} s when ending the doctor's session {id} ({how})",
                CLEANUP_TIMEOUT.as_secs()
            ),
            fix,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_liners_and_identifiers() {
        assert_eq!(one_liner("python"), "print(1)");
        assert_eq!(one_liner("javascript"), "console.log(1)");
        assert_eq!(one_liner("shellscript"), "echo 1");
        let id = identifier();
        assert!(id.starts_with("doctor-") && id.len() == 19, "{id}");
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
