//! The session registry and the per-session actor.
//!
//! Each session is a data directory plus an actor task that owns the session's interpreters and
//! runs its executions one at a time, fed by a channel; different sessions run in parallel. No
//! lock is held across an `.await`.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::Language;
use super::errors::PoolError;
use super::interpreter::{ExecEnd, Interpreter, Launcher, ProcessTable, TIMEOUT_MESSAGE};

/// How many past executions of a session `GET /executions/{id}` can still answer.
const KEPT_EXECUTIONS: usize = 32;

/// The pool's configuration as the sessions use it.
#[derive(Debug)]
pub struct Settings {
    pub language: Language,
    pub cooldown: Duration,
    pub max_sessions: usize,
    pub max_timeout: Duration,
    pub output_cap: usize,
    pub sessions_dir: PathBuf,
    pub uploads_dir: PathBuf,
    pub python: Launcher,
    pub javascript: Launcher,
}

impl Settings {
    fn launcher(&self, language: Language) -> &Launcher {
        match language {
            Language::JavaScript => &self.javascript,
            // Shell commands need no interpreter (see `shell`); Python is the default slot.
            Language::Python | Language::Shell => &self.python,
        }
    }
}

/// What one execution produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
    pub result: Value,
    /// Rich outputs of the run (figures, the last value's MIME bundle), Jupyter-shaped.
    pub outputs: Vec<Value>,
    pub elapsed: Duration,
}

/// A point-in-time view of a session, for `GET /session` and friends.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub identifier: String,
    pub created_at: OffsetDateTime,
    pub last_accessed_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub etag: String,
}

struct Job {
    language: Language,
    code: String,
    stdin: Option<String>,
    limit: Duration,
    reply: oneshot::Sender<Outcome>,
}

struct State {
    /// When the current interpreter generation began; renewed when an interpreter is replaced.
    created_at: OffsetDateTime,
    etag: String,
    last_accessed_at: OffsetDateTime,
    last_touch: Instant,
    executions: VecDeque<(String, Value)>,
}

impl State {
    fn renew(&mut self) {
        self.created_at = OffsetDateTime::now_utc();
        self.etag = Uuid::new_v4().to_string();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic elsewhere must not take the session down with it.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub struct Session {
    pub identifier: String,
    /// Reported as `x-ms-session-guid`.
    pub guid: Uuid,
    pub dir: PathBuf,
    cooldown: Duration,
    jobs: mpsc::Sender<Job>,
    stop: watch::Sender<bool>,
    state: Arc<Mutex<State>>,
    busy: AtomicUsize,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Session {
    pub fn touch(&self) {
        let mut state = lock(&self.state);
        state.last_accessed_at = OffsetDateTime::now_utc();
        state.last_touch = Instant::now();
    }

    pub fn view(&self) -> SessionView {
        let state = lock(&self.state);
        SessionView {
            identifier: self.identifier.clone(),
            created_at: state.created_at,
            last_accessed_at: state.last_accessed_at,
            expires_at: state.last_accessed_at + self.cooldown,
            etag: state.etag.clone(),
        }
    }

    fn expired(&self) -> bool {
        self.busy.load(Ordering::SeqCst) == 0
            && lock(&self.state).last_touch.elapsed() >= self.cooldown
    }

    /// Runs code in this session's interpreter of `language`, after the executions queued before.
    pub async fn execute(
        &self,
        language: Language,
        code: String,
        stdin: Option<String>,
        limit: Duration,
    ) -> Outcome {
        // A guard, so that a client hanging up mid-execution cannot leave the session "busy"
        // (which would keep it from ever expiring).
        let _busy = Busy::enter(self);
        let (reply, answer) = oneshot::channel();
        let job = Job {
            language,
            code,
            stdin,
            limit,
            reply,
        };
        let outcome = match self.jobs.send(job).await {
            Ok(()) => answer.await.ok(),
            Err(_) => None,
        };
        outcome.unwrap_or_else(|| Outcome {
            ok: false,
            stdout: String::new(),
            stderr: "[local pool] The session was stopped (deleted or expired) while this code was waiting or running.".into(),
            result: Value::from(""),
            outputs: Vec::new(),
            elapsed: Duration::ZERO,
        })
    }

    /// Marks the session busy (it cannot expire) until the guard drops, for work that does not
    /// go through its queue: the Piston-like jobs of the custom route.
    pub fn hold(&self) -> Busy<'_> {
        Busy::enter(self)
    }

    /// Turns true (or closes) when the session is stopped: deleted, expired, or the pool shut
    /// down.
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Keeps (or, for a long-running execution that ended, replaces) an execution's record.
    pub fn record_execution(&self, id: String, resource: Value) {
        let mut state = lock(&self.state);
        if let Some(known) = state.executions.iter_mut().find(|(known, _)| *known == id) {
            known.1 = resource;
            return;
        }
        if state.executions.len() >= KEPT_EXECUTIONS {
            state.executions.pop_front();
        }
        state.executions.push_back((id, resource));
    }

    pub fn execution(&self, id: &str) -> Option<Value> {
        lock(&self.state)
            .executions
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, resource)| resource.clone())
    }

    /// Stops the session: kills its interpreters and deletes its files.
    async fn close(&self) {
        self.stop.send_replace(true);
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        // The actor removes the directory; this covers an actor that never got to.
        let _ = tokio::fs::remove_dir_all(&self.dir).await;
    }
}

/// Marks a session busy while an execution is queued or running; touches it when done.
pub struct Busy<'a>(&'a Session);

impl<'a> Busy<'a> {
    fn enter(session: &'a Session) -> Self {
        session.busy.fetch_add(1, Ordering::SeqCst);
        Busy(session)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// All live sessions of a pool.
pub struct Registry {
    settings: Arc<Settings>,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    counter: AtomicU64,
    processes: ProcessTable,
}

impl Registry {
    pub fn new(settings: Arc<Settings>, processes: ProcessTable) -> Self {
        Self {
            settings,
            sessions: Mutex::new(HashMap::new()),
            counter: AtomicU64::new(0),
            processes,
        }
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An existing session (touched), or `None`.
    pub fn get(&self, identifier: &str) -> Option<Arc<Session>> {
        let map = self.map();
        let session = map.get(identifier)?.clone();
        session.touch();
        Some(session)
    }

    /// The session of `identifier`, allocated on first use as Azure does.
    pub fn get_or_create(&self, identifier: &str) -> Result<Arc<Session>, PoolError> {
        let mut map = self.map();
        if let Some(session) = map.get(identifier) {
            session.touch();
            return Ok(session.clone());
        }
        if map.len() >= self.settings.max_sessions {
            // Azure's documented answer at maxConcurrentSessions is a 404 (session-pool.md).
            return Err(PoolError::new(
                StatusCode::NOT_FOUND,
                "SessionsCountExceedsLimit",
                format!(
                    "The request sessions count is '1'. There are already '{}' active sessions and the maximum active sessions count is '{}'.",
                    map.len(),
                    self.settings.max_sessions
                ),
            ));
        }
        let session = Arc::new(self.spawn_session(identifier)?);
        map.insert(identifier.to_string(), session.clone());
        Ok(session)
    }

    fn spawn_session(&self, identifier: &str) -> Result<Session, PoolError> {
        // Never the raw identifier on disk: a hash, plus a counter so that a re-created session
        // never shares a directory with the one being deleted.
        let digest = Sha256::digest(identifier.as_bytes());
        let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let dir = self.settings.sessions_dir.join(format!("{hash}-{n}"));
        std::fs::create_dir_all(&dir).map_err(|e| {
            PoolError::internal(format!("could not create the session's directory: {e}"))
        })?;
        let now = OffsetDateTime::now_utc();
        let state = Arc::new(Mutex::new(State {
            created_at: now,
            etag: Uuid::new_v4().to_string(),
            last_accessed_at: now,
            last_touch: Instant::now(),
            executions: VecDeque::new(),
        }));
        let (jobs, rx) = mpsc::channel(64);
        let (stop, stop_rx) = watch::channel(false);
        let actor = Actor {
            settings: self.settings.clone(),
            processes: self.processes.clone(),
            dir: dir.clone(),
            state: state.clone(),
            slots: Default::default(),
        };
        let task = tokio::spawn(actor.run(rx, stop_rx));
        Ok(Session {
            identifier: identifier.to_string(),
            guid: Uuid::new_v4(),
            dir,
            cooldown: self.settings.cooldown,
            jobs,
            stop,
            state,
            busy: AtomicUsize::new(0),
            task: Mutex::new(Some(task)),
        })
    }

    /// Deletes a session; `false` if there was none.
    pub async fn remove(&self, identifier: &str) -> bool {
        let removed = self.map().remove(identifier);
        match removed {
            Some(session) => {
                session.close().await;
                true
            }
            None => false,
        }
    }

    pub fn list(&self) -> Vec<Arc<Session>> {
        let mut sessions: Vec<_> = self.map().values().cloned().collect();
        sessions.sort_by(|a, b| a.identifier.cmp(&b.identifier));
        sessions
    }

    /// Ends the sessions idle for longer than the cooldown (like Azure: files and state go).
    pub async fn reap_expired(&self) {
        let expired: Vec<Arc<Session>> = {
            let mut map = self.map();
            let ids: Vec<String> = map
                .iter()
                .filter(|(_, s)| s.expired())
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter().filter_map(|id| map.remove(id)).collect()
        };
        for session in expired {
            tracing::debug!(identifier = %session.identifier, "local pool: session expired");
            session.close().await;
        }
    }

    pub async fn close_all(&self) {
        let all: Vec<Arc<Session>> = self.map().drain().map(|(_, s)| s).collect();
        futures::future::join_all(all.iter().map(|s| s.close())).await;
    }
}

/// One interpreter per language, started lazily; `ended` remembers why the last one ended.
#[derive(Default)]
struct Slot {
    interpreter: Option<Interpreter>,
    ended: Option<String>,
}

struct Actor {
    settings: Arc<Settings>,
    processes: ProcessTable,
    dir: PathBuf,
    state: Arc<Mutex<State>>,
    slots: [Slot; 2],
}

impl Actor {
    async fn run(mut self, mut jobs: mpsc::Receiver<Job>, mut stop: watch::Receiver<bool>) {
        loop {
            let job = tokio::select! {
                biased;
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break;
                    }
                    continue;
                }
                job = jobs.recv() => match job {
                    Some(job) => job,
                    None => break,
                },
            };
            let outcome = self.execute(&job, &mut stop).await;
            let _ = job.reply.send(outcome);
            if *stop.borrow() {
                break;
            }
        }
        // Dropping the interpreters kills their process groups.
        self.slots = Default::default();
        let _ = tokio::fs::remove_dir_all(&self.dir).await;
    }

    async fn execute(&mut self, job: &Job, stop: &mut watch::Receiver<bool>) -> Outcome {
        let index = match job.language {
            Language::Python => 0,
            Language::JavaScript => 1,
            Language::Shell => {
                return super::shell::run(
                    &self.dir,
                    &job.code,
                    job.stdin.as_deref(),
                    job.limit,
                    self.settings.output_cap,
                )
                .await;
            }
        };
        let failed = |stderr: String, elapsed: Duration| Outcome {
            ok: false,
            stdout: String::new(),
            stderr,
            result: Value::from(""),
            outputs: Vec::new(),
            elapsed,
        };

        // An interpreter that died between executions is replaced, with a note.
        let died_idle = self.slots[index]
            .interpreter
            .as_mut()
            .and_then(Interpreter::exit_reason);
        if let Some(reason) = died_idle {
            self.slots[index].interpreter = None;
            self.slots[index].ended = Some(reason);
            lock(&self.state).renew();
        }
        let note = self.slots[index].ended.take().map(|reason| {
            format!(
                "[local pool] The previous interpreter of this session ended ({reason}); this is a fresh interpreter: earlier variables are gone.\n"
            )
        });

        let interpreter = match self.slots[index].interpreter.take() {
            Some(interpreter) => interpreter,
            None => {
                let launcher = self.settings.launcher(job.language);
                match Interpreter::start(launcher, &self.dir, &self.processes).await {
                    Ok(interpreter) => interpreter,
                    Err(e) => {
                        tracing::warn!("local pool: {e:#}");
                        return failed(
                            format!(
                                "{}[local pool] The interpreter could not be started: {e:#}",
                                note.unwrap_or_default()
                            ),
                            Duration::ZERO,
                        );
                    }
                }
            }
        };
        let slot = &mut self.slots[index];
        let interpreter = slot.interpreter.insert(interpreter);

        let started = Instant::now();
        let end = interpreter
            .execute(
                &job.code,
                job.stdin.as_deref(),
                job.limit,
                self.settings.output_cap,
                stop,
            )
            .await;
        let elapsed = started.elapsed();
        let note = note.unwrap_or_default();
        match end {
            ExecEnd::Done {
                ok,
                result,
                outputs,
                stdout,
                stderr,
            } => Outcome {
                ok,
                stdout,
                stderr: format!("{note}{stderr}"),
                result,
                outputs,
                elapsed,
            },
            ExecEnd::TimedOut { stdout, stderr } => {
                slot.interpreter = None;
                slot.ended = Some(format!(
                    "it was stopped because an execution timed out after {} s",
                    job.limit.as_secs_f64()
                ));
                lock(&self.state).renew();
                // What the code wrote before the deadline stays; the timeout is the last line.
                Outcome {
                    ok: false,
                    stdout,
                    stderr: format!("{note}{stderr}{}{TIMEOUT_MESSAGE}", line_break(&stderr)),
                    result: Value::from(""),
                    outputs: Vec::new(),
                    elapsed,
                }
            }
            ExecEnd::Died {
                reason,
                stdout,
                stderr,
            } => {
                slot.interpreter = None;
                slot.ended = Some(reason.clone());
                lock(&self.state).renew();
                Outcome {
                    ok: false,
                    stdout,
                    stderr: format!(
                        "{note}{stderr}{}[local pool] {reason} during this execution; the next execution starts a fresh interpreter.",
                        line_break(&stderr)
                    ),
                    result: Value::from(""),
                    outputs: Vec::new(),
                    elapsed,
                }
            }
            ExecEnd::Stopped => {
                slot.interpreter = None;
                failed(
                    "[local pool] The session was stopped (deleted or expired) while this code ran."
                        .into(),
                    elapsed,
                )
            }
        }
    }
}

/// What goes between captured output and a line the pool adds after it.
fn line_break(text: &str) -> &'static str {
    if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    }
}
