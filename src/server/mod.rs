//! The language server: LSP in, runs out. Handlers stay short and never wait on the network
//! while holding a lock; runs go to one queue per session (see `runner`).

mod agents;
mod commands;
mod config;
mod displays;
mod documents;
mod edits;
mod export;
mod features;
mod marks;
mod output;
mod progress;
pub mod protocol;
mod recycle;
mod runner;
mod runtime;
mod sessions;
mod stdin;
mod transport;
mod variables;

pub use variables::{parse as parse_variables, snippet as variables_snippet};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use config::Config;
use documents::Documents;
use marks::Marks;
use protocol::*;
use sessions::Session;

/// Enough in-flight requests that `$/cancelRequest` is never stuck behind waiting runs.
const CONCURRENCY: usize = 4096;

pub struct Backend {
    inner: Arc<Inner>,
}

/// What the server knows; shared with the tasks that carry out runs.
pub struct Inner {
    client: Client,
    documents: Mutex<Documents>,
    marks: Mutex<Marks>,
    config: Mutex<Config>,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    runtime: runtime::Runtime,
    /// Cancel handles of runs by their work-done progress token.
    progress_cancels: progress::Cancels,
    /// Prewarms in flight (token fetch and first connection), which the first runs wait for.
    warming: Mutex<Vec<futures::future::Shared<futures::future::BoxFuture<'static, ()>>>>,
    next_id: AtomicU64,
    /// The sockets on which `azure-sessions-lsp mcp` reaches this server, by workspace folder.
    agent_sockets: agents::Sockets,
}

/// Locks a std mutex, recovering from poisoning (a panicked task must not take the server down).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inner {
    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Options of the server process (from the command line).
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Where identifiers' secret lives; `None` is the platform's state directory.
    pub state_dir: Option<PathBuf>,
}

pub fn build(options: ServerOptions) -> (LspService<Backend>, tower_lsp_server::ClientSocket) {
    LspService::build(|client| Backend {
        inner: Arc::new(Inner {
            client,
            documents: Mutex::default(),
            marks: Mutex::default(),
            config: Mutex::default(),
            sessions: Mutex::default(),
            runtime: runtime::Runtime::new(
                options
                    .state_dir
                    .unwrap_or_else(crate::identity::default_state_dir),
            ),
            progress_cancels: Mutex::default(),
            warming: Mutex::default(),
            next_id: AtomicU64::new(0),
            agent_sockets: Mutex::default(),
        }),
    })
    .custom_method("azure-sessions/output", Backend::output)
    .custom_method(
        "window/workDoneProgress/cancel",
        Backend::work_done_progress_cancel,
    )
    .finish()
}

/// Serves LSP over stdin/stdout until the client exits or closes stdin. Malformed frames are
/// answered with an error and skipped (see `transport`); fails only when stdin cannot be read
/// or stdout written.
pub async fn serve_stdio(options: ServerOptions) -> std::io::Result<()> {
    // Editors connect through pipes: read and write them directly. tokio's stdin/stdout hand
    // every read and write to a blocking thread, a thread hop per message.
    if let Some((input, output)) = crate::platform::stdio_pipes() {
        return transport::guard(input, output, |i, o| serve(i, o, options)).await;
    }
    let (input, output) = (tokio::io::stdin(), tokio::io::stdout());
    transport::guard(input, output, |i, o| serve(i, o, options)).await
}

/// Serves LSP over any byte streams (tests use `tokio::io::duplex`), without the transport's
/// checks: the first frame tower-lsp-server cannot decode ends it.
pub async fn serve<I, O>(input: I, output: O, options: ServerOptions)
where
    I: tokio::io::AsyncRead + Unpin,
    O: tokio::io::AsyncWrite,
{
    let (service, socket) = build(options);
    Server::new(input, output, socket)
        .concurrency_level(CONCURRENCY)
        .serve(service)
        .await;
}

impl Backend {
    async fn output(&self, params: OutputParams) -> Result<OutputResult> {
        if !params.uri.starts_with(&format!("{OUTPUT_SCHEME}:")) {
            return Err(invalid_params(format!("no output document {}", params.uri)));
        }
        if let Some(text) = self.inner.transcript_text(&params.uri) {
            return Ok(OutputResult { text });
        }
        // An editor may reopen a transcript after a restart: the folders' sessions (and so
        // their transcripts) exist again once asked for.
        self.inner.open_folder_sessions();
        let text = self.inner.transcript_text(&params.uri).unwrap_or_else(|| {
            "Azure session output\nThis transcript belongs to an earlier run of the language server; \
             its runs are not kept across restarts. Run code to start a new transcript.\n"
                .to_owned()
        });
        Ok(OutputResult { text })
    }

    async fn work_done_progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        let key = token_key(&params.token);
        if let Some(cancel) = lock(&self.inner.progress_cancels).get(&key) {
            cancel.notify_one();
        }
    }
}

fn token_key(token: &ProgressToken) -> String {
    match token {
        NumberOrString::Number(n) => n.to_string(),
        NumberOrString::String(s) => s.clone(),
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        self.inner.initialize(&params);
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        ..Default::default()
                    },
                )),
                code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
                code_lens_provider: Some(CodeLensOptions {
                    resolve_provider: Some(false),
                }),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                inlay_hint_provider: Some(OneOf::Left(true)),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: COMMANDS.iter().map(|c| c.to_string()).collect(),
                    work_done_progress_options: WorkDoneProgressOptions {
                        work_done_progress: Some(true),
                    },
                }),
                workspace: Some(WorkspaceServerCapabilities {
                    workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                        supported: Some(true),
                        change_notifications: Some(OneOf::Left(true)),
                    }),
                    file_operations: None,
                }),
                ..Default::default()
            },
            server_info: Some(ServerInfo {
                name: "azure-sessions-lsp".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            ..Default::default()
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        self.inner.flush_pending_messages();
        self.inner.share_folders();
        let inner = self.inner.clone();
        tokio::spawn(async move {
            inner.pull_configuration().await;
            inner.prewarm();
        });
    }

    async fn shutdown(&self) -> Result<()> {
        self.inner.stop_sharing();
        self.inner.runtime.shutdown().await;
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        lock(&self.inner.documents).open(doc.uri.as_str(), doc.text, doc.version, doc.language_id);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        let edits = lock(&self.inner.documents).change(
            uri.as_str(),
            params.text_document.version,
            params.content_changes,
        );
        if !edits.is_empty() && lock(&self.inner.marks).apply_edits(uri.as_str(), &edits) {
            let inner = self.inner.clone();
            tokio::spawn(async move { inner.publish_marks(&uri).await });
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        lock(&self.inner.documents).close(uri.as_str());
        lock(&self.inner.marks).close(uri.as_str());
        self.inner
            .client
            .publish_diagnostics(uri, Vec::new(), None)
            .await;
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        self.inner.configuration_pushed(&params.settings);
        let inner = self.inner.clone();
        tokio::spawn(async move { inner.pull_configuration().await });
    }

    async fn did_change_workspace_folders(&self, params: DidChangeWorkspaceFoldersParams) {
        self.inner.folders_changed(params.event);
        self.inner.share_folders();
        let inner = self.inner.clone();
        tokio::spawn(async move { inner.pull_configuration().await });
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        Ok(Some(
            self.inner
                .code_actions(&params.text_document.uri, params.range),
        ))
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        Ok(Some(self.inner.code_lenses(&params.text_document.uri)))
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        Ok(Some(
            self.inner
                .inlay_hints(&params.text_document.uri, params.range),
        ))
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let position = params.text_document_position_params;
        Ok(self
            .inner
            .hover(&position.text_document.uri, position.position))
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<Value>> {
        let token = params.work_done_progress_params.work_done_token;
        let value = self
            .inner
            .command(&params.command, &params.arguments, token, false)
            .await?;
        Ok(Some(value))
    }
}

impl Inner {
    /// A command of `workspace/executeCommand`, from the editor or (`agent`) from
    /// `azure-sessions-lsp mcp` through the agent socket.
    async fn command(
        self: &Arc<Self>,
        command: &str,
        args: &[Value],
        token: Option<ProgressToken>,
        agent: bool,
    ) -> Result<Value> {
        let value = match command {
            RUN => {
                let args: RunArgs = parse_args(RUN, args, r#"{"uri", "range"?, "stdin"?}"#)?;
                self.run(args, token, agent).await?.into_value()
            }
            RUN_CELL => {
                let args: RunCellArgs = parse_args(RUN_CELL, args, r#"{"uri", "position"}"#)?;
                self.run_cell(args, token, agent).await?.into_value()
            }
            RESET_SESSION => {
                self.reset_session(parse_args(RESET_SESSION, args, r#"{"uri"?}"#)?)
                    .await?
            }
            SESSION_INFO => self.session_info(parse_args(SESSION_INFO, args, r#"{"uri"?}"#)?)?,
            UPLOAD_FILE => {
                self.upload_file(parse_args(UPLOAD_FILE, args, r#"{"uri", "remoteName"?}"#)?)
                    .await?
            }
            LIST_FILES => {
                self.list_files(parse_args(LIST_FILES, args, r#"{"uri"?}"#)?)
                    .await?
            }
            DOWNLOAD_FILE => {
                self.download_file(parse_args(
                    DOWNLOAD_FILE,
                    args,
                    r#"{"remoteName", "targetUri", "uri"?}"#,
                )?)
                .await?
            }
            DOCTOR => {
                self.doctor(parse_args(DOCTOR, args, r#"{"uri"?}"#)?)
                    .await?
            }
            VARIABLES => {
                self.variables(parse_args(VARIABLES, args, r#"{"uri"?}"#)?)
                    .await?
            }
            EXPORT_NOTEBOOK => {
                self.export_notebook(parse_args(
                    EXPORT_NOTEBOOK,
                    args,
                    r#"{"targetUri", "uri"?}"#,
                )?)
                .await?
            }
            other => {
                return Err(invalid_params(format!(
                    "unknown command {other:?}; known: {}",
                    COMMANDS.join(", ")
                )));
            }
        };
        Ok(value)
    }
}
