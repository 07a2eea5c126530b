//! The bridge over a Unix socket: 0600 in a 0700 directory of ours, and the peer's uid checked
//! (`SO_PEERCRED` / `getpeereid`) on both ends.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use super::{
    Called, ErrorAnswer, INVALID_PARAMS, MAX_LINE_BYTES, REQUEST_FAILED, Request, VERSION,
};

/// How long a connected client may take to send its request line.
const REQUEST_WAIT: Duration = Duration::from_secs(10);

pub struct Listener {
    listener: UnixListener,
    path: PathBuf,
    inode: u64,
}

pub struct Connection {
    stream: UnixStream,
}

pub fn is_socket(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

pub fn listen(path: &Path) -> Result<Listener, String> {
    let dir = path.parent().ok_or("the socket has no directory")?;
    crate::private::ensure_private_dir(dir)?;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() || meta.uid() != crate::private::euid() {
            return Err(format!(
                "{} exists and is not a socket of ours; left alone",
                path.display()
            ));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(format!(
                "another language server already shares this folder's session ({})",
                path.display()
            ));
        }
        // Left by a server that ended without removing it.
        let _ = std::fs::remove_file(path);
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    let inode = std::fs::symlink_metadata(path)
        .map(|m| m.ino())
        .unwrap_or(0);
    Ok(Listener {
        listener,
        path: path.to_owned(),
        inode,
    })
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Only our own socket: another server may have replaced a file it thought stale.
        if std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.ino() == self.inode) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn same_user(stream: &UnixStream) -> bool {
    stream
        .peer_cred()
        .is_ok_and(|cred| cred.uid() == crate::private::euid())
}

impl Listener {
    pub async fn next(&mut self) -> std::io::Result<Connection> {
        loop {
            let (stream, _) = self.listener.accept().await?;
            if same_user(&stream) {
                return Ok(Connection { stream });
            }
            tracing::warn!("refused a connection to the agent socket from another user");
        }
    }
}

/// Reads one line of at most [`MAX_LINE_BYTES`]; `None` at end of input.
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let read = reader
        .take(MAX_LINE_BYTES as u64 + 1)
        .read_until(b'\n', &mut line)
        .await?;
    if read == 0 {
        return Ok(None);
    }
    if line.len() > MAX_LINE_BYTES {
        return Err(std::io::Error::other("the line is too long"));
    }
    Ok(Some(line))
}

impl Connection {
    pub async fn serve<F, Fut>(self, handle: F)
    where
        F: FnOnce(Request) -> Fut,
        Fut: std::future::Future<Output = Result<Value, ErrorAnswer>>,
    {
        let (read, mut write) = self.stream.into_split();
        let mut reader = BufReader::new(read);
        let line = match tokio::time::timeout(REQUEST_WAIT, read_line(&mut reader)).await {
            Ok(Ok(Some(line))) => line,
            // Closed at once (a probe), too slow, or unreadable: nothing to answer.
            _ => return,
        };
        let request: Request = match serde_json::from_slice(&line) {
            Ok(request) => request,
            Err(error) => {
                let answer = super::Response {
                    id: 0,
                    result: None,
                    error: Some(ErrorAnswer {
                        code: INVALID_PARAMS,
                        message: format!("not a request: {error}"),
                    }),
                };
                let _ = write_answer(&mut write, &answer).await;
                return;
            }
        };
        let id = request.id;
        let outcome = if request.v != VERSION {
            Err(ErrorAnswer {
                code: INVALID_PARAMS,
                message: format!(
                    "protocol version {} is not served here (this server speaks {VERSION}); \
                     use the same azure-sessions-lsp for the editor and the agent",
                    request.v
                ),
            })
        } else {
            let work = handle(request);
            tokio::pin!(work);
            // The client sends nothing more: end of input means it went away (cancelled).
            let gone = async {
                let mut sink = [0u8; 256];
                loop {
                    match reader.read(&mut sink).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            };
            tokio::select! {
                outcome = &mut work => outcome,
                () = gone => return,
            }
        };
        let answer = match outcome {
            Ok(result) => super::Response {
                id,
                result: Some(result),
                error: None,
            },
            Err(error) => super::Response {
                id,
                result: None,
                error: Some(error),
            },
        };
        let _ = write_answer(&mut write, &answer).await;
    }
}

async fn write_answer(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    answer: &super::Response,
) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec(answer).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    write.write_all(&bytes).await?;
    write.shutdown().await
}

pub async fn call(socket: &Path, method: &str, params: Value) -> Called {
    let stream = match UnixStream::connect(socket).await {
        Ok(stream) => stream,
        Err(_) => return Called::NoEditor,
    };
    if !same_user(&stream) {
        tracing::warn!("{} is served by another user; not used", socket.display());
        return Called::NoEditor;
    }
    let failed = |message: String| {
        Called::Answer(Err(ErrorAnswer {
            code: REQUEST_FAILED,
            message,
        }))
    };
    let request = Request {
        v: VERSION,
        id: 1,
        method: method.to_owned(),
        params,
    };
    let mut line = match serde_json::to_vec(&request) {
        Ok(line) => line,
        Err(error) => return failed(format!("the request could not be written: {error}")),
    };
    line.push(b'\n');
    let (read, mut write) = stream.into_split();
    if write.write_all(&line).await.is_err() {
        // The server went away before reading anything.
        return Called::NoEditor;
    }
    let mut reader = BufReader::new(read);
    let gone = "the editor's language server went away during the request; the run may have \
                happened: look at the session transcript";
    let line = match read_line(&mut reader).await {
        Ok(Some(line)) => line,
        Ok(None) | Err(_) => return failed(gone.to_owned()),
    };
    match serde_json::from_slice::<super::Response>(&line) {
        Ok(super::Response {
            error: Some(error), ..
        }) => Called::Answer(Err(error)),
        Ok(super::Response { result, .. }) => Called::Answer(Ok(result.unwrap_or(Value::Null))),
        Err(error) => failed(format!("the editor's answer could not be read: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn a_request_is_answered_and_a_closed_client_cancels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run").join("s.sock");
        let mut listener = listen(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::metadata(path.parent().unwrap()).unwrap().mode() & 0o777,
            0o700
        );
        assert!(listen(&path).is_err(), "a live socket is not taken over");

        let (cancelled_tx, cancelled_rx) = tokio::sync::oneshot::channel::<()>();
        struct Flag(Option<tokio::sync::oneshot::Sender<()>>);
        impl Drop for Flag {
            fn drop(&mut self) {
                if let Some(tx) = self.0.take() {
                    let _ = tx.send(());
                }
            }
        }
        let flag = std::sync::Arc::new(std::sync::Mutex::new(Some(Flag(Some(cancelled_tx)))));
        let server = tokio::spawn(async move {
            // Connections in turn (the probe of the second `listen` first, unanswered): an
            // echo, and a request that never ends until the client goes away.
            loop {
                let conn = listener.next().await.unwrap();
                let held = flag.clone();
                let last = conn
                    .serve(|request| async move {
                        if request.method == "hang" {
                            let _flag = held.lock().unwrap().take();
                            std::future::pending::<()>().await;
                        }
                        Ok(json!({"echo": request.params}))
                    })
                    .await;
                let () = last;
                if flag_taken(&flag) {
                    return listener;
                }
            }
        });
        fn flag_taken(flag: &std::sync::Mutex<Option<Flag>>) -> bool {
            flag.lock().unwrap().is_none()
        }
        match call(&path, "m", json!({"a": 1})).await {
            Called::Answer(Ok(value)) => assert_eq!(value, json!({"echo": {"a": 1}})),
            other => panic!("{other:?}"),
        }
        let slow = tokio::spawn({
            let path = path.clone();
            async move { call(&path, "hang", json!({})).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        slow.abort();
        tokio::time::timeout(Duration::from_secs(5), cancelled_rx)
            .await
            .expect("the server stopped the work")
            .unwrap();
        let listener = server.await.unwrap();
        drop(listener);
        assert!(!path.exists(), "the socket is removed");
        assert!(matches!(
            call(&path, "m", json!({})).await,
            Called::NoEditor
        ));
    }

    #[tokio::test]
    async fn a_stale_socket_is_replaced_and_other_versions_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(is_socket(&path));
        assert!(matches!(
            call(&path, "m", json!({})).await,
            Called::NoEditor
        ));
        let mut listener = listen(&path).expect("a stale socket is replaced");
        tokio::spawn(async move {
            let conn = listener.next().await.unwrap();
            conn.serve(|_| async { Ok(Value::Null) }).await;
        });
        let mut stream = UnixStream::connect(&path).await.unwrap();
        stream
            .write_all(b"{\"v\": 99, \"id\": 7, \"method\": \"m\"}\n")
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["id"], 7);
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("version 99"),
            "{answer}"
        );
    }
}
