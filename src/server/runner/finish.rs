//! What a finished run leaves behind: saved displays and outputs, marks (diagnostics, lens,
//! hover, inline value), the transcript entry and the session's history, the notifications to the
//! editor, and the `RunOutcome` it is answered with.

use super::*;

impl Inner {
    pub(super) async fn finish(
        &self,
        job: &RunJob,
        pool: &str,
        started_at: String,
        notes: Vec<String>,
        mut execution: Execution,
    ) -> RunOutcome {
        let (session, snippet, uri) = (&job.session, &job.snippet, &job.uri);
        let failure = (execution.status == ExecutionStatus::Failed)
            .then(|| traceback::parse(&execution.stderr, &snippet.code));
        // Lines as of the text that ran; `marks.finish` says how far they moved since.
        let mut error = failure.as_ref().map(|f| RunError {
            kind: f.kind.clone(),
            message: f.message.clone(),
            line: f
                .innermost_code_line()
                .and_then(|n| snippet.document_line(n)),
        });

        let number = lock(&session.state).transcript.next_number();
        // Saved files go to the per-user private directory, under random names (never the
        // session identifier), written off the LSP thread.
        let files_dir = crate::private::output_dir();
        let (displays, stdout, stderr) = {
            let displays = std::mem::take(&mut execution.displays);
            let dir = files_dir.clone();
            let displays = tokio::task::spawn_blocking(move || save_displays(displays, &dir))
                .await
                .unwrap_or_default();
            let stdout = spill(std::mem::take(&mut execution.stdout), &files_dir, "stdout").await;
            let stderr = spill(std::mem::take(&mut execution.stderr), &files_dir, "stderr").await;
            (displays, stdout, stderr)
        };
        // A legacy image result names the file its picture was saved to.
        let image_path = (execution.result.get("type").and_then(Value::as_str) == Some("image"))
            .then(|| first_image(&displays))
            .flatten();
        if let Value::Object(map) = &mut execution.result {
            // The picture is in `displays`; its base64 need not travel to the editor again.
            map.remove("base64_data");
        }
        execution.stdout = stdout;
        execution.stderr = stderr;
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
            job.settings.diagnostics,
            snippet,
            &execution,
            failure.as_ref(),
            error.as_ref(),
        );
        let shown = Shown {
            lens: lens.clone(),
            hover,
            inline: inline_value(&execution, error.as_ref(), &displays),
        };
        let finished =
            lock(&self.marks).finish(uri.as_str(), job.id, snippet.first_line, shown, diagnostics);
        // The line reported is where the diagnostic is now, after edits made during the run.
        if let (Some(error), Some(shift)) = (&mut error, finished.shift) {
            error.line = error.line.map(|line| moved(line, shift));
        }

        {
            let mut state = lock(&session.state);
            state.runs += 1;
            state.last_run_at = Some(started_at.clone());
            state.last_run = Some(Instant::now());
            export::record(
                &mut state.history,
                RunRecord {
                    number,
                    code: snippet.code.clone(),
                    stdout: execution.stdout.clone(),
                    stderr: execution.stderr.clone(),
                    result: execution.result.clone(),
                    error: error.as_ref().map(|e| (e.kind.clone(), e.message.clone())),
                    displays: displays
                        .iter()
                        .map(|d| notebook::Display {
                            mime_type: d.mime_type.clone(),
                            text: d.text.clone(),
                            path: d.path.clone(),
                        })
                        .collect(),
                },
            );
            state.transcript.push(&Entry {
                number,
                started_at: &started_at,
                by: job.agent.then_some("agent"),
                pool,
                file: &job.file,
                what: &snippet.label,
                status: execution.status.as_str(),
                time_ms: execution.execution_time_ms,
                stdout: &execution.stdout,
                stderr: &execution.stderr,
                result: &execution.result,
                image_path: image_path.as_deref(),
                notes: &notes,
                compile: execution.compile.as_ref(),
                // A legacy image is named by its `[result]` line already.
                displays: &displays
                    .iter()
                    .filter(|d| d.path.is_none() || d.path != image_path)
                    .map(describe)
                    .collect::<Vec<_>>(),
            });
        }
        if finished.changed {
            self.publish_marks(uri).await;
            self.refresh_lenses().await;
        }
        self.output_changed(session).await;
        let status = match &error {
            None => ("succeeded", format!("{lens} {}", snippet.label)),
            Some(e) => ("failed", format!("{}: {}", e.kind, e.message)),
        };
        self.status(uri.as_str(), status.0, &status.1).await;
        let outcome = RunOutcome {
            status: execution.status.as_str(),
            stdout: execution.stdout,
            stderr: execution.stderr,
            result: execution.result,
            execution_time_ms: execution.execution_time_ms,
            error,
            output_uri: session.output_uri.clone(),
            displays,
        };
        if job.agent {
            // The editor did not ask for this run: it learns of it here (the Results view).
            self.client
                .send_notification::<AgentRun>(AgentRunParams {
                    uri: uri.to_string(),
                    label: job.describe(),
                    outcome: serde_json::to_value(&outcome).unwrap_or_default(),
                })
                .await;
        }
        outcome
    }

    pub(in crate::server) async fn output_changed(&self, session: &Session) {
        self.client
            .send_notification::<OutputChanged>(UriParams {
                uri: session.output_uri.clone(),
            })
            .await;
    }

    pub(in crate::server) async fn status(&self, uri: &str, state: &str, message: &str) {
        self.client
            .send_notification::<Status>(StatusParams {
                uri: uri.to_owned(),
                state: state.to_owned(),
                message: message.to_owned(),
            })
            .await;
    }

    /// Asks the editor to ask again for lenses and inlay hints. It answers after it did: the
    /// run is not held for it.
    pub(in crate::server) async fn refresh_lenses(&self) {
        let (lenses, hints) = {
            let config = lock(&self.config);
            (
                config.supports_code_lens_refresh,
                config.supports_inlay_hint_refresh,
            )
        };
        let client = self.client.clone();
        if lenses || hints {
            tokio::spawn(async move {
                if lenses {
                    let _ = client.code_lens_refresh().await;
                }
                if hints {
                    let _ = client.inlay_hint_refresh().await;
                }
            });
        }
    }

    /// Publishes the diagnostics that runs left on a document.
    pub(in crate::server) async fn publish_marks(&self, uri: &Uri) {
        let (version, line_lengths) = {
            let documents = lock(&self.documents);
            let doc = documents.get(uri.as_str());
            let lengths: Vec<u32> = doc.map(|d| code::line_ends(&d.text)).unwrap_or_default();
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
}
