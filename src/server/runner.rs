//! Carrying out a run: the queue of its session, the pool, progress, cancel, and what the run
//! leaves behind (transcript entry, diagnostics, lens, hover, `RunOutcome`).

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc, oneshot};
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::*;

use super::commands::MAX_UPLOAD_BYTES;
use super::config::local_path;
use super::displays::{describe, first_image, save_displays};
use super::export;
use super::marks::{Shown, moved};
use super::output::{diagnostics_for, hover_text, inline_value, spill, to_lsp_diagnostic};
use super::progress::{CancelEntry, RunProgress};
use super::protocol::*;
use super::recycle::{notice_recycling, take_pool_note};
use super::sessions::Session;
use super::{Inner, lock, token_key};
use crate::code::{self, Pos, Snippet, Target};
use crate::languages;
use crate::notebook::{self, RunRecord};
use crate::sessions::{ExecuteRequest, Execution, ExecutionStatus, RetryNotice};
use crate::settings::Settings;
use crate::traceback;
use crate::transcript::{self, Entry};

mod finish;

/// One run, from the moment it is queued.
struct RunJob {
    id: u64,
    session: Arc<Session>,
    settings: Settings,
    uri: Uri,
    /// The document's file name, for messages and the transcript.
    file: String,
    language: String,
    snippet: Snippet,
    stdin: Option<String>,
    /// Asked for by an agent (through `azure-sessions-lsp mcp`), not by the editor's user: the
    /// transcript says so, and failures are not shown as messages in the editor.
    agent: bool,
}

impl RunJob {
    /// "lines 3-9 of main.py", "code from the agent".
    fn describe(&self) -> String {
        match (self.file.is_empty(), self.agent) {
            (true, true) => format!("{} from the agent", self.snippet.label),
            (true, false) => self.snippet.label.clone(),
            (false, true) => format!("{} of {} (agent)", self.snippet.label, self.file),
            (false, false) => format!("{} of {}", self.snippet.label, self.file),
        }
    }
}

fn pos(p: Position) -> Pos {
    Pos {
        line: p.line,
        character: p.character,
    }
}

impl Inner {
    /// Shows an error to the user once and returns it as the request's error.
    pub(super) fn fail(&self, message: String) -> jsonrpc::Error {
        tracing::warn!("{message}");
        let client = self.client.clone();
        let shown = message.clone();
        tokio::spawn(async move {
            client
                .show_message(MessageType::ERROR, format!("Azure Sessions: {shown}"))
                .await
        });
        request_failed(message)
    }

    /// The text and language of a document: the open buffer, or the file on disk (read
    /// asynchronously: the LSP thread never waits on the disk).
    async fn document(&self, uri: &Uri) -> jsonrpc::Result<(String, String)> {
        if let Some(doc) = lock(&self.documents).get(uri.as_str()) {
            return Ok((doc.text.clone(), doc.language_id.clone()));
        }
        let path = local_path(uri)
            .ok_or_else(|| invalid_params(format!("{} is not open in the editor", uri.as_str())))?;
        let meta = tokio::fs::metadata(&path).await.map_err(|e| {
            invalid_params(format!(
                "{} is not open and cannot be read: {e}",
                path.display()
            ))
        })?;
        if !meta.is_file() || meta.len() > MAX_UPLOAD_BYTES {
            return Err(invalid_params(format!(
                "{} is not a file that can run",
                path.display()
            )));
        }
        let text = tokio::fs::read_to_string(&path).await.map_err(|e| {
            invalid_params(format!("{} cannot be read as text: {e}", path.display()))
        })?;
        Ok((text, String::new()))
    }

    pub(super) async fn run(
        self: &Arc<Self>,
        args: RunArgs,
        token: Option<ProgressToken>,
        agent: bool,
    ) -> jsonrpc::Result<RunOutcome> {
        let target = match args.range {
            None => Target::File,
            Some(range) => Target::Range(pos(range.start), pos(range.end)),
        };
        self.run_target(args.uri, target, args.stdin, token, agent)
            .await
    }

    pub(super) async fn run_cell(
        self: &Arc<Self>,
        args: RunCellArgs,
        token: Option<ProgressToken>,
        agent: bool,
    ) -> jsonrpc::Result<RunOutcome> {
        self.run_target(
            args.uri,
            Target::Cell(args.position.line),
            args.stdin,
            token,
            agent,
        )
        .await
    }

    /// Code that is in no document (an agent's), run in the session of `uri` (a workspace
    /// folder or a document in it). It leaves no lens or diagnostic, only its transcript entry.
    pub(super) async fn run_code(
        self: &Arc<Self>,
        uri: Uri,
        code: String,
        language: Option<String>,
    ) -> jsonrpc::Result<RunOutcome> {
        let (session, settings) = self
            .session_for(uri.as_str())
            .map_err(|e| self.quiet_fail(e))?;
        let language = match language
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
        {
            Some(given) => {
                let pool_language = languages::pool_language(&given, &settings.languages);
                languages::check_runnable(settings.api, &given, &pool_language)
                    .map_err(invalid_params)?;
                pool_language
            }
            None => "python".to_owned(),
        };
        let lines = code.split('\n').count().max(1) as u32;
        let snippet = Snippet {
            code,
            first_line: 0,
            last_line: lines - 1,
            label: "code".to_owned(),
        };
        let job = RunJob {
            id: self.next_id(),
            file: String::new(),
            language,
            session,
            settings,
            uri,
            snippet,
            stdin: None,
            agent: true,
        };
        self.submit(job, None, false).await
    }

    /// An error for an agent's request: logged and answered, not shown in the editor.
    fn quiet_fail(&self, message: String) -> jsonrpc::Error {
        tracing::info!("agent request refused: {message}");
        request_failed(message)
    }

    async fn run_target(
        self: &Arc<Self>,
        uri: Uri,
        target: Target,
        stdin: Option<String>,
        token: Option<ProgressToken>,
        agent: bool,
    ) -> jsonrpc::Result<RunOutcome> {
        let fail = |e: String| {
            if agent {
                self.quiet_fail(e)
            } else {
                self.fail(e)
            }
        };
        let (text, language_id) = self.document(&uri).await?;
        let (session, settings) = self.session_for(uri.as_str()).map_err(fail)?;
        let language_id = languages::language_id(&language_id, uri.as_str()).to_owned();
        let language = languages::pool_language(&language_id, &settings.languages);
        languages::check_runnable(settings.api, &language_id, &language).map_err(fail)?;
        let stdin = self
            .stdin_for(stdin, &settings, uri.as_str(), &language)
            .await
            .map_err(fail)?;
        let snippet = code::extract(&text, target, &settings.cell_marker)
            .ok_or_else(|| invalid_params("nothing to run at that position"))?;
        drop(text);
        let job = RunJob {
            id: self.next_id(),
            file: file_name(uri.as_str()),
            language,
            session: session.clone(),
            settings,
            uri,
            snippet,
            stdin,
            agent,
        };
        self.submit(job, token, true).await
    }

    /// Queues a job behind the session's earlier runs and waits for its outcome. `marked`:
    /// the run of a document, whose lines get a lens, a hover and diagnostics.
    async fn submit(
        self: &Arc<Self>,
        job: RunJob,
        token: Option<ProgressToken>,
        marked: bool,
    ) -> jsonrpc::Result<RunOutcome> {
        let session = job.session.clone();
        if marked {
            lock(&self.marks).begin(
                job.uri.as_str(),
                job.id,
                job.snippet.first_line,
                job.snippet.last_line,
            );
        }

        // Nothing here waits: runs reach the session's queue in the order they arrived.
        let (token, create_token) = match token {
            Some(given) => (Some(given), false),
            None if lock(&self.config).supports_progress => (
                Some(NumberOrString::String(format!(
                    "azure-sessions/run/{}",
                    job.id
                ))),
                true,
            ),
            None => (None, false),
        };
        let cancel = Arc::new(Notify::new());
        let _cancel_entry = token.as_ref().map(|token| {
            CancelEntry::register(&self.progress_cancels, token_key(token), cancel.clone())
        });
        let (reply, answer) = oneshot::channel();
        let progress = token.clone().map(|token| (token, create_token));
        let (uri, id) = (job.uri.clone(), job.id);
        let queued = session.enqueue(Box::pin(
            self.clone().run_queued(job, reply, cancel, progress),
        ));
        if !queued {
            lock(&self.marks).abandon(uri.as_str(), id);
            return Err(self.fail("the session's queue has stopped; restart the server".to_owned()));
        }
        answer
            .await
            // Dropped without an answer: the job stopped inside the server (a bug, caught by
            // the session's queue, which goes on).
            .unwrap_or_else(|_| {
                Err(self.fail(
                    "the run stopped inside the server before it finished (an internal error); \
                     the session keeps working: run it again"
                        .to_owned(),
                ))
            })
    }

    /// A run's turn in its session's queue. Cancel (of the request, or of its progress) stops
    /// waiting for the pool; the code may still run there, and the transcript says so.
    async fn run_queued(
        self: Arc<Self>,
        job: RunJob,
        mut reply: oneshot::Sender<jsonrpc::Result<RunOutcome>>,
        cancel: Arc<Notify>,
        progress: Option<(ProgressToken, bool)>,
    ) {
        if reply.is_closed() {
            // Cancelled while waiting in the queue: it never ran.
            lock(&self.marks).abandon(job.uri.as_str(), job.id);
            return;
        }
        let progress = progress.map(|(token, create)| {
            let message = format!("Running {}", job.describe());
            RunProgress::start(self.client.clone(), token, create, message)
        });
        let stopped = tokio::select! {
            outcome = self.execute(&job, progress.as_ref()) => Ok(outcome),
            _ = reply.closed() => Err(if job.agent {
                "the agent cancelled the request"
            } else {
                "the editor cancelled the request"
            }),
            _ = cancel.notified() => Err("cancelled"),
        };
        match stopped {
            Ok(outcome) => {
                let _ = reply.send(outcome);
            }
            Err(why) => {
                lock(&self.marks).abandon(job.uri.as_str(), job.id);
                let message = format!(
                    "Stopped waiting for the run of {} ({why}); the code may still be running in the session.",
                    if job.agent {
                        job.describe()
                    } else {
                        job.snippet.label.clone()
                    }
                );
                lock(&job.session.state).transcript.note(&message);
                self.output_changed(&job.session).await;
                self.status(job.uri.as_str(), "idle", &message).await;
                let _ = reply.send(Err(request_cancelled(message)));
            }
        }
    }

    async fn execute(
        &self,
        job: &RunJob,
        progress: Option<&RunProgress>,
    ) -> jsonrpc::Result<RunOutcome> {
        let message = format!("Running {}", job.describe());
        self.status(job.uri.as_str(), "running", &message).await;
        let outcome = self.execute_inner(job, progress).await;
        if let Some(progress) = progress {
            progress.finish(match &outcome {
                Ok(o) => format!(
                    "{} {}",
                    o.status,
                    o.execution_time_ms
                        .map(transcript::format_duration_ms)
                        .unwrap_or_default()
                ),
                Err(_) => "Could not run".to_owned(),
            });
        }
        outcome
    }

    async fn execute_inner(
        &self,
        job: &RunJob,
        progress: Option<&RunProgress>,
    ) -> jsonrpc::Result<RunOutcome> {
        let started_at = transcript::now_string();
        let resolved = match self.resolve(&job.settings, &job.language).await {
            Ok(resolved) => resolved,
            Err(message) => return Err(self.could_not_run(job, message).await),
        };
        self.wait_for_prewarm().await;
        let identifier = self.refresh_identifier(&job.session);
        lock(&job.session.state).language = Some(job.language.clone());
        let mut notes = Vec::new();

        // Retry notices arrive on a plain callback; progress reports are async.
        let (notice_tx, mut notices) = mpsc::unbounded_channel::<RetryNotice>();
        let request = ExecuteRequest {
            identifier: &identifier,
            code: &job.snippet.code,
            language: &job.language,
            stdin: job.stdin.as_deref(),
            timeout: job.settings.timeout,
            cold_start_budget: job.settings.cold_start_timeout,
        };
        let on_retry = move |notice: RetryNotice| {
            let _ = notice_tx.send(notice);
        };
        let call =
            resolved
                .http
                .execute(&resolved.target, &resolved.credentials, &request, &on_retry);
        tokio::pin!(call);
        let result = loop {
            tokio::select! {
                result = &mut call => break result,
                Some(notice) = notices.recv() => {
                    let message = if notice.polling {
                        format!("Running in the session ({}, {:.0?} so far)", notice.reason, notice.waited)
                    } else {
                        format!(
                            "Waiting for the session container to start ({}, {:.0?} so far)",
                            notice.reason, notice.waited
                        )
                    };
                    if let Some(progress) = progress {
                        progress.report(message.clone());
                    }
                    self.status(job.uri.as_str(), "waiting", &message).await;
                }
            }
        };
        let mut execution = match result {
            Ok(execution) => execution,
            Err(error) => return Err(self.could_not_run(job, error.to_string()).await),
        };
        notice_recycling(&job.session, &execution, &mut notes);
        take_pool_note(&mut execution.stderr, &mut notes);
        notes.append(&mut execution.notes);
        Ok(self
            .finish(job, &resolved.label, started_at, notes, execution)
            .await)
    }

    async fn could_not_run(&self, job: &RunJob, message: String) -> jsonrpc::Error {
        lock(&self.marks).abandon(job.uri.as_str(), job.id);
        lock(&job.session.state)
            .transcript
            .note(&format!("Could not run {}: {message}", job.describe()));
        self.output_changed(&job.session).await;
        self.status(job.uri.as_str(), "error", &message).await;
        if job.agent {
            self.quiet_fail(message)
        } else {
            self.fail(message)
        }
    }
}

fn file_name(uri: &str) -> String {
    let tail = uri.rsplit('/').next().unwrap_or(uri);
    percent_decode(tail)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
