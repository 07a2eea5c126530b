//! The local pool's custom-container API, Piston-like: `POST /{language}/execute` runs the code
//! once, stateless, with the toolchains installed on this machine, and answers what Piston's
//! `POST /api/v2/execute` answers, as an adapter in a custom container that forwards
//! `{"properties":{"code","stdin"}}` to Piston would pass it through.
//!
//! `runtimes` holds Piston's language names and aliases and detects the toolchains; `job` runs
//! one job (compile and run stages in a fresh directory). What differs from Piston (no isolate,
//! no cgroup limits, no `PISTON_*` configuration) is written down in `docs/protocol.md`.

mod job;
mod runtimes;
mod stage;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::Semaphore;

pub use runtimes::Runtimes;

use super::errors::{PoolError, shorten};
use super::routes::AppState;

/// Wall time of a compile stage (Piston's default `compile_timeout`).
pub const COMPILE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes kept per stream and stage. Piston's default (`PISTON_OUTPUT_MAX_SIZE`, 1024) is far
/// too small for editor use; a smaller pool output cap wins.
pub const OUTPUT_CAP: usize = 1 << 20;
/// Jobs that run at once; more wait for a slot (Piston's `PISTON_MAX_CONCURRENT_JOBS`).
const MAX_CONCURRENT_JOBS: usize = 64;

/// The Piston side of one pool.
pub struct Piston {
    pub runtimes: Arc<Runtimes>,
    jobs_dir: PathBuf,
    slots: Semaphore,
}

impl Piston {
    pub fn new(runtimes: Arc<Runtimes>, jobs_dir: PathBuf) -> Self {
        Self {
            runtimes,
            jobs_dir,
            slots: Semaphore::new(MAX_CONCURRENT_JOBS),
        }
    }
}

/// One request, as the custom route read it.
pub struct JobRequest<'a> {
    /// The path segment: a Piston language name or alias.
    pub language: &'a str,
    pub identifier: &'a str,
    pub code: &'a str,
    pub stdin: Option<&'a str>,
    /// `timeoutInSeconds`: the run stage's wall time.
    pub timeout: Option<f64>,
}

/// Runs a job and answers Piston's execute response; 400 `{"message":"<language>-* runtime is
/// unknown"}` for a language Piston would not know or whose toolchain is not installed here.
pub async fn execute(app: &AppState, request: JobRequest<'_>) -> Result<Response, PoolError> {
    let piston = &app.piston;
    let found = match runtimes::find(request.language) {
        Some((index, spec)) => piston
            .runtimes
            .installed(index)
            .await
            .map(|installed| (spec, installed)),
        None => None,
    };
    let Some((spec, installed)) = found else {
        return Ok(piston_error(
            StatusCode::BAD_REQUEST,
            format!("{}-* runtime is unknown", shorten(request.language)),
        ));
    };
    // The identifier names a session as on Azure (it is listed, counts against the pool's
    // maximum and expires when idle); a job shares nothing with the session's other runs.
    let session = app.registry.get_or_create(request.identifier)?;
    let _busy = session.hold();
    let mut stop = session.stop_signal();
    let _slot = piston
        .slots
        .acquire()
        .await
        .map_err(|_| PoolError::internal("the pool is shutting down"))?;

    let max = app.settings.max_timeout;
    let run_limit = match request.timeout {
        Some(t) if t > 0.0 => Duration::try_from_secs_f64(t).map_or(max, |t| t.min(max)),
        _ => max,
    };
    let limits = job::Limits {
        compile: COMPILE_TIMEOUT,
        run: run_limit,
        output_cap: OUTPUT_CAP.min(app.settings.output_cap),
    };
    let stdin = with_trailing_newline(request.stdin.unwrap_or(""));
    let finished = job::run(
        &piston.jobs_dir,
        spec,
        &installed,
        request.code,
        &stdin,
        limits,
        &app.processes,
        &mut stop,
    )
    .await;
    match finished {
        Ok(finished) => {
            let mut answer = json!({
                "language": spec.language,
                "version": installed.version,
                "run": finished.run.to_json(),
            });
            if let Some(compile) = &finished.compile {
                answer["compile"] = compile.to_json();
            }
            Ok(axum::Json(answer).into_response())
        }
        Err(message) => {
            tracing::warn!("local pool: a Piston-like job could not run: {message}");
            Ok(piston_error(StatusCode::INTERNAL_SERVER_ERROR, message))
        }
    }
}

/// Piston appends a newline to stdin that does not end with one.
fn with_trailing_newline(stdin: &str) -> String {
    let mut text = stdin.to_owned();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Piston's error body: `{"message": …}`.
fn piston_error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_gets_a_trailing_newline_like_pistons() {
        assert_eq!(with_trailing_newline(""), "\n");
        assert_eq!(with_trailing_newline("Ada"), "Ada\n");
        assert_eq!(with_trailing_newline("Ada\n"), "Ada\n");
    }
}
