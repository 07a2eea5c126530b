//! Work-done progress of one run, reported from a task of its own: neither creating the
//! token (a round trip to the editor) nor reporting ever delays the run or its place in
//! the session's queue.

use tokio::sync::mpsc;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::ProgressToken;

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
