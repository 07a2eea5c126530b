//! Piston-shaped answers, as a custom container passes them through from Piston's
//! `POST /api/v2/execute` (`peers-and-demand.md` §6.4): `{"language","version","compile"?,"run"}`,
//! at the top level or inside `properties`. Each stage is
//! `{"stdout","stderr","output","code","signal","status","message","cpu_time","wall_time","memory"}`.
//!
//! Read whole: a failed compile is a failed run whose output is the compiler's (Piston copies
//! the compile stage into `run` then, so `compile` is read first); the run stage's `status`
//! (`TO` time limit, `OL`/`EL` output limit, `SG` signal, `RE` runtime error, `XX` internal
//! error), `signal` and `message` become a note that says why the run ended.

use serde_json::{Map, Value};

use super::response::{Execution, ExecutionStatus};

/// One stage of a Piston job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stage {
    pub stdout: String,
    pub stderr: String,
    /// The exit code; `None` when a signal ended the process.
    pub code: Option<i64>,
    pub signal: Option<String>,
    /// Piston's two-letter status, when the stage did not simply exit.
    pub status: Option<String>,
    pub message: Option<String>,
    pub wall_time_ms: Option<u64>,
}

impl Stage {
    fn read(value: &Value) -> Stage {
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let word = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let mut stderr = text("stderr");
        let stdout = text("stdout");
        // Some adapters keep only the interleaved `output`.
        if stdout.is_empty() && stderr.is_empty() {
            stderr = text("output");
        }
        Stage {
            stdout,
            stderr,
            code: value.get("code").and_then(|c| {
                c.as_i64()
                    .or_else(|| c.as_str().and_then(|s| s.trim().parse().ok()))
            }),
            signal: word("signal"),
            status: word("status"),
            message: word("message"),
            wall_time_ms: value.get("wall_time").and_then(Value::as_u64),
        }
    }

    /// Whether the stage ended well: exit code 0, no signal, no status.
    pub fn succeeded(&self) -> bool {
        self.code == Some(0) && self.signal.is_none() && self.status.is_none()
    }

    /// Why the stage ended, when it was not a plain exit: Piston's status, signal and message.
    fn ending(&self, stage: &str) -> Option<String> {
        let reason = match self.status.as_deref() {
            Some("TO") => "it reached the time limit".to_owned(),
            Some("OL") => "its standard output exceeded the output limit".to_owned(),
            Some("EL") => "its standard error exceeded the output limit".to_owned(),
            Some("SG") => "it was killed by a signal".to_owned(),
            Some("XX") => "of an internal error of the engine".to_owned(),
            Some("RE") | None if self.signal.is_none() => return None,
            Some("RE") | None => "it was killed by a signal".to_owned(),
            Some(other) => format!("of status {other}"),
        };
        let mut note = format!("The {stage} stage was stopped because {reason}");
        if let Some(signal) = &self.signal {
            note.push_str(&format!(" ({signal})"));
        }
        if let Some(message) = &self.message {
            note.push_str(&format!(": {message}"));
        }
        note.push('.');
        Some(note)
    }
}

/// Whether a body (or its `properties`) is Piston-shaped: a `run` stage object.
pub fn is_piston(map: &Map<String, Value>) -> bool {
    map.get("run").is_some_and(Value::is_object)
}

/// Reads a Piston-shaped answer into an execution.
pub fn execution(map: &Map<String, Value>, id: Option<String>) -> Execution {
    let compile = map
        .get("compile")
        .filter(|c| c.is_object())
        .map(Stage::read);
    let run = map.get("run").map(Stage::read).unwrap_or_default();
    let mut notes = Vec::new();
    let (status, stdout, stderr) = match &compile {
        // Piston skips the run stage and copies the compile stage into `run`.
        Some(compile) if !compile.succeeded() => {
            notes.extend(compile.ending("compile"));
            let stderr = if compile.stderr.is_empty() && compile.code.is_some() {
                format!(
                    "the compiler exited with code {}",
                    compile.code.unwrap_or(-1)
                )
            } else {
                compile.stderr.clone()
            };
            (ExecutionStatus::Failed, compile.stdout.clone(), stderr)
        }
        _ => {
            notes.extend(run.ending("run"));
            let status = if run.succeeded() {
                ExecutionStatus::Succeeded
            } else {
                ExecutionStatus::Failed
            };
            let mut stderr = run.stderr.clone();
            if status == ExecutionStatus::Failed && stderr.trim().is_empty() {
                stderr = match (&run.status, run.code) {
                    (Some(s), _) if s == "TO" => "Time limit exceeded".to_owned(),
                    (_, Some(code)) => format!("the program exited with code {code}"),
                    _ => run.message.clone().unwrap_or_default(),
                };
            }
            (status, run.stdout.clone(), stderr)
        }
    };
    let raw_status = match status {
        ExecutionStatus::Succeeded => "0".to_owned(),
        ExecutionStatus::Failed => run
            .code
            .map(|c| c.to_string())
            .or(run.status.clone())
            .unwrap_or_else(|| "Failed".to_owned()),
    };
    let execution_time_ms = match &compile {
        Some(c) if !c.succeeded() => c.wall_time_ms,
        _ => run.wall_time_ms,
    };
    Execution {
        id,
        session_guid: None,
        status,
        raw_status,
        stdout,
        stderr,
        result: Value::Null,
        execution_time_ms,
        compile,
        notes,
        displays: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(body: Value) -> Execution {
        execution(body.as_object().unwrap(), None)
    }

    #[test]
    fn a_failed_compile_is_the_runs_failure_and_the_copied_run_is_ignored() {
        let stage = json!({"stdout": "", "stderr": "file0.code.cpp:3:5: error: expected ';'\n", "code": 1, "signal": null, "status": null, "message": null, "wall_time": 412});
        let e =
            read(json!({"language": "c++", "version": "10.2.0", "compile": stage, "run": stage}));
        assert_eq!(e.status, ExecutionStatus::Failed);
        assert!(e.stderr.starts_with("file0.code.cpp:3:5: error"), "{e:?}");
        assert_eq!(e.execution_time_ms, Some(412));
        assert!(!e.compile.as_ref().unwrap().succeeded());
    }

    #[test]
    fn a_compiled_program_that_runs_gives_the_run_stage() {
        let e = read(json!({
            "compile": {"stdout": "", "stderr": "warning: unused variable\n", "code": 0, "signal": null},
            "run": {"stdout": "42\n", "stderr": "", "code": 0, "signal": null, "status": null, "wall_time": 5},
        }));
        assert_eq!(e.status, ExecutionStatus::Succeeded);
        assert_eq!(e.stdout, "42\n");
        assert_eq!(e.stderr, "");
        assert_eq!(e.compile.unwrap().stderr, "warning: unused variable\n");
        assert!(e.notes.is_empty());
    }

    #[test]
    fn statuses_and_signals_say_why_the_run_ended() {
        let timed_out = read(
            json!({"run": {"stdout": "1\n", "stderr": "", "code": null, "signal": "SIGKILL", "status": "TO", "message": null}}),
        );
        assert_eq!(timed_out.status, ExecutionStatus::Failed);
        assert_eq!(timed_out.stdout, "1\n");
        assert_eq!(timed_out.stderr, "Time limit exceeded");
        assert!(
            timed_out.notes[0].contains("time limit"),
            "{:?}",
            timed_out.notes
        );
        assert!(timed_out.notes[0].contains("SIGKILL"));

        let cut = read(
            json!({"run": {"stdout": "1\n2\n", "code": null, "signal": "SIGKILL", "status": "OL", "message": "stdout length exceeded"}}),
        );
        assert!(
            cut.notes[0].ends_with("SIGKILL): stdout length exceeded."),
            "{:?}",
            cut.notes
        );

        let failed = read(
            json!({"run": {"stdout": "", "stderr": "Traceback…\nValueError: x\n", "code": 1, "status": "RE", "message": "Exited with error status 1"}}),
        );
        assert_eq!(failed.status, ExecutionStatus::Failed);
        assert!(failed.notes.is_empty(), "a plain error exit needs no note");
        assert_eq!(failed.raw_status, "1");

        let quiet = read(json!({"run": {"stdout": "", "stderr": "", "code": 3}}));
        assert_eq!(quiet.stderr, "the program exited with code 3");
    }

    #[test]
    fn output_only_answers_are_read() {
        let e = read(json!({"run": {"output": "boom\n", "code": 1}}));
        assert_eq!(e.stderr, "boom\n");
    }
}
