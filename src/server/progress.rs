//! Work-done progress of one run, reported from a task of its own: neither creating the
//! token (a round trip to the editor) nor reporting ever delays the run or its place in
//! the session's queue. Also the run's cancel handle, found by its progress token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, mpsc};
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::ProgressToken;

use super::lock;

/// Cancel handles of runs by their work-done progress token.
pub type Cancels = Mutex<HashMap<String, Arc<Notify>>>;

/// A run's entry in the cancel handles, removed when the request ends however it ends:
/// `$/cancelRequest` drops the request's future while it waits, so no code after that
/// await would run.
pub struct CancelEntry<'a> {
    cancels: &'a Cancels,
    key: String,
    cancel: Arc<Notify>,
}

impl<'a> CancelEntry<'a> {
    pub fn register(cancels: &'a Cancels, key: String, cancel: Arc<Notify>) -> CancelEntry<'a> {
        lock(cancels).insert(key.clone(), cancel.clone());
        CancelEntry {
            cancels,
            key,
            cancel,
        }
    }
}

impl Drop for CancelEntry<'_> {
    fn drop(&mut self) {
        let mut cancels = lock(self.cancels);
        // A later run that reused the token owns the entry now.
        if cancels
            .get(&self.key)
            .is_some_and(|c| Arc::ptr_eq(c, &self.cancel))
        {
            cancels.remove(&self.key);
        }
    }
}

enum Event {
    Report(String),
    Finish(String),
}

pub struct RunProgress {
    events: mpsc::UnboundedSender<Event>,
}

impl RunProgress {
    /// Begins progress on `token`, first creating it with the editor when `create` is set.
    pub fn start(
        client: Client,
        token: ProgressToken,
        create: bool,
        message: String,
    ) -> RunProgress {
        let (events, mut received) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            if create
                && client
                    .create_work_done_progress(token.clone())
                    .await
                    .is_err()
            {
                return;
            }
            let progress = client
                .progress(token, "Azure session")
                .with_message(message)
                .with_cancel_button()
                .begin()
                .await;
            while let Some(event) = received.recv().await {
                match event {
                    Event::Report(message) => {
                        progress.report_with_message(message, Some(true)).await
                    }
                    Event::Finish(message) => return progress.finish_with_message(message).await,
                }
            }
            progress.finish().await;
        });
        RunProgress { events }
    }

    pub fn report(&self, message: String) {
        let _ = self.events.send(Event::Report(message));
    }

    pub fn finish(&self, message: String) {
        let _ = self.events.send(Event::Finish(message));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;
    use tower_lsp_server::ls_types::NumberOrString;

    use super::super::protocol::RunArgs;
    use super::super::{ServerOptions, build};
    use super::*;

    #[tokio::test]
    async fn a_run_cancelled_by_the_editor_leaves_no_cancel_handle() {
        // A pool that takes connections and never answers: the run waits for it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let state = tempfile::tempdir().unwrap();
        let (service, _socket) = build(ServerOptions {
            state_dir: Some(state.path().to_owned()),
        });
        let inner = service.inner().inner.clone();
        inner.configuration_pushed(
            &json!({"endpoint": format!("http://127.0.0.1:{port}"), "auth": "none"}),
        );
        let uri = "file:///project/slow.py";
        lock(&inner.documents).open(uri, "slow()\n".into(), 1, "python".into());
        let args = RunArgs {
            uri: uri.parse().unwrap(),
            range: None,
            stdin: None,
        };
        let run = inner.run(args, Some(NumberOrString::String("tok-1".into())), false);
        // `$/cancelRequest` drops the request's future while it waits.
        let waited = tokio::time::timeout(Duration::from_millis(500), run).await;
        assert!(
            waited.is_err(),
            "the run should still be waiting: {waited:?}"
        );
        assert!(lock(&inner.progress_cancels).is_empty());
    }
}
