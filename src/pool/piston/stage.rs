//! One stage of a Piston-like job (compile or run): one process group with its cwd in the job
//! directory. The group is killed when the stage's wall time runs out, when a stream passes the
//! output cap, when the stage's main process ends (whatever it left behind goes with it, as when
//! isolate ends a box), when the session is stopped, and when the request is dropped. CPU time
//! comes from wait4(2) (a job object's accounting on Windows); memory is not measured (null).

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

use crate::platform::{KILL_SIGNAL, LeaderExit, ProcessGroup};
use crate::pool::interpreter::ProcessTable;

/// How long to collect output after a stage's main process ended (a process that left the
/// group may hold the pipes open).
const DRAIN_TIMEOUT: Duration = Duration::from_millis(500);
const READ_CHUNK: usize = 64 << 10;

/// What one stage produced, in Piston's shape.
#[derive(Debug, Clone, Default)]
pub struct Stage {
    pub stdout: String,
    pub stderr: String,
    /// stdout and stderr interleaved in the order they arrived.
    pub output: String,
    pub code: Option<i32>,
    pub signal: Option<&'static str>,
    pub message: Option<String>,
    pub status: Option<&'static str>,
    pub cpu_time: Option<u64>,
    pub wall_time: Option<u64>,
    /// Always null: without a cgroup there is no honest peak (a child's `ru_maxrss` counts the
    /// pool's own memory, which it had until its exec).
    pub memory: Option<u64>,
}

impl Stage {
    pub fn to_json(&self) -> Value {
        json!({
            "stdout": self.stdout,
            "stderr": self.stderr,
            "output": self.output,
            "code": self.code,
            "signal": self.signal,
            "message": self.message,
            "status": self.status,
            "cpu_time": self.cpu_time,
            "wall_time": self.wall_time,
            "memory": self.memory,
        })
    }

    /// A stage the pool could not run (Piston's `XX`, internal error).
    fn internal(message: String, started: Instant) -> Stage {
        Stage {
            message: Some(message),
            status: Some("XX"),
            wall_time: Some(millis(started.elapsed())),
            ..Stage::default()
        }
    }
}

/// What the stages of one job share.
pub struct Runner<'a> {
    pub dir: &'a Path,
    pub language: &'static str,
    pub stdin: &'a str,
    pub output_cap: usize,
    pub processes: &'a ProcessTable,
}

/// The process group (job object) of a running stage, and the table it is listed in until its
/// leader is reaped.
struct Group {
    group: Arc<ProcessGroup>,
    processes: ProcessTable,
}

impl Group {
    fn kill(&self) {
        self.group.kill();
    }

    /// Blocks until the leader ends, kills what is left of its group, then reaps the leader.
    fn wait(&self) -> Option<LeaderExit> {
        let exit = self.group.wait_leader();
        self.processes.remove(&self.group);
        exit
    }
}

/// Kills the stage's group when the stage ends any way at all, a dropped request included.
struct KillOnDrop(Arc<Group>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.0.kill();
    }
}

/// One output stream of a stage: the bytes kept, and the bytes of a character that a read
/// split, held back from `output` until the rest arrives.
#[derive(Default)]
struct Stream {
    kept: Vec<u8>,
    partial: Vec<u8>,
    over: bool,
}

impl Runner<'_> {
    /// Runs `command` (`./name`: a file of the job) with the job's stdin, for at most `limit`.
    pub async fn stage(
        &self,
        command: &[String],
        limit: Duration,
        stop: &mut watch::Receiver<bool>,
    ) -> Stage {
        let started = Instant::now();
        let Some((program, args)) = command.split_first() else {
            return Stage::internal("the runtime has no command".into(), started);
        };
        // Programs of the job itself (`./a.out`, `./binary`) are in its directory.
        let program = match program.strip_prefix("./") {
            Some(file) => self.dir.join(file).into_os_string(),
            None => program.into(),
        };
        let mut cmd = std::process::Command::new(&program);
        cmd.args(args)
            .current_dir(self.dir)
            .env("PISTON_LANGUAGE", self.language)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        ProcessGroup::isolate_std(&mut cmd);
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => {
                return Stage::internal(
                    format!("{} could not be started: {e}", program.to_string_lossy()),
                    started,
                );
            }
        };
        let Some(process_group) = ProcessGroup::of_std(&child) else {
            let _ = child.kill();
            let _ = child.wait();
            return Stage::internal(
                "the stage's process group could not be made".into(),
                started,
            );
        };
        let process_group = Arc::new(process_group);
        self.processes.insert(process_group.clone());
        let group = Arc::new(Group {
            group: process_group,
            processes: self.processes.clone(),
        });
        let _kill = KillOnDrop(group.clone());
        let mut out = child
            .stdout
            .take()
            .and_then(|p| tokio::process::ChildStdout::from_std(p).ok());
        let mut err = child
            .stderr
            .take()
            .and_then(|p| tokio::process::ChildStderr::from_std(p).ok());
        // Piston writes the job's stdin to every stage and closes it.
        let feed = child
            .stdin
            .take()
            .and_then(|p| tokio::process::ChildStdin::from_std(p).ok())
            .map(|mut pipe| {
                let input = self.stdin.to_owned();
                AbortOnDrop(tokio::spawn(async move {
                    let _ = pipe.write_all(input.as_bytes()).await;
                }))
            });
        // The std handle neither kills nor waits when dropped; the group does both.
        drop(child);
        let waiting = group.clone();
        let mut waiter = tokio::task::spawn_blocking(move || waiting.wait());

        let deadline = started + limit;
        let mut exit: Option<Option<LeaderExit>> = None;
        let mut drain_until: Option<Instant> = None;
        let mut status: Option<&'static str> = None;
        let mut message: Option<String> = None;
        let mut stopped = false;
        let (mut stdout, mut stderr) = (Stream::default(), Stream::default());
        let mut output = String::new();
        let (mut ob, mut eb) = (vec![0u8; READ_CHUNK], vec![0u8; READ_CHUNK]);
        let cap = self.output_cap;
        loop {
            if exit.is_some() && out.is_none() && err.is_none() {
                break;
            }
            tokio::select! {
                n = read_some(&mut out, &mut ob), if out.is_some() => {
                    if n == 0 {
                        out = None;
                    } else if stdout.accept(&ob[..n], cap, &mut output) && status.is_none() {
                        status = Some("OL");
                        message = Some("stdout length exceeded".into());
                        group.kill();
                    }
                }
                n = read_some(&mut err, &mut eb), if err.is_some() => {
                    if n == 0 {
                        err = None;
                    } else if stderr.accept(&eb[..n], cap, &mut output) && status.is_none() {
                        status = Some("EL");
                        message = Some("stderr length exceeded".into());
                        group.kill();
                    }
                }
                waited = &mut waiter, if exit.is_none() => {
                    exit = Some(waited.ok().flatten());
                    drain_until = Some(Instant::now() + DRAIN_TIMEOUT);
                }
                _ = sleep_until(deadline), if exit.is_none() && status.is_none() => {
                    status = Some("TO");
                    // isolate's words for a wall-time kill.
                    message = Some("Time limit exceeded (wall clock)".into());
                    group.kill();
                }
                _ = sleep_until(drain_until.unwrap_or(deadline)), if drain_until.is_some() => break,
                changed = stop.changed(), if !stopped && exit.is_none() => {
                    if changed.is_err() || *stop.borrow() {
                        stopped = true;
                        group.kill();
                    }
                }
            }
        }
        drop(feed);
        stdout.flush(&mut output);
        stderr.flush(&mut output);

        let mut stage = Stage {
            stdout: String::from_utf8_lossy(&stdout.kept).into_owned(),
            stderr: String::from_utf8_lossy(&stderr.kept).into_owned(),
            output,
            wall_time: Some(millis(started.elapsed())),
            ..Stage::default()
        };
        let Some(ended) = exit.flatten() else {
            stage.status = Some("XX");
            stage.message = Some("the stage's process could not be waited for".into());
            return stage;
        };
        // `memory` stays null: without a cgroup there is no honest peak. ru_maxrss would count
        // the pool's own resident memory, which the child had until its exec.
        stage.cpu_time = ended.cpu_millis;
        match (status, ended.code, ended.signal) {
            // Piston reports SIGKILL for every stage it ended itself.
            (Some(status), _, _) => {
                stage.status = Some(status);
                stage.message = message;
                stage.signal = Some("SIGKILL");
            }
            (None, Some(0), _) => stage.code = Some(0),
            (None, Some(code), _) => {
                stage.code = Some(code);
                stage.status = Some("RE");
                stage.message = Some(format!("Exited with error status {code}"));
            }
            (None, None, signal) => {
                let signal = signal.unwrap_or(KILL_SIGNAL);
                stage.signal = signal_name(signal);
                stage.status = Some("SG");
                stage.message = Some(if stopped {
                    "The session was stopped (deleted or expired) while this job ran".into()
                } else {
                    format!("Caught fatal signal {signal}")
                });
            }
        }
        stage
    }
}

impl Stream {
    /// Keeps what fits under `cap` and adds it to `output`; true when bytes went over the cap.
    fn accept(&mut self, data: &[u8], cap: usize, output: &mut String) -> bool {
        if self.over {
            return false;
        }
        let room = cap.saturating_sub(self.kept.len());
        let take = room.min(data.len());
        self.kept.extend_from_slice(&data[..take]);
        self.partial.extend_from_slice(&data[..take]);
        decode_complete(&mut self.partial, output);
        if take < data.len() {
            self.over = true;
            return true;
        }
        false
    }

    fn flush(&mut self, output: &mut String) {
        if !self.partial.is_empty() {
            output.push_str(&String::from_utf8_lossy(&self.partial));
            self.partial.clear();
        }
    }
}

/// Moves the complete characters of `pending` into `output` (invalid bytes as U+FFFD), keeping
/// an incomplete character at its end for the next read.
fn decode_complete(pending: &mut Vec<u8>, output: &mut String) {
    let mut at = 0;
    while at < pending.len() {
        match std::str::from_utf8(&pending[at..]) {
            Ok(text) => {
                output.push_str(text);
                at = pending.len();
            }
            Err(e) => {
                let valid = e.valid_up_to();
                output.push_str(&String::from_utf8_lossy(&pending[at..at + valid]));
                match e.error_len() {
                    Some(bad) => {
                        output.push('\u{FFFD}');
                        at += valid + bad;
                    }
                    None => {
                        at += valid;
                        break;
                    }
                }
            }
        }
    }
    pending.drain(..at);
}

async fn read_some<R: AsyncRead + Unpin>(pipe: &mut Option<R>, buf: &mut [u8]) -> usize {
    match pipe {
        Some(pipe) => pipe.read(buf).await.unwrap_or(0),
        None => std::future::pending().await,
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Linux's signal names, as Piston's `globals.SIGNALS` lists them.
fn signal_name(signal: i32) -> Option<&'static str> {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    usize::try_from(signal)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| NAMES.get(i).copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keeps_characters_whole_across_reads() {
        let mut out = String::new();
        let mut s = Stream::default();
        let euro = "€".as_bytes();
        assert!(!s.accept(&[b'a', euro[0]], 100, &mut out));
        assert_eq!(out, "a");
        assert!(!s.accept(&euro[1..], 100, &mut out));
        assert_eq!(out, "a€");
        assert!(!s.accept(&[0xff, b'b'], 100, &mut out));
        assert_eq!(out, "a€\u{FFFD}b");
    }

    #[test]
    fn a_stream_over_the_cap_keeps_the_cap() {
        let mut out = String::new();
        let mut s = Stream::default();
        assert!(!s.accept(b"abc", 5, &mut out));
        assert!(s.accept(b"defg", 5, &mut out));
        assert_eq!(s.kept, b"abcde");
        assert!(!s.accept(b"more", 5, &mut out), "reported once");
        assert_eq!(out, "abcde");
    }

    #[test]
    fn signal_names_follow_linux_numbers() {
        assert_eq!(signal_name(9), Some("SIGKILL"));
        assert_eq!(signal_name(11), Some("SIGSEGV"));
        assert_eq!(signal_name(6), Some("SIGABRT"));
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(64), None);
    }
}
