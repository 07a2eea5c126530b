//! Carrying out runs and file commands: the pool, the token, the queue, progress, and what a
//! run leaves behind (transcript entry, diagnostics, lens, hover, `RunOutcome`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{Notify, OnceCell, mpsc, oneshot};
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::*;

use super::config::local_path;
use super::marks::{MarkDiagnostic, Severity};
use super::progress::RunProgress;
use super::protocol::*;
use super::sessions::Session;
use super::{Inner, lock, token_key};
use crate::auth::{AuthMode, Credentials, TokenCache};
use crate::code::{self, Pos, Snippet, Target};
use crate::identity::IdentityStore;
use crate::pool::{Language, LocalPool, PoolOptions};
use crate::sessions::{
    ExecuteRequest, Execution, ExecutionStatus, HttpOptions, PoolTarget, RetryNotice,
    SessionsClient, SessionsError,
};
use crate::settings::{DiagnosticsLevel, Endpoint, Settings};
use crate::traceback;
use crate::transcript::{self, Entry};

/// Idle longer than this, a pool may have recycled the session (Azure's shortest cooldown is 300 s).
const RECYCLE_CHECK_AFTER: Duration = Duration::from_secs(240);
/// Diagnostics and hovers show this much output; the transcript keeps all of it.
const DIAGNOSTIC_OUTPUT_CHARS: usize = 400;
const HOVER_OUTPUT_CHARS: usize = 20_000;
/// Files larger than this are not read into memory for upload (Azure's limit is 128 MB).
const MAX_UPLOAD_BYTES: u64 = 128 * 1024 * 1024;

/// Long-lived things shared by all runs: the HTTP client, tokens, local pools, identifiers.
pub struct Runtime {
    state_dir: PathBuf,
    identity: OnceLock<Result<IdentityStore, String>>,
    http: Mutex<Option<(HttpOptions, SessionsClient)>>,
    credentials: Mutex<HashMap<AuthMode, Credentials>>,
    editor_credentials: Mutex<Option<Credentials>>,
    local_pools: Mutex<HashMap<&'static str, Arc<OnceCell<LocalPool>>>>,
}

impl Runtime {
    pub fn new(state_dir: PathBuf) -> Runtime {
        Runtime {
            state_dir,
            identity: OnceLock::new(),
            http: Mutex::new(None),
            credentials: Mutex::default(),
            editor_credentials: Mutex::new(None),
            local_pools: Mutex::default(),
        }
    }

    pub fn identity(&self) -> Result<&IdentityStore, String> {
        self.identity
            .get_or_init(|| {
                IdentityStore::open(&self.state_dir).map_err(|e| {
                    format!(
                        "could not open the state directory {} for session identifiers: {e}",
                        self.state_dir.display()
                    )
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The one HTTP client, rebuilt only when proxy or certificate settings change.
    fn http(&self, settings: &Settings) -> Result<SessionsClient, SessionsError> {
        let options = HttpOptions {
            proxy: Some(settings.proxy.clone()).filter(|p| !p.is_empty()),
            extra_ca_files: settings.extra_ca_certificates.clone(),
        };
        let mut http = lock(&self.http);
        if let Some((current, client)) = http.as_ref()
            && *current == options
        {
            return Ok(client.clone());
        }
        let client = SessionsClient::new(&options)?;
        *http = Some((options, client.clone()));
        Ok(client)
    }

    fn credentials(
        &self,
        mode: AuthMode,
        editor: Option<&tower_lsp_server::Client>,
    ) -> Credentials {
        if mode == AuthMode::None {
            return Credentials::None;
        }
        if let Some(client) = editor {
            return lock(&self.editor_credentials)
                .get_or_insert_with(|| {
                    Credentials::Bearer(Arc::new(TokenCache::new(Arc::new(EditorTokens(
                        client.clone(),
                    )))))
                })
                .clone();
        }
        lock(&self.credentials)
            .entry(mode)
            .or_insert_with(|| Credentials::for_mode(mode))
            .clone()
    }

    /// The endpoint of the local pool for a language, started on first use.
    async fn local_pool(&self, language: Language) -> Result<String, String> {
        let cell = lock(&self.local_pools)
            .entry(language.as_str())
            .or_default()
            .clone();
        let pool = cell
            .get_or_try_init(|| async {
                LocalPool::start(PoolOptions {
                    language,
                    max_timeout: Duration::from_secs(3600),
                    ..PoolOptions::default()
                })
                .await
            })
            .await
            .map_err(|e| format!("could not start the local pool: {e:#}"))?;
        Ok(pool.endpoint())
    }

    pub fn settings_changed(&self) {
        // The HTTP client follows proxy/CA changes on the next run; tokens stay cached.
    }

    pub async fn shutdown(&self) {
        let pools: Vec<Arc<OnceCell<LocalPool>>> =
            lock(&self.local_pools).drain().map(|(_, p)| p).collect();
        for pool in pools {
            if let Ok(cell) = Arc::try_unwrap(pool)
                && let Some(pool) = cell.into_inner()
            {
                pool.shutdown().await;
            }
        }
    }
}

/// Tokens from the editor (VS Code's Microsoft account), through `azure-sessions/getAccessToken`.
struct EditorTokens(tower_lsp_server::Client);

impl crate::auth::TokenSource for EditorTokens {
    fn fetch(
        &self,
    ) -> futures::future::BoxFuture<'static, Result<crate::auth::AccessToken, crate::auth::AuthError>>
    {
        let client = self.0.clone();
        Box::pin(async move {
            let params = GetAccessTokenParams {
                scopes: vec![crate::auth::SCOPE.to_owned()],
            };
            let answer = tokio::time::timeout(
                Duration::from_secs(120),
                client.send_request::<GetAccessToken>(params),
            )
            .await
            .map_err(|_| {
                crate::auth::AuthError::Other(
                    "the editor did not hand over a token within 120 s".into(),
                )
            })?
            .map_err(|e| {
                crate::auth::AuthError::Other(format!(
                    "the editor could not sign in: {}",
                    e.message
                ))
            })?;
            let expires = time::OffsetDateTime::from_unix_timestamp(answer.expires_on)
                .unwrap_or_else(|_| time::OffsetDateTime::now_utc() + time::Duration::minutes(10));
            Ok(crate::auth::AccessToken::new(answer.token, expires))
        })
    }
}

/// Where a run goes: the pool, how to authenticate, and how to name it.
#[derive(Clone)]
struct Resolved {
    target: PoolTarget,
    credentials: Credentials,
    /// The endpoint's host, or "local pool".
    label: String,
    http: SessionsClient,
}

fn pos(p: Position) -> Pos {
    Pos {
        line: p.line,
        character: p.character,
    }
}

/// The pool language of a document.
fn language_of(language_id: &str, uri: &str) -> String {
    match language_id {
        "python" | "jupyter" => "python".to_owned(),
        "javascript" | "javascriptreact" => "javascript".to_owned(),
        "" => {
            let ext = uri.rsplit('.').next().unwrap_or_default();
            match ext {
                "py" | "pyw" | "ipy" => "python".to_owned(),
                "js" | "mjs" | "cjs" => "javascript".to_owned(),
                _ => "python".to_owned(),
            }
        }
        other => other.to_owned(),
    }
}

impl Inner {
    /// Shows an error to the user once and returns it as the request's error.
    fn fail(&self, message: String) -> jsonrpc::Error {
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

    /// The text and language of a document: the open buffer, or the file on disk.
    fn document(&self, uri: &Uri) -> jsonrpc::Result<(String, String, i32)> {
        if let Some(doc) = lock(&self.documents).get(uri.as_str()) {
            return Ok((doc.text.clone(), doc.language_id.clone(), doc.version));
        }
        let path = local_path(uri)
            .ok_or_else(|| invalid_params(format!("{} is not open in the editor", uri.as_str())))?;
        let meta = std::fs::metadata(&path).map_err(|e| {
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
        let text = std::fs::read_to_string(&path).map_err(|e| {
            invalid_params(format!("{} cannot be read as text: {e}", path.display()))
        })?;
        Ok((text, String::new(), 0))
    }

    pub(super) async fn run(
        self: &Arc<Self>,
        args: RunArgs,
        token: Option<ProgressToken>,
    ) -> jsonrpc::Result<RunOutcome> {
        let target = match args.range {
            None => Target::File,
            Some(range) => Target::Range(pos(range.start), pos(range.end)),
        };
        self.run_target(args.uri, target, args.stdin, token).await
    }

    pub(super) async fn run_cell(
        self: &Arc<Self>,
        args: RunCellArgs,
        token: Option<ProgressToken>,
    ) -> jsonrpc::Result<RunOutcome> {
        self.run_target(args.uri, Target::Cell(args.position.line), None, token)
            .await
    }

    async fn run_target(
        self: &Arc<Self>,
        uri: Uri,
        target: Target,
        stdin: Option<String>,
        token: Option<ProgressToken>,
    ) -> jsonrpc::Result<RunOutcome> {
        let (text, language_id, _version) = self.document(&uri)?;
        let (session, settings) = self.session_for(uri.as_str()).map_err(|e| self.fail(e))?;
        let snippet = code::extract(&text, target, &settings.cell_marker)
            .ok_or_else(|| invalid_params("nothing to run at that position"))?;
        drop(text);
        let language = language_of(&language_id, uri.as_str());
        let run_id = self.next_id();
        lock(&self.marks).begin(uri.as_str(), run_id, snippet.first_line, snippet.last_line);

        let (reply, answer) = oneshot::channel();
        let cancel = Arc::new(Notify::new());
        // Nothing here waits: runs reach the session's queue in the order they arrived.
        let (token, create_token) = match token {
            Some(given) => (Some(given), false),
            None if lock(&self.config).supports_progress => (
                Some(NumberOrString::String(format!(
                    "azure-sessions/run/{run_id}"
                ))),
                true,
            ),
            None => (None, false),
        };
        if let Some(token) = &token {
            lock(&self.progress_cancels).insert(token_key(token), cancel.clone());
        }
        let inner = self.clone();
        let job_session = session.clone();
        let job_uri = uri.clone();
        let job_token = token.clone();
        let mut reply = reply;
        let queued = session.enqueue(Box::pin(async move {
            if reply.is_closed() {
                // Cancelled while waiting in the queue: it never ran.
                lock(&inner.marks).abandon(job_uri.as_str(), run_id);
                return;
            }
            let progress = job_token.map(|token| {
                let what = format!("{} of {}", snippet.label, file_name(job_uri.as_str()));
                RunProgress::start(inner.client.clone(), token, create_token, format!("Running {what}"))
            });
            let work = inner.execute(&job_session, &settings, &job_uri, &language, &snippet, stdin.as_deref(), run_id, progress.as_ref());
            let stopped = tokio::select! {
                outcome = work => Ok(outcome),
                _ = reply.closed() => Err("the editor cancelled the request"),
                _ = cancel.notified() => Err("cancelled"),
            };
            match stopped {
                Ok(outcome) => {
                    let _ = reply.send(outcome);
                }
                Err(why) => {
                lock(&inner.marks).abandon(job_uri.as_str(), run_id);
                let message = format!(
                    "Stopped waiting for the run of {} ({why}); the code may still be running in the session.",
                    snippet.label
                );
                lock(&job_session.state).transcript.note(&message);
                inner.output_changed(&job_session).await;
                inner.status(job_uri.as_str(), "idle", &message).await;
                let _ = reply.send(Err(request_cancelled(message)));
                }
            }
        }));
        if !queued {
            return Err(self.fail("the session's queue has stopped; restart the server".to_owned()));
        }
        let outcome = answer
            .await
            .unwrap_or_else(|_| Err(request_cancelled("the run was cancelled before it started")));
        if let Some(token) = &token {
            lock(&self.progress_cancels).remove(&token_key(token));
        }
        outcome
    }

    /// Resolves where to send and how to authenticate.
    async fn resolve(&self, settings: &Settings, language: &str) -> Result<Resolved, String> {
        let http = self.runtime.http(settings).map_err(|e| e.to_string())?;
        let (endpoint, credentials, label) = match &settings.endpoint {
            Endpoint::NotConfigured => return Err(SessionsError::NotConfigured.to_string()),
            Endpoint::Local => {
                let language: Language = language.parse().map_err(|_| {
                    format!(
                        "the local pool runs python and javascript; this document is {language}"
                    )
                })?;
                (
                    self.runtime.local_pool(language).await?,
                    Credentials::None,
                    "local pool".to_owned(),
                )
            }
            Endpoint::Remote(url) => {
                let editor = lock(&self.config)
                    .client_tokens
                    .then(|| self.client.clone());
                (
                    url.clone(),
                    self.runtime.credentials(settings.auth, editor.as_ref()),
                    String::new(),
                )
            }
        };
        let target = PoolTarget::new(
            &endpoint,
            settings.api,
            settings.api_version.as_deref(),
            &settings.custom_path,
        )
        .map_err(|e| e.to_string())?;
        let label = if label.is_empty() {
            target.host().to_owned()
        } else {
            label
        };
        Ok(Resolved {
            target,
            credentials,
            label,
            http,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn execute(
        self: &Arc<Self>,
        session: &Arc<Session>,
        settings: &Settings,
        uri: &Uri,
        language: &str,
        snippet: &Snippet,
        stdin: Option<&str>,
        run_id: u64,
        progress: Option<&RunProgress>,
    ) -> jsonrpc::Result<RunOutcome> {
        let file = file_name(uri.as_str());
        let what = format!("{} of {file}", snippet.label);
        self.status(uri.as_str(), "running", &format!("Running {what}"))
            .await;

        let outcome = self
            .execute_inner(
                session, settings, uri, language, snippet, stdin, run_id, &file, progress,
            )
            .await;
        if let Some(progress) = progress {
            let message = match &outcome {
                Ok(o) => format!(
                    "{} {}",
                    o.status,
                    o.execution_time_ms
                        .map(transcript::format_duration_ms)
                        .unwrap_or_default()
                ),
                Err(_) => "Could not run".to_owned(),
            };
            progress.finish(message);
        }
        outcome
    }

    #[allow(clippy::too_many_arguments)]
    async fn execute_inner(
        self: &Arc<Self>,
        session: &Arc<Session>,
        settings: &Settings,
        uri: &Uri,
        language: &str,
        snippet: &Snippet,
        stdin: Option<&str>,
        run_id: u64,
        file: &str,
        progress: Option<&RunProgress>,
    ) -> jsonrpc::Result<RunOutcome> {
        let started_at = transcript::now_string();
        let resolved = match self.resolve(settings, language).await {
            Ok(resolved) => resolved,
            Err(message) => {
                return Err(self
                    .could_not_run(session, uri, run_id, snippet, file, message)
                    .await);
            }
        };
        let identifier = session.identifier();
        let mut notes = self.check_recycled(session, &resolved, &identifier).await;

        // Retry notices arrive on a plain callback; progress reports are async.
        let (notice_tx, mut notices) = mpsc::unbounded_channel::<RetryNotice>();
        let request = ExecuteRequest {
            identifier: &identifier,
            code: &snippet.code,
            language,
            stdin,
            timeout: settings.timeout,
            cold_start_budget: settings.cold_start_timeout,
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
                    let message = format!(
                        "Waiting for the session container to start ({}, {:.0?} so far)",
                        notice.reason, notice.waited
                    );
                    if let Some(progress) = progress {
                        progress.report(message.clone());
                    }
                    self.status(uri.as_str(), "waiting", &message).await;
                }
            }
        };
        let execution = match result {
            Ok(execution) => execution,
            Err(error) => {
                if matches!(
                    error,
                    SessionsError::Unauthorized | SessionsError::Forbidden | SessionsError::Auth(_)
                ) {
                    tracing::debug!("authentication problem; see the message shown");
                }
                return Err(self
                    .could_not_run(session, uri, run_id, snippet, file, error.to_string())
                    .await);
            }
        };
        if execution
            .stderr
            .contains("[local pool] The previous interpreter")
        {
            notes.push("The local pool replaced the session's interpreter: variables from earlier runs are gone.".to_owned());
        }
        if lock(&session.state).seen.is_none() {
            self.remember_session(session.clone(), resolved.clone(), identifier.clone());
        }
        let place = Place {
            file,
            pool: &resolved.label,
            started_at,
        };
        Ok(self
            .finish(
                session, settings, uri, snippet, run_id, place, notes, execution,
            )
            .await)
    }

    /// Asks the pool whether the session was recycled since we last saw it (only when it may have been).
    async fn check_recycled(
        &self,
        session: &Session,
        resolved: &Resolved,
        identifier: &str,
    ) -> Vec<String> {
        let (due, seen) = {
            let state = lock(&session.state);
            let idle = state
                .last_run
                .is_some_and(|t| t.elapsed() > RECYCLE_CHECK_AFTER);
            (idle || state.last_timed_out, state.seen.clone())
        };
        let Some(seen) = seen.filter(|_| due) else {
            return Vec::new();
        };
        let now = resolved
            .http
            .get_session(&resolved.target, &resolved.credentials, identifier)
            .await;
        let recycled = match &now {
            Ok(None) => true,
            Ok(Some(now)) => {
                now.created_at != seen.created_at || (now.etag.is_some() && now.etag != seen.etag)
            }
            Err(_) => false,
        };
        if let Ok(now) = now {
            let mut state = lock(&session.state);
            state.seen = now;
            state.last_timed_out = false;
        }
        if recycled {
            vec!["The session was recycled (its cooldown expired or the pool replaced it): variables and files from earlier runs are gone.".to_owned()]
        } else {
            Vec::new()
        }
    }

    /// Records what the pool says about a new session, in the background.
    fn remember_session(
        self: &Arc<Self>,
        session: Arc<Session>,
        resolved: Resolved,
        identifier: String,
    ) {
        tokio::spawn(async move {
            if let Ok(Some(description)) = resolved
                .http
                .get_session(&resolved.target, &resolved.credentials, &identifier)
                .await
            {
                lock(&session.state).seen = Some(description);
            }
        });
    }

    async fn could_not_run(
        &self,
        session: &Session,
        uri: &Uri,
        run_id: u64,
        snippet: &Snippet,
        file: &str,
        message: String,
    ) -> jsonrpc::Error {
        lock(&self.marks).abandon(uri.as_str(), run_id);
        lock(&session.state).transcript.note(&format!(
            "Could not run {} of {file}: {message}",
            snippet.label
        ));
        self.output_changed(session).await;
        self.status(uri.as_str(), "error", &message).await;
        self.fail(message)
    }

    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        session: &Session,
        settings: &Settings,
        uri: &Uri,
        snippet: &Snippet,
        run_id: u64,
        place: Place<'_>,
        notes: Vec<String>,
        mut execution: Execution,
    ) -> RunOutcome {
        let failure = (execution.status == ExecutionStatus::Failed)
            .then(|| traceback::parse(&execution.stderr, &snippet.code));
        let error = failure.as_ref().map(|f| RunError {
            kind: f.kind.clone(),
            message: f.message.clone(),
            line: f
                .innermost_code_line()
                .and_then(|n| snippet.document_line(n)),
        });

        let (number, files_dir) = {
            let state = lock(&session.state);
            (
                state.transcript.next_number(),
                std::env::temp_dir()
                    .join("azure-sessions-lsp")
                    .join(session.identifier_short(&state.identifier)),
            )
        };
        let image_path = save_image(&execution.result, &files_dir, number);
        // Huge outputs are kept whole in a file; the editor gets their head and tail.
        execution.stdout = spill(
            std::mem::take(&mut execution.stdout),
            &files_dir,
            number,
            "stdout",
        )
        .await;
        execution.stderr = spill(
            std::mem::take(&mut execution.stderr),
            &files_dir,
            number,
            "stderr",
        )
        .await;
        if let Some(path) = &image_path
            && let Value::Object(map) = &mut execution.result
        {
            map.insert("savedTo".to_owned(), json!(path.display().to_string()));
        }

        let time = execution
            .execution_time_ms
            .map(transcript::format_duration_ms);
        let lens = match &error {
            None => format!("✓ {}", time.clone().unwrap_or_else(|| "done".to_owned())),
            Some(e) => format!("✗ {}", e.kind),
        };
        let hover = hover_text(number, &lens, &execution, image_path.as_deref());
        let diagnostics = diagnostics_for(
            settings.diagnostics,
            snippet,
            &execution,
            failure.as_ref(),
            error.as_ref(),
        );
        let shown = lock(&self.marks).finish(
            uri.as_str(),
            run_id,
            snippet.first_line,
            lens.clone(),
            hover,
            diagnostics,
        );

        {
            let mut state = lock(&session.state);
            state.runs += 1;
            state.last_run_at = Some(place.started_at.clone());
            state.last_run = Some(Instant::now());
            state.last_timed_out = execution.stderr.contains("timed out");
            state.transcript.push(&Entry {
                number,
                started_at: &place.started_at,
                pool: place.pool,
                file: place.file,
                what: &snippet.label,
                status: execution.status.as_str(),
                time_ms: execution.execution_time_ms,
                stdout: &execution.stdout,
                stderr: &execution.stderr,
                result: &execution.result,
                image_path: image_path.as_deref(),
                notes: &notes,
            });
        }
        if shown {
            self.publish_marks(uri).await;
            self.refresh_lenses().await;
        }
        self.output_changed(session).await;
        let status = match &error {
            None => ("succeeded", format!("{lens} {}", snippet.label)),
            Some(e) => ("failed", format!("{}: {}", e.kind, e.message)),
        };
        self.status(uri.as_str(), status.0, &status.1).await;
        RunOutcome {
            status: execution.status.as_str(),
            stdout: execution.stdout,
            stderr: execution.stderr,
            result: execution.result,
            execution_time_ms: execution.execution_time_ms,
            error,
            output_uri: session.output_uri.clone(),
        }
    }

    pub(super) async fn output_changed(&self, session: &Session) {
        self.client
            .send_notification::<OutputChanged>(UriParams {
                uri: session.output_uri.clone(),
            })
            .await;
    }

    async fn status(&self, uri: &str, state: &str, message: &str) {
        self.client
            .send_notification::<Status>(StatusParams {
                uri: uri.to_owned(),
                state: state.to_owned(),
                message: message.to_owned(),
            })
            .await;
    }

    async fn refresh_lenses(&self) {
        if lock(&self.config).supports_code_lens_refresh {
            let client = self.client.clone();
            // The editor answers after it re-asked for lenses: do not hold the run for it.
            tokio::spawn(async move {
                let _ = client.code_lens_refresh().await;
            });
        }
    }

    /// Publishes the diagnostics that runs left on a document.
    pub(super) async fn publish_marks(&self, uri: &Uri) {
        let (version, line_lengths) = {
            let documents = lock(&self.documents);
            let doc = documents.get(uri.as_str());
            let lengths: Vec<u32> = doc
                .map(|d| d.text.split('\n').map(code::utf16_len).collect())
                .unwrap_or_default();
            (doc.map(|d| d.version), lengths)
        };
        let end_of = |line: u32| line_lengths.get(line as usize).copied().unwrap_or(0);
        let diagnostics: Vec<Diagnostic> = lock(&self.marks)
            .for_doc(uri.as_str())
            .iter()
            .flat_map(|mark| mark.diagnostics.iter())
            .map(|d| to_lsp_diagnostic(uri, d, end_of(d.line)))
            .collect();
        self.client
            .publish_diagnostics(uri.clone(), diagnostics, version)
            .await;
    }

    pub(super) async fn reset_session(
        self: &Arc<Self>,
        args: SessionArgs,
    ) -> jsonrpc::Result<Value> {
        let (session, settings) = self.command_session(args.uri.as_ref())?;
        let old = session.identifier();
        let new = self
            .runtime
            .identity()
            .and_then(|store| {
                store
                    .reset(&session.key)
                    .map_err(|e| format!("could not save the new identifier: {e}"))
            })
            .map_err(|e| self.fail(e))?;
        {
            let mut state = lock(&session.state);
            state.identifier = new.clone();
            state.seen = None;
            state.transcript.note(&format!(
                "Session reset: the new identifier is {new}; earlier state is gone."
            ));
        }
        // Delete the old session where the API allows it; the new identifier is used either way.
        match self.resolve(&settings, "python").await {
            Ok(resolved) => {
                if let Err(error) = resolved
                    .http
                    .delete_session(&resolved.target, &resolved.credentials, &old)
                    .await
                {
                    tracing::info!(%error, "could not delete the old session");
                    lock(&session.state)
                        .transcript
                        .note(&format!("The old session could not be deleted ({error}); the pool ends it after its cooldown."));
                }
            }
            Err(reason) => tracing::debug!(%reason, "no pool to delete the old session from"),
        }
        self.output_changed(&session).await;
        Ok(json!({ "identifierChanged": true }))
    }

    pub(super) fn session_info(&self, args: SessionArgs) -> jsonrpc::Result<Value> {
        let (session, settings) = self.command_session(args.uri.as_ref())?;
        let state = lock(&session.state);
        Ok(json!({
            "endpoint": match &settings.endpoint {
                Endpoint::NotConfigured => String::new(),
                Endpoint::Local => "local".to_owned(),
                Endpoint::Remote(url) => url.clone(),
            },
            "api": settings.api.name(),
            "scope": match settings.session_scope {
                crate::settings::SessionScope::Workspace => "workspace",
                crate::settings::SessionScope::File => "file",
            },
            "identifier": state.identifier,
            "runs": state.runs,
            "lastRunAt": state.last_run_at,
            "outputUri": session.output_uri,
        }))
    }

    pub(super) async fn upload_file(self: &Arc<Self>, args: UploadArgs) -> jsonrpc::Result<Value> {
        let path = local_path(&args.uri)
            .ok_or_else(|| invalid_params("uploadFile expects a file: URI of a local file"))?;
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|e| invalid_params(format!("cannot read {}: {e}", path.display())))?;
        if !meta.is_file() {
            return Err(invalid_params(format!("{} is not a file", path.display())));
        }
        if meta.len() > MAX_UPLOAD_BYTES {
            return Err(self.fail(format!(
                "{} is larger than the pool's 128 MB upload limit",
                path.display()
            )));
        }
        let name = match args.remote_name.filter(|n| !n.trim().is_empty()) {
            Some(name) => name,
            None => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "upload".to_owned()),
        };
        if name.contains(['/', '\\', '\0']) || name == "." || name == ".." {
            return Err(invalid_params(format!(
                "remoteName {name:?} must be a plain file name"
            )));
        }
        let content = tokio::fs::read(&path)
            .await
            .map_err(|e| invalid_params(format!("cannot read {}: {e}", path.display())))?;
        let (session, settings) = self.command_session(Some(&args.uri))?;
        let resolved = self
            .resolve(&settings, "python")
            .await
            .map_err(|e| self.fail(e))?;
        let file = resolved
            .http
            .upload_file(
                &resolved.target,
                &resolved.credentials,
                &session.identifier(),
                &name,
                Bytes::from(content),
            )
            .await
            .map_err(|e| self.fail(e.to_string()))?;
        Ok(json!({ "name": file.name, "size": file.size }))
    }

    pub(super) async fn list_files(self: &Arc<Self>, args: SessionArgs) -> jsonrpc::Result<Value> {
        let (session, settings) = self.command_session(args.uri.as_ref())?;
        let resolved = self
            .resolve(&settings, "python")
            .await
            .map_err(|e| self.fail(e))?;
        let files = resolved
            .http
            .list_files(
                &resolved.target,
                &resolved.credentials,
                &session.identifier(),
            )
            .await
            .map_err(|e| self.fail(e.to_string()))?;
        Ok(serde_json::to_value(files).unwrap_or(Value::Null))
    }

    pub(super) async fn download_file(
        self: &Arc<Self>,
        args: DownloadArgs,
    ) -> jsonrpc::Result<Value> {
        let target = local_path(&args.target_uri)
            .ok_or_else(|| invalid_params("downloadFile expects targetUri to be a file: URI"))?;
        let (session, settings) =
            self.command_session(Some(args.uri.as_ref().unwrap_or(&args.target_uri)))?;
        let resolved = self
            .resolve(&settings, "python")
            .await
            .map_err(|e| self.fail(e))?;
        let content = resolved
            .http
            .download_file(
                &resolved.target,
                &resolved.credentials,
                &session.identifier(),
                &args.remote_name,
            )
            .await
            .map_err(|e| self.fail(e.to_string()))?;
        tokio::fs::write(&target, &content)
            .await
            .map_err(|e| self.fail(format!("could not write {}: {e}", target.display())))?;
        Ok(json!({ "targetUri": args.target_uri.as_str(), "size": content.len() }))
    }

    /// The session a command names (through a document or folder URI), else the default one.
    fn command_session(&self, uri: Option<&Uri>) -> jsonrpc::Result<(Arc<Session>, Settings)> {
        match uri {
            Some(uri) => self.session_for(uri.as_str()),
            None => self.default_session(),
        }
        .map_err(invalid_params)
    }

    /// Gets the token (and starts the local pool) before the first run, so it costs no more
    /// than the next ones.
    pub(super) fn prewarm(self: &Arc<Self>) {
        let folders = lock(&self.config).folders.clone();
        let targets: Vec<String> = if folders.is_empty() {
            vec![String::new()]
        } else {
            folders.into_iter().map(|(uri, _)| uri).collect()
        };
        for uri in targets {
            let settings = lock(&self.config).settings_for(&uri);
            if !settings.prewarm || settings.endpoint == Endpoint::NotConfigured {
                continue;
            }
            let inner = self.clone();
            tokio::spawn(async move {
                let Ok(resolved) = inner.resolve(&settings, "python").await else {
                    return;
                };
                if let Err(error) = resolved.credentials.token().await {
                    tracing::info!(%error, "prewarm: no token yet");
                    return;
                }
                if uri.is_empty() {
                    return;
                }
                if let Ok(session) = inner.session_for(&uri).map(|(s, _)| s) {
                    let identifier = session.identifier();
                    if let Ok(Some(description)) = resolved
                        .http
                        .get_session(&resolved.target, &resolved.credentials, &identifier)
                        .await
                    {
                        lock(&session.state).seen.get_or_insert(description);
                    }
                }
            });
        }
    }
}

/// Where and when a run happened, for its transcript entry.
struct Place<'a> {
    file: &'a str,
    pool: &'a str,
    started_at: String,
}

impl Session {
    fn identifier_short(&self, identifier: &str) -> String {
        identifier
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(40)
            .collect()
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

/// Saves a PNG result next to other run images, in the temp directory.
/// Outputs longer than this (per stream) are saved whole to a file and shown as head and tail:
/// a multi-megabyte string would cost several copies on its way through LSP, and no editor
/// buffer shows it usefully. Azure itself caps streams at the 1 Mi characters we ask for.
const SPILL_OVER_BYTES: usize = 2 << 20;
const SPILL_KEEP_BYTES: usize = 1 << 20;

async fn spill(text: String, dir: &std::path::Path, number: u64, stream: &str) -> String {
    if text.len() <= SPILL_OVER_BYTES {
        return text;
    }
    let path = dir.join(format!("run-{number}.{stream}.txt"));
    let saved = match tokio::fs::create_dir_all(dir).await {
        Ok(()) => tokio::fs::write(&path, text.as_bytes()).await,
        Err(error) => Err(error),
    };
    let head_end = floor_boundary(&text, SPILL_KEEP_BYTES);
    let tail_start = ceil_boundary(&text, text.len() - SPILL_KEEP_BYTES);
    let omitted = tail_start - head_end;
    let note = match saved {
        Ok(()) => format!(
            "\n[… {omitted} bytes of {stream} not shown here; all {} bytes are in {}]\n",
            text.len(),
            path.display()
        ),
        Err(error) => format!(
            "\n[… {omitted} bytes of {stream} not shown here (could not save them to {}: {error})]\n",
            path.display()
        ),
    };
    let mut shown = String::with_capacity(2 * SPILL_KEEP_BYTES + note.len());
    shown.push_str(&text[..head_end]);
    shown.push_str(&note);
    shown.push_str(&text[tail_start..]);
    shown
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

fn save_image(result: &Value, dir: &std::path::Path, number: u64) -> Option<PathBuf> {
    let object = result.as_object()?;
    if object.get("type").and_then(Value::as_str) != Some("image") {
        return None;
    }
    let data = object.get("base64_data").and_then(Value::as_str)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .ok()?;
    let format = object
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("png");
    let format: String = format
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(8)
        .collect();
    std::fs::create_dir_all(dir).ok()?;
    let path = dir.join(format!("run-{number}.{format}"));
    std::fs::write(&path, bytes).ok()?;
    Some(path)
}

fn shorten(text: &str, max: usize) -> String {
    let text = text.trim_end();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}… (full output in the Azure session output)")
}

fn result_text(result: &Value) -> Option<String> {
    match result {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Object(map) if map.get("type").and_then(Value::as_str) == Some("image") => {
            Some("[image]".to_owned())
        }
        other => Some(other.to_string()),
    }
}

fn diagnostics_for(
    level: DiagnosticsLevel,
    snippet: &Snippet,
    execution: &Execution,
    failure: Option<&traceback::Failure>,
    error: Option<&RunError>,
) -> Vec<MarkDiagnostic> {
    if level == DiagnosticsLevel::Off {
        return Vec::new();
    }
    match (failure, error) {
        (Some(failure), Some(error)) => {
            let line = error.line.unwrap_or(snippet.first_line);
            let related = failure
                .frames
                .iter()
                .filter_map(|f| Some((snippet.document_line(f.code_line?)?, f.description.clone())))
                .filter(|(l, _)| *l != line)
                .collect();
            let message = if error.message.is_empty() {
                error.kind.clone()
            } else {
                format!("{}: {}", error.kind, error.message)
            };
            vec![MarkDiagnostic {
                line,
                severity: Severity::Error,
                code: Some(error.kind.clone()),
                message,
                related,
            }]
        }
        _ if level == DiagnosticsLevel::All => {
            let mut shown = execution.stdout.trim_end().to_owned();
            if let Some(result) = result_text(&execution.result) {
                if !shown.is_empty() {
                    shown.push('\n');
                }
                shown.push_str(&format!("→ {result}"));
            }
            if shown.is_empty() {
                return Vec::new();
            }
            vec![MarkDiagnostic {
                line: snippet.last_line,
                severity: Severity::Information,
                code: None,
                message: shorten(&shown, DIAGNOSTIC_OUTPUT_CHARS),
                related: Vec::new(),
            }]
        }
        _ => Vec::new(),
    }
}

fn hover_text(
    number: u64,
    lens: &str,
    execution: &Execution,
    image: Option<&std::path::Path>,
) -> String {
    let mut text = format!("**Azure session · run {number}** · {lens}\n");
    let fence = |body: &str| {
        format!(
            "```text\n{}\n```\n",
            shorten(&body.replace("```", "`\u{200b}``"), HOVER_OUTPUT_CHARS)
        )
    };
    if !execution.stdout.is_empty() {
        text.push_str(&fence(&execution.stdout));
    }
    if !execution.stderr.is_empty() {
        text.push_str("\n**stderr**\n");
        text.push_str(&fence(&traceback::strip_ansi(&execution.stderr)));
    }
    if let Some(path) = image {
        text.push_str(&format!(
            "\n**result**: image saved to `{}`\n",
            path.display()
        ));
    } else if let Some(result) = result_text(&execution.result) {
        text.push_str("\n**result**\n");
        text.push_str(&fence(&result));
    }
    text
}

fn to_lsp_diagnostic(uri: &Uri, d: &MarkDiagnostic, line_end: u32) -> Diagnostic {
    let range = Range::new(Position::new(d.line, 0), Position::new(d.line, line_end));
    Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Information => DiagnosticSeverity::INFORMATION,
        }),
        code: d.code.clone().map(NumberOrString::String),
        source: Some(DIAGNOSTIC_SOURCE.to_owned()),
        message: d.message.clone(),
        related_information: (!d.related.is_empty()).then(|| {
            d.related
                .iter()
                .map(|(line, text)| DiagnosticRelatedInformation {
                    location: Location::new(
                        uri.clone(),
                        Range::new(Position::new(*line, 0), Position::new(*line, 0)),
                    ),
                    message: text.clone(),
                })
                .collect()
        }),
        ..Default::default()
    }
}
