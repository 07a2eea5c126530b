//! One interpreter process of one session and the protocol spoken with its worker script.
//!
//! The child gets a protocol channel (JSON lines both ways: requests, `ready`, `done`): a
//! socketpair end as fd 3 on Unix, a token-guarded loopback connection on Windows (see
//! `platform::channel`), /dev/null as fd 0, and pipes as fds 1 and 2, which carry the user's output, including that of
//! child processes. The protocol is never on fds 0-2: those are what child processes inherit,
//! and a child reading its stdin would take the next request. The child leads its own process
//! group (a job object on Windows) so a timeout or a shutdown kills everything it started.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout};

use super::Language;
use super::capture::{Capture, labelled_earlier_output};
use crate::platform::ProcessGroup;
use crate::platform::channel::{ChannelRead, ChannelWrite, WorkerChannel};

/// How long a fresh interpreter may take to say it is ready.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to collect the last output of an interpreter that ended.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(500);
/// A protocol line longer than this means the worker is broken.
const MAX_PROTOCOL_LINE: usize = 64 << 20;
const READ_CHUNK: usize = 64 << 10;

pub const TIMEOUT_MESSAGE: &str = "Request timed out waiting for code execution to complete";

/// The process groups of all live interpreters and stages of a pool, so that dropping or shutting
/// down the pool kills them synchronously, whatever state their tasks are in.
#[derive(Clone, Default)]
pub struct ProcessTable(Arc<Mutex<HashMap<u64, Arc<ProcessGroup>>>>);

impl ProcessTable {
    pub(crate) fn insert(&self, group: Arc<ProcessGroup>) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(group.id(), group);
        }
    }

    pub(crate) fn remove(&self, group: &ProcessGroup) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(&group.id());
        }
    }

    pub fn kill_all(&self) {
        let groups: Vec<Arc<ProcessGroup>> = match self.0.lock() {
            Ok(mut map) => map.drain().map(|(_, g)| g).collect(),
            Err(_) => return,
        };
        for group in groups {
            group.kill();
        }
    }
}

/// How to start the interpreter of one language.
#[derive(Debug, Clone)]
pub struct Launcher {
    pub language: Language,
    pub program: String,
    pub worker: PathBuf,
}

impl Launcher {
    pub fn new(language: Language, runtime_dir: &Path) -> Self {
        let (program, worker) = match language {
            // Shell commands run without a worker (pool::shell); this launcher is never used.
            Language::Python | Language::Shell => (
                std::env::var("AZURE_SESSIONS_PYTHON")
                    .ok()
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| crate::platform::DEFAULT_PYTHON.to_string()),
                runtime_dir.join("worker.py"),
            ),
            Language::JavaScript => (
                std::env::var("AZURE_SESSIONS_NODE")
                    .ok()
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| "node".to_string()),
                runtime_dir.join("worker.js"),
            ),
        };
        Self {
            language,
            program,
            worker,
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        match self.language {
            Language::Python | Language::Shell => {
                cmd.arg("-u")
                    .arg(&self.worker)
                    .env("PYTHONUNBUFFERED", "1")
                    .env("PYTHONDONTWRITEBYTECODE", "1")
                    .env("PYTHONIOENCODING", "utf-8")
                    .env("MPLBACKEND", "Agg");
            }
            Language::JavaScript => {
                cmd.arg(&self.worker);
            }
        }
        cmd
    }

    fn hint(&self) -> &'static str {
        match self.language {
            Language::Python | Language::Shell => {
                "set AZURE_SESSIONS_PYTHON to a Python 3 executable"
            }
            Language::JavaScript => "set AZURE_SESSIONS_NODE to a Node.js executable",
        }
    }
}

/// How one execution ended.
#[derive(Debug)]
pub enum ExecEnd {
    /// The code ran to its end (`ok` false: it raised).
    Done {
        ok: bool,
        result: Value,
        /// Rich outputs (Jupyter's `display_data`/`execute_result`), for the Jupyter format.
        outputs: Vec<Value>,
        stdout: String,
        stderr: String,
    },
    /// The time limit passed; the interpreter was killed. The output is what came before.
    TimedOut { stdout: String, stderr: String },
    /// The interpreter ended during the execution; `reason` says how.
    Died {
        reason: String,
        stdout: String,
        stderr: String,
    },
    /// The session was stopped (deleted, expired, pool shutdown); the interpreter was killed.
    Stopped,
}

pub struct Interpreter {
    child: Child,
    group: Arc<ProcessGroup>,
    proto_r: ChannelRead,
    proto_w: ChannelWrite,
    proto_buf: Vec<u8>,
    stdout: ChildStdout,
    stderr: ChildStderr,
    out_leftover: Vec<u8>,
    err_leftover: Vec<u8>,
    processes: ProcessTable,
}

impl Drop for Interpreter {
    fn drop(&mut self) {
        self.group.kill();
        self.processes.remove(&self.group);
    }
}

impl Interpreter {
    /// Starts a worker in `cwd` and waits until it is ready.
    pub async fn start(
        launcher: &Launcher,
        cwd: &Path,
        processes: &ProcessTable,
    ) -> anyhow::Result<Self> {
        let mut cmd = launcher.command();
        cmd.current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        ProcessGroup::isolate(&mut cmd);
        let channel = WorkerChannel::prepare(&mut cmd)
            .await
            .context("creating the worker's channel")?;
        let spawned = cmd.spawn();
        // The command holds the child's end of the socket; it must go, or EOF never shows.
        drop(cmd);
        let mut child = spawned.with_context(|| {
            format!(
                "could not start `{}` ({})",
                launcher.program,
                launcher.hint()
            )
        })?;
        let group = Arc::new(
            ProcessGroup::of_tokio(&child)
                .ok_or_else(|| anyhow!("the interpreter exited at once"))?,
        );
        processes.insert(group.clone());
        let (stdout, stderr) = match (child.stdout.take(), child.stderr.take()) {
            (Some(out), Some(err)) => (out, err),
            _ => bail!("the interpreter's output pipes are missing"),
        };
        // A worker that fails before it connects (a loopback channel) ends: say why at once.
        let connected = tokio::select! {
            r = timeout(STARTUP_TIMEOUT, channel.connect()) => Some(r),
            _ = child.wait() => None,
        };
        let (proto_r, proto_w) = match connected {
            Some(Ok(Ok(halves))) => halves,
            other => {
                group.kill();
                processes.remove(&group);
                let mut stderr = stderr;
                let mut err = Vec::new();
                let _ = timeout(DRAIN_TIMEOUT, stderr.read_to_end(&mut err)).await;
                let why = match other {
                    Some(Ok(Err(e))) => format!("connecting to it failed: {e}"),
                    Some(Err(_)) => {
                        format!("it did not connect within {} s", STARTUP_TIMEOUT.as_secs())
                    }
                    _ => String::from_utf8_lossy(&err).trim().to_owned(),
                };
                bail!(
                    "`{}` did not start the pool's worker ({}): {why}",
                    launcher.program,
                    launcher.hint(),
                )
            }
        };
        let mut interp = Interpreter {
            child,
            group,
            proto_r,
            proto_w,
            proto_buf: Vec::new(),
            stdout,
            stderr,
            out_leftover: Vec::new(),
            err_leftover: Vec::new(),
            processes: processes.clone(),
        };
        match timeout(
            STARTUP_TIMEOUT,
            read_message(&mut interp.proto_r, &mut interp.proto_buf),
        )
        .await
        {
            Ok(Some(msg)) if msg.get("op").and_then(Value::as_str) == Some("ready") => Ok(interp),
            Ok(_) => {
                let mut err = Vec::new();
                let _ = timeout(DRAIN_TIMEOUT, interp.stderr.read_to_end(&mut err)).await;
                let text = String::from_utf8_lossy(&err);
                bail!(
                    "`{}` did not start the pool's worker ({}): {}",
                    launcher.program,
                    launcher.hint(),
                    text.trim()
                )
            }
            Err(_) => bail!(
                "`{}` did not become ready within {} s",
                launcher.program,
                STARTUP_TIMEOUT.as_secs()
            ),
        }
    }

    /// If the process has ended (on its own, between executions), says how.
    pub fn exit_reason(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(describe_exit(status)),
            Ok(None) => None,
            Err(e) => Some(format!("its state could not be read: {e}")),
        }
    }

    /// Runs one piece of code. `cap` bounds the bytes kept per output stream.
    pub async fn execute(
        &mut self,
        code: &str,
        stdin: Option<&str>,
        limit: Duration,
        cap: usize,
        stop: &mut watch::Receiver<bool>,
    ) -> ExecEnd {
        let marker = format!("\u{1e}AZSP-END-{}\u{1e}", uuid::Uuid::new_v4().simple());
        let mut out = Capture::new(marker.as_bytes(), cap);
        let mut err = Capture::new(marker.as_bytes(), cap);
        // Output that background work wrote after the last execution ended comes first, labelled.
        read_waiting(&mut self.stdout, &mut self.out_leftover, cap).await;
        read_waiting(&mut self.stderr, &mut self.err_leftover, cap).await;
        out.feed(&labelled_earlier_output(std::mem::take(
            &mut self.out_leftover,
        )));
        err.feed(&labelled_earlier_output(std::mem::take(
            &mut self.err_leftover,
        )));
        let deadline = Instant::now() + limit;

        let mut request = serde_json::json!({
            "op": "exec", "code": code, "stdin": stdin, "marker": marker,
        })
        .to_string();
        request.push('\n');
        let sent = tokio::select! {
            r = self.proto_w.write_all(request.as_bytes()) => r.is_ok(),
            _ = sleep_until(deadline) => {
                self.kill().await;
                self.drain(&mut out, &mut err).await;
                return ExecEnd::TimedOut {
                    stdout: out.into_parts().0,
                    stderr: err.into_parts().0,
                };
            }
        };

        let mut done: Option<(bool, Value, Vec<Value>)> = None;
        let mut ended = !sent;
        let (mut ob, mut eb) = (vec![0u8; READ_CHUNK], vec![0u8; READ_CHUNK]);
        loop {
            let complete = done.is_some() && out.finished() && err.finished();
            if ended || complete {
                break;
            }
            tokio::select! {
                changed = stop.changed() => {
                    // A dropped sender means the session is gone as well.
                    if changed.is_err() || *stop.borrow() {
                        self.kill().await;
                        return ExecEnd::Stopped;
                    }
                }
                _ = sleep_until(deadline) => {
                    self.kill().await;
                    self.drain(&mut out, &mut err).await;
                    return ExecEnd::TimedOut {
                        stdout: out.into_parts().0,
                        stderr: err.into_parts().0,
                    };
                }
                r = self.stdout.read(&mut ob), if !out.finished() => feed(&mut out, r, &ob),
                r = self.stderr.read(&mut eb), if !err.finished() => feed(&mut err, r, &eb),
                msg = read_message(&mut self.proto_r, &mut self.proto_buf), if done.is_none() => {
                    match msg {
                        Some(msg) => done = parse_done(&msg).or(done),
                        None => ended = true,
                    }
                }
                _ = self.child.wait(), if done.is_none() => ended = true,
            }
        }

        if ended {
            // The worker may have answered just before it ended; then the execution completed.
            while done.is_none() {
                match timeout(
                    DRAIN_TIMEOUT,
                    read_message(&mut self.proto_r, &mut self.proto_buf),
                )
                .await
                {
                    Ok(Some(msg)) => done = parse_done(&msg),
                    _ => break,
                }
            }
            self.drain(&mut out, &mut err).await;
        }

        match done {
            Some((ok, result, outputs)) => {
                let (stdout, out_rest) = out.into_parts();
                let (stderr, err_rest) = err.into_parts();
                self.out_leftover = out_rest;
                self.err_leftover = err_rest;
                ExecEnd::Done {
                    ok,
                    result,
                    outputs,
                    stdout,
                    stderr,
                }
            }
            None => {
                let reason = match timeout(Duration::from_secs(2), self.child.wait()).await {
                    Ok(Ok(status)) => describe_exit(status),
                    _ => {
                        self.kill().await;
                        "the interpreter stopped answering".to_string()
                    }
                };
                ExecEnd::Died {
                    reason,
                    stdout: out.into_parts().0,
                    stderr: err.into_parts().0,
                }
            }
        }
    }

    /// Collects what the ended interpreter wrote last (a grandchild may hold the pipes open:
    /// bounded wait), then closes both captures.
    async fn drain(&mut self, out: &mut Capture, err: &mut Capture) {
        let (mut ob, mut eb) = (vec![0u8; READ_CHUNK], vec![0u8; READ_CHUNK]);
        let drain_until = Instant::now() + DRAIN_TIMEOUT;
        while !(out.finished() && err.finished()) {
            tokio::select! {
                _ = sleep_until(drain_until) => break,
                r = self.stdout.read(&mut ob), if !out.finished() => feed(out, r, &ob),
                r = self.stderr.read(&mut eb), if !err.finished() => feed(err, r, &eb),
            }
        }
        out.close();
        err.close();
    }

    /// Kills the process group and reaps the interpreter.
    pub async fn kill(&mut self) {
        self.group.kill();
        let _ = self.child.start_kill();
        let _ = timeout(Duration::from_secs(2), self.child.wait()).await;
    }
}

/// Reads the next protocol message; `None` when the socket ended or the worker is broken.
/// Cancel safe: bytes read so far stay in `buf`.
async fn read_message(reader: &mut ChannelRead, buf: &mut Vec<u8>) -> Option<Value> {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            match serde_json::from_slice::<Value>(&line) {
                Ok(value) => return Some(value),
                Err(_) => continue,
            }
        }
        if buf.len() > MAX_PROTOCOL_LINE {
            return None;
        }
        match reader.read(&mut chunk).await {
            Ok(n) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
}

/// Reads what a stream holds already, without waiting (at most `cap` bytes; `into` keeps up to
/// `cap`): output written between two executions.
async fn read_waiting<R: AsyncRead + Unpin>(stream: &mut R, into: &mut Vec<u8>, cap: usize) {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut read = 0;
    while read < cap {
        // A zero timeout still polls the read once: it completes only if bytes are there.
        match timeout(Duration::ZERO, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                read += n;
                let room = cap.saturating_sub(into.len());
                into.extend_from_slice(&buf[..n.min(room)]);
            }
            _ => break,
        }
    }
}

fn feed(capture: &mut Capture, read: std::io::Result<usize>, buf: &[u8]) {
    match read {
        Ok(n) if n > 0 => capture.feed(&buf[..n]),
        _ => capture.close(),
    }
}

fn parse_done(msg: &Value) -> Option<(bool, Value, Vec<Value>)> {
    if msg.get("op").and_then(Value::as_str) != Some("done") {
        return None;
    }
    let ok = msg.get("ok").and_then(Value::as_bool).unwrap_or(false);
    let result = msg.get("result").cloned().unwrap_or(Value::Null);
    let outputs = match msg.get("outputs") {
        Some(Value::Array(outputs)) => outputs.clone(),
        _ => Vec::new(),
    };
    Some((ok, result, outputs))
}

fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), crate::platform::exit_signal(&status)) {
        (Some(code), _) => format!("the interpreter exited with code {code}"),
        (None, Some(signal)) => format!("the interpreter was killed by signal {signal}"),
        _ => "the interpreter ended".to_string(),
    }
}
