//! The protocol channel between the local pool and one interpreter's worker script.
//!
//! On Unix the worker inherits one end of a socket pair as fd 3. Windows has no such fd
//! passing for Python and Node.js, so there the pool listens on a loopback port for this one
//! worker: the worker is told the address and a 256-bit token in its environment (it removes
//! both before any user code runs), connects, and sends the token as its first line; any
//! connection without the token is dropped. The loopback way also runs on Unix when
//! `AZURE_SESSIONS_WORKER_CHANNEL=loopback` is set, so that the Windows path is tested on Linux.

use std::io;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

pub type ChannelRead = Pin<Box<dyn AsyncRead + Send + Sync>>;
pub type ChannelWrite = Pin<Box<dyn AsyncWrite + Send + Sync>>;

/// The pool's end of a channel, set up before the worker is spawned.
pub enum WorkerChannel {
    #[cfg(unix)]
    Inherited(tokio::net::UnixStream),
    Loopback {
        listener: TcpListener,
        token: String,
    },
}

pub const ADDR_ENV: &str = "AZURE_SESSIONS_WORKER_ADDR";
pub const TOKEN_ENV: &str = "AZURE_SESSIONS_WORKER_TOKEN";
/// `loopback` selects the Windows way on Unix (for tests).
pub const CHANNEL_ENV: &str = "AZURE_SESSIONS_WORKER_CHANNEL";

impl WorkerChannel {
    /// Prepares `cmd` to reach the pool (see the module's text). On Unix the command owns the
    /// child's end until it is dropped: drop it right after spawning.
    pub async fn prepare(cmd: &mut tokio::process::Command) -> io::Result<WorkerChannel> {
        #[cfg(unix)]
        if std::env::var(CHANNEL_ENV).as_deref() != Ok("loopback") {
            return super::inherited_worker_channel(cmd).map(WorkerChannel::Inherited);
        }
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let token = crate::private::random_key();
        cmd.env(ADDR_ENV, listener.local_addr()?.to_string())
            .env(TOKEN_ENV, &token);
        Ok(WorkerChannel::Loopback { listener, token })
    }

    /// The connected channel, split (the caller bounds the wait).
    pub async fn connect(self) -> io::Result<(ChannelRead, ChannelWrite)> {
        match self {
            #[cfg(unix)]
            WorkerChannel::Inherited(stream) => {
                let (r, w) = stream.into_split();
                Ok((Box::pin(r), Box::pin(w)))
            }
            WorkerChannel::Loopback { listener, token } => loop {
                let (mut stream, _) = listener.accept().await?;
                if accepts(&mut stream, &token).await {
                    let (r, w) = stream.into_split();
                    return Ok((Box::pin(r), Box::pin(w)));
                }
            },
        }
    }
}

/// Reads the first line (at most 100 bytes, within 10 s) and compares it with the token.
async fn accepts(stream: &mut TcpStream, token: &str) -> bool {
    let read = async {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while line.len() <= 100 {
            match stream.read(&mut byte).await {
                Ok(1) if byte[0] == b'\n' => return Some(line),
                Ok(1) => line.push(byte[0]),
                _ => return None,
            }
        }
        None
    };
    match tokio::time::timeout(std::time::Duration::from_secs(10), read).await {
        Ok(Some(line)) => token_matches(&line, token.as_bytes()),
        _ => false,
    }
}

/// Compares without stopping at the first difference.
fn token_matches(given: &[u8], token: &[u8]) -> bool {
    let given = given.strip_suffix(b"\r").unwrap_or(given);
    given.len() == token.len()
        && given
            .iter()
            .zip(token)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[test]
    fn tokens_compare_exactly() {
        assert!(token_matches(b"abc", b"abc"));
        assert!(token_matches(b"abc\r", b"abc"));
        assert!(!token_matches(b"abd", b"abc"));
        assert!(!token_matches(b"ab", b"abc"));
        assert!(!token_matches(b"", b"abc"));
    }

    #[tokio::test]
    async fn a_loopback_channel_takes_only_the_holder_of_its_token() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let channel = WorkerChannel::Loopback {
            listener,
            token: "secret".into(),
        };
        let connected = tokio::spawn(channel.connect());
        // A stranger with the wrong token is dropped.
        let mut stranger = TcpStream::connect(addr).await.unwrap();
        stranger.write_all(b"guess\n").await.unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(stranger.read(&mut buf).await.unwrap_or(0), 0, "closed");
        // The worker is taken.
        let mut worker = TcpStream::connect(addr).await.unwrap();
        worker.write_all(b"secret\nhello").await.unwrap();
        let (mut r, _w) = connected.await.unwrap().unwrap();
        let mut got = [0u8; 5];
        r.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello");
    }
}
