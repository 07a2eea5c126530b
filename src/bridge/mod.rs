//! The bridge between `azure-sessions-lsp mcp` and a language server running for the same
//! workspace folder, so that an agent's runs go into the editor's session: its settings and
//! token, its queue, its transcript and its diagnostics.
//!
//! Transport: a per-user local socket named after the folder ([`socket_path`]), created 0600 in
//! the 0700 private runtime directory; the server also checks that the peer runs as the same
//! user. Only Unix has it today (`unix.rs`); elsewhere [`listen`] fails and [`call`] answers
//! `None`, so `mcp` runs alone (a named pipe can take its place behind the same functions).
//!
//! Protocol: one connection per request. The client writes one JSON line
//! `{"v": 1, "id": N, "method": M, "params": P}`; the server answers one JSON line
//! `{"id": N, "result": R}` or `{"id": N, "error": {"code": C, "message": S}}` (JSON-RPC codes)
//! and closes. The client closing the connection early cancels the request: the server stops
//! waiting for the run, as an editor's cancel does. `method` is a command of the language server
//! (`azure-sessions.run`, `azure-sessions.runCell`, `azure-sessions.listFiles`, …, with the same
//! argument object) or `azure-sessions.runCode` (`{"uri", "code", "language"?}`: code that is
//! in no document, run in the session of `uri`'s folder). No LSP types here.

#[cfg(unix)]
mod unix;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest;

/// The protocol version a request carries; a server refuses others.
pub const VERSION: u32 = 1;

/// The one method that is not a command of the language server.
pub const RUN_CODE: &str = "azure-sessions.runCode";

/// The longest request or answer line accepted (a run's output is capped well below it).
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// JSON-RPC codes used in answers.
pub const INVALID_PARAMS: i64 = -32602;
pub const REQUEST_FAILED: i64 = -32803;
pub const REQUEST_CANCELLED: i64 = -32800;

#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    pub v: u32,
    pub id: u64,
    pub method: String,
    #[serde(default)]
    pub params: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorAnswer {
    pub code: i64,
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Response {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorAnswer>,
}

/// The socket of a workspace folder: `mcp-<first 16 hex digits of SHA-256 of the canonical
/// path>.sock` in the private runtime directory (`$XDG_RUNTIME_DIR/azure-sessions-lsp`, else
/// `state_dir`). The name says nothing of the folder to others.
pub fn socket_path(state_dir: &Path, folder: &Path) -> PathBuf {
    let canonical = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    let digest = sha2::Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    socket_dir(state_dir).join(format!("mcp-{hex}.sock"))
}

/// The directory sockets are made in.
pub fn socket_dir(state_dir: &Path) -> PathBuf {
    crate::private::runtime_dir_or(state_dir.to_path_buf())
}

/// A listening socket for a folder; the file is removed when it is dropped.
pub struct Listener {
    #[cfg(unix)]
    inner: unix::Listener,
}

/// An accepted connection from a process of this user, to be answered once.
pub struct Connection {
    #[cfg(unix)]
    inner: unix::Connection,
}

impl Listener {
    /// Waits for the next connection. Connections from another user are closed here.
    pub async fn next(&mut self) -> std::io::Result<Connection> {
        #[cfg(unix)]
        {
            self.inner.next().await.map(|inner| Connection { inner })
        }
        #[cfg(not(unix))]
        {
            std::future::pending().await
        }
    }
}

impl Connection {
    /// Reads the request, runs `handle` on it and writes its answer. When the client closes the
    /// connection first, `handle`'s future is dropped (the request is cancelled). A line that is
    /// no request of this version is answered with an error.
    pub async fn serve<F, Fut>(self, handle: F)
    where
        F: FnOnce(Request) -> Fut,
        Fut: std::future::Future<Output = Result<Value, ErrorAnswer>>,
    {
        #[cfg(unix)]
        self.inner.serve(handle).await;
        #[cfg(not(unix))]
        drop(handle);
    }
}

/// Starts listening for a folder. Fails when another live server already listens there (it
/// keeps the folder), when the directory is not private, or on a platform without sockets.
pub fn listen(state_dir: &Path, folder: &Path) -> Result<Listener, String> {
    #[cfg(unix)]
    {
        unix::listen(&socket_path(state_dir, folder)).map(|inner| Listener { inner })
    }
    #[cfg(not(unix))]
    {
        let _ = (state_dir, folder);
        Err("sharing the session with `mcp` needs a Unix socket (not on this platform yet)".into())
    }
}

/// What a call to the editor gave.
#[derive(Debug)]
pub enum Called {
    /// Nothing listens there (no socket, or a stale one): nothing was sent.
    NoEditor,
    Answer(Result<Value, ErrorAnswer>),
}

/// The sockets that may lead to a language server for `folder`: its own, then its ancestors'
/// (an editor opened on a parent folder holds this one's files too), those whose file exists.
pub fn candidates(state_dir: &Path, folder: &Path) -> Vec<PathBuf> {
    #[cfg(unix)]
    {
        folder
            .ancestors()
            .map(|dir| socket_path(state_dir, dir))
            .filter(|socket| unix::is_socket(socket))
            .collect()
    }
    #[cfg(not(unix))]
    {
        let _ = (state_dir, folder);
        Vec::new()
    }
}

/// Sends one request to the server listening at `socket`. Dropping the future closes the
/// connection, which cancels the request there.
pub async fn call(socket: &Path, method: &str, params: Value) -> Called {
    #[cfg(unix)]
    {
        unix::call(socket, method, params).await
    }
    #[cfg(not(unix))]
    {
        let _ = (socket, method, params);
        Called::NoEditor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_folder_one_socket_name() {
        let state = Path::new("/state");
        let base = tempfile::tempdir().unwrap();
        let a = base.path().join("a");
        std::fs::create_dir(&a).unwrap();
        let again = base.path().join("a").join(".");
        assert_eq!(socket_path(state, &a), socket_path(state, &again));
        let b = base.path().join("b");
        assert_ne!(socket_path(state, &a), socket_path(state, &b));
        let name = socket_path(state, &a);
        let name = name.file_name().unwrap().to_string_lossy();
        assert!(
            name.starts_with("mcp-") && name.ends_with(".sock"),
            "{name}"
        );
        assert!(!name.contains('a') || name.len() == "mcp-".len() + 16 + ".sock".len());
    }
}
