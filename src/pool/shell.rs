//! The local pool's Shell mode, like Azure's Shell pools: each execution is one `bash` command
//! (`shellCommand`) run in the session's directory with its `stdin`, and its exit code is the
//! execution's status. Files persist between commands; shell variables do not (each command is
//! its own process, as on Azure).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::session::Outcome;
use crate::platform::ProcessGroup;

/// Runs one command; the outcome's `result` is its exit code (`null` when it was killed).
pub async fn run(
    dir: &Path,
    command: &str,
    stdin: Option<&str>,
    limit: Duration,
    output_cap: usize,
) -> Outcome {
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    ProcessGroup::isolate(&mut cmd);
    let spawned = cmd.spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            return Outcome {
                ok: false,
                stdout: String::new(),
                stderr: format!("[local pool] bash could not be started: {error}"),
                result: Value::Null,
                outputs: Vec::new(),
                elapsed: started.elapsed(),
            };
        }
    };
    let group = ProcessGroup::of_tokio(&child);
    let mut input = child.stdin.take();
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let input_text = stdin.unwrap_or("").to_owned();
    let work = async {
        let feed = async {
            if let Some(mut pipe) = input.take() {
                let _ = pipe.write_all(input_text.as_bytes()).await;
            }
        };
        let (_, stdout, stderr, status) = tokio::join!(
            feed,
            read_capped(out.as_mut(), output_cap),
            read_capped(err.as_mut(), output_cap),
            child.wait()
        );
        (stdout, stderr, status)
    };
    match tokio::time::timeout(limit, work).await {
        Ok((stdout, stderr, status)) => {
            let code = status.ok().and_then(|s| s.code());
            Outcome {
                ok: code == Some(0),
                stdout,
                stderr,
                result: code.map(Value::from).unwrap_or(Value::Null),
                outputs: Vec::new(),
                elapsed: started.elapsed(),
            }
        }
        Err(_) => {
            if let Some(group) = &group {
                group.kill();
            }
            Outcome {
                ok: false,
                stdout: String::new(),
                stderr: "Request timed out waiting for code execution to complete".to_owned(),
                result: Value::Null,
                outputs: Vec::new(),
                elapsed: started.elapsed(),
            }
        }
    }
}

async fn read_capped(pipe: Option<&mut (impl tokio::io::AsyncRead + Unpin)>, cap: usize) -> String {
    let Some(pipe) = pipe else {
        return String::new();
    };
    let mut kept = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            // Read to the end (so the command never blocks on a full pipe), keep up to the cap.
            Ok(n) => kept.extend_from_slice(&chunk[..n.min(cap.saturating_sub(kept.len()))]),
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}
