//! The pipe between the editor and tower-lsp-server. tower-lsp-server stops reading for good
//! at the first frame it cannot decode (and the server then exits 0 without a word), so the
//! editor's bytes go through here first: only frames it will decode reach it; any other frame
//! gets a JSON-RPC error answer, a warning on stderr, and the stream carries on with the next
//! `Content-Length:`. The server's own output goes through a second pipe and on to stdout
//! whole frame by whole frame, so an error answer never lands inside one of its messages.

mod check;
mod frames;
mod scan;

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::sync::mpsc;

use check::{PARSE_ERROR, Rejection};
use frames::{Event, Framer};

/// Reads ask for at least this much room.
const READ_CHUNK: usize = 64 * 1024;
/// After a frame this big, the read buffer starts afresh instead of keeping its memory.
const SHRINK_AFTER: usize = 1024 * 1024;
/// Frames waiting for the server (each may be large: the bound is in messages).
const FRAME_QUEUE: usize = 16;
const ERROR_QUEUE: usize = 64;
const SERVER_PIPE: usize = 256 * 1024;

/// Serves the editor on `input`/`output` with `serve`, which gets the checked frames and a
/// pipe for its output. Ends when the server ends (after `exit`, or once stdin is closed);
/// fails only when stdin cannot be read or stdout written.
pub async fn guard<I, O, S, F>(input: I, output: O, serve: S) -> io::Result<()>
where
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
    S: FnOnce(Inbound, DuplexStream) -> F,
    F: Future<Output = ()>,
{
    let (frames_tx, frames_rx) = mpsc::channel(FRAME_QUEUE);
    let (errors_tx, errors_rx) = mpsc::channel(ERROR_QUEUE);
    let (server_out, from_server) = tokio::io::duplex(SERVER_PIPE);
    let mut server = pin!(serve(Inbound::new(frames_rx), server_out));
    let mut reading = pin!(read_editor(input, frames_tx, errors_tx));
    let mut writing = pin!(write_editor(from_server, errors_rx, output));
    let (mut read, mut served) = (None, false);
    // The writer ends last: when the server is gone and its output is out.
    let written = loop {
        tokio::select! {
            result = &mut reading, if read.is_none() => read = Some(result),
            () = &mut server, if !served => served = true,
            result = &mut writing => break result,
        }
    };
    let context =
        |error: io::Error, what: &str| io::Error::new(error.kind(), format!("{what}: {error}"));
    match (read, written) {
        (Some(Err(error)), _) => Err(context(
            error,
            "could not read the editor's messages on stdin",
        )),
        // A broken pipe is the editor closing its end: it is gone, as at the end of stdin.
        (_, Err(error)) if error.kind() != io::ErrorKind::BrokenPipe => {
            Err(context(error, "could not write to the editor on stdout"))
        }
        _ => Ok(()),
    }
}

/// The server's input: the checked frames, as a byte stream.
pub struct Inbound {
    frames: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Inbound {
    fn new(frames: mpsc::Receiver<Bytes>) -> Inbound {
        Inbound {
            frames,
            current: Bytes::new(),
        }
    }
}

impl AsyncRead for Inbound {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while this.current.is_empty() {
            match this.frames.poll_recv(cx) {
                Poll::Ready(Some(bytes)) => this.current = bytes,
                // The reader is done: end of input for the server.
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = this.current.len().min(out.remaining());
        out.put_slice(&this.current[..n]);
        this.current.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// Reads the editor's frames, forwards the good ones and answers the others. Returns at the
/// end of stdin, when the server stops taking frames, or on a read error.
async fn read_editor<I: AsyncRead + Unpin>(
    mut input: I,
    frames: mpsc::Sender<Bytes>,
    errors: mpsc::Sender<Bytes>,
) -> io::Result<()> {
    let mut framer = Framer::default();
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    loop {
        match framer.decode(&mut buf) {
            Event::Frame(frame) => {
                let big = frame.body.len() > SHRINK_AFTER;
                match check::check(&frame.body) {
                    Ok(()) => {
                        let sent = match frame.raw {
                            Some(raw) => frames.send(raw).await,
                            None => {
                                let header =
                                    format!("Content-Length: {}\r\n\r\n", frame.body.len());
                                match frames.send(Bytes::from(header)).await {
                                    Ok(()) => frames.send(frame.body).await,
                                    Err(closed) => Err(closed),
                                }
                            }
                        };
                        if sent.is_err() {
                            return Ok(()); // the server has ended (after `exit`)
                        }
                    }
                    Err(rejection) => reject(&errors, rejection).await,
                }
                if big {
                    // Do not hold on to the big frame's memory for the small ones after it.
                    buf = BytesMut::from(&buf[..]);
                }
            }
            Event::Bad(why) => reject(&errors, Rejection::parse_error(why)).await,
            Event::Need(wanted) => {
                let wanted = wanted.max(READ_CHUNK / 4);
                if buf.capacity() - buf.len() < wanted {
                    buf.reserve(wanted.max(READ_CHUNK));
                }
                match input.read_buf(&mut buf).await {
                    Ok(0) => {
                        if framer.mid_frame(&buf) {
                            tracing::debug!("stdin ended inside a message");
                        }
                        return Ok(());
                    }
                    Ok(_) => {}
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(error) => return Err(error),
                }
            }
        }
    }
}

/// Logs a bad frame (without its content) and queues its error answer.
async fn reject(errors: &mpsc::Sender<Bytes>, rejection: Rejection) {
    let label = if rejection.code == PARSE_ERROR {
        "Parse error"
    } else {
        "Invalid Request"
    };
    tracing::warn!(
        "dropped a malformed message from the editor ({label}): {}",
        rejection.why
    );
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": serde_json::to_value(&rejection.id).unwrap_or_default(),
        "error": {"code": rejection.code, "message": format!("{label}: {}", rejection.why)},
    })
    .to_string();
    let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
    // Closed only once the server and its output are gone: nobody to tell then.
    let _ = errors.send(Bytes::from(frame)).await;
}

/// Copies the server's output to stdout a whole frame at a time, with the error answers
/// in between. Ends once the server's output ends.
async fn write_editor<R, O>(
    mut from_server: R,
    mut errors: mpsc::Receiver<Bytes>,
    mut output: O,
) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
{
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut errors_open = true;
    let mut framing = true;
    loop {
        let wanted = match server_frame_len(&buf) {
            Some(len) => len.saturating_sub(buf.len()).max(READ_CHUNK / 4),
            None => READ_CHUNK / 4,
        };
        if buf.capacity() - buf.len() < wanted {
            buf.reserve(wanted.max(READ_CHUNK));
        }
        tokio::select! {
            biased;
            read = from_server.read_buf(&mut buf) => {
                if read? == 0 {
                    while let Ok(error) = errors.try_recv() {
                        output.write_all(&error).await?;
                    }
                    output.write_all(&buf).await?;
                    return output.flush().await;
                }
                // All the whole frames at once: one write for a burst of answers.
                let whole = whole_frames(&buf, &mut framing);
                if whole > 0 {
                    output.write_all(&buf.split_to(whole)).await?;
                    output.flush().await?;
                }
            }
            error = errors.recv(), if errors_open => match error {
                Some(error) => {
                    output.write_all(&error).await?;
                    output.flush().await?;
                }
                None => errors_open = false,
            },
        }
    }
}

/// How many bytes at the front of `buf` are whole frames. Should the server's output ever
/// not be frames, it is passed on as it comes (`framing` turns off).
fn whole_frames(buf: &[u8], framing: &mut bool) -> usize {
    let mut whole = 0;
    while *framing && whole < buf.len() {
        let rest = &buf[whole..];
        match server_frame_len(rest) {
            Some(len) if rest.len() >= len => whole += len,
            Some(_) => return whole,
            None if rest.len() < 64 => return whole,
            None => {
                tracing::error!("the server wrote something that is not an LSP frame");
                *framing = false;
            }
        }
    }
    if *framing { whole } else { buf.len() }
}

/// The length of the frame at the front of `buf`, once its header is there. The server
/// always writes `Content-Length: N\r\n\r\n` (read here without a search: this runs for
/// every message).
fn server_frame_len(buf: &[u8]) -> Option<usize> {
    const PREFIX: &[u8] = b"Content-Length: ";
    let rest = buf.strip_prefix(PREFIX)?;
    let digits = rest
        .iter()
        .take(20)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || rest.get(digits..digits + 4)? != b"\r\n\r\n" {
        return None;
    }
    let len: usize = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    Some(PREFIX.len() + digits + 4 + len)
}

#[cfg(test)]
mod tests;
