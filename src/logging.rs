//! Logs: to stderr only (stdout carries LSP messages or the program's output), filtered by
//! RUST_LOG, with a floor for the libraries that see secrets.

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Libraries that log whole messages or headers below INFO: tower-lsp-server the editor's
/// answers (a `getAccessToken` reply carries a token), the HTTP and TLS stacks their
/// headers, azure_identity its token requests.
const QUIET: [&str; 9] = [
    "tower_lsp_server",
    "hyper",
    "hyper_util",
    "reqwest",
    "h2",
    "rustls",
    "azure_core",
    "azure_identity",
    "typespec_client_core",
];

/// Starts logging with RUST_LOG, or `default_filter` without it. Whatever RUST_LOG says (even
/// `tower_lsp_server::codec=trace`, which is more specific than any directive added to it),
/// the quiet libraries never log below INFO: the floor is a separate filter RUST_LOG cannot
/// reach.
pub fn init(default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into());
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(filter)
        .finish()
        .with(filter_fn(allowed))
        .try_init();
}

/// Whether an event or span may be logged at all.
fn allowed(metadata: &Metadata<'_>) -> bool {
    *metadata.level() <= Level::INFO || !is_quiet(metadata.target())
}

fn is_quiet(target: &str) -> bool {
    QUIET.iter().any(|name| {
        target
            .strip_prefix(name)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_targets_are_crates_and_their_modules() {
        for target in [
            "tower_lsp_server",
            "tower_lsp_server::codec",
            "hyper::proto::h1",
            "h2",
        ] {
            assert!(is_quiet(target), "{target}");
        }
        for target in [
            "azure_sessions_lsp::server",
            "h2o",
            "hyperlocal",
            "tower_lsp_serverx",
        ] {
            assert!(!is_quiet(target), "{target}");
        }
    }

    #[test]
    fn the_floor_holds_whatever_the_filter_says() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_env_filter(EnvFilter::new(
                "info,tower_lsp_server::codec=trace,hyper=trace",
            ))
            .finish()
            .with(filter_fn(allowed));
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "tower_lsp_server::codec", "<- token-in-a-trace");
            tracing::debug!(target: "hyper::proto", "authorization: token-in-a-debug");
            tracing::info!(target: "tower_lsp_server::codec", "info-still-shows");
            tracing::warn!(target: "azure_sessions_lsp::server", "ours-shows");
        });
        let logged = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert!(!logged.contains("token-in-a"), "{logged}");
        assert!(logged.contains("info-still-shows") && logged.contains("ours-shows"));
    }
}
