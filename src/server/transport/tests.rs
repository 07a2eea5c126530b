//! The transport end to end, with a stand-in server that echoes every frame it gets.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, DuplexStream, ReadBuf};

use super::*;

fn frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

fn request(id: i64) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "x/echo", "params": {}}).to_string()
}

/// Echoes its input back, `chunk` bytes per write with a yield in between.
async fn echo(mut input: Inbound, mut output: DuplexStream, chunk: usize) {
    let mut all = Vec::new();
    let mut buf = vec![0; 4096];
    loop {
        let n = input.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        all.extend_from_slice(&buf[..n]);
        for piece in all.chunks(chunk) {
            if output.write_all(piece).await.is_err() {
                return;
            }
            tokio::task::yield_now().await;
        }
        all.clear();
    }
}

/// Splits the editor's side of stdout into messages; panics on anything that is not a frame.
fn messages(mut out: &[u8]) -> Vec<Value> {
    let mut found = Vec::new();
    while !out.is_empty() {
        let end = memchr::memmem::find(out, b"\r\n\r\n").expect("a header");
        let len: usize = std::str::from_utf8(&out[..end])
            .unwrap()
            .strip_prefix("Content-Length: ")
            .expect("a Content-Length header")
            .parse()
            .unwrap();
        let body = &out[end + 4..end + 4 + len];
        found.push(serde_json::from_slice(body).expect("a JSON body"));
        out = &out[end + 4 + len..];
    }
    found
}

async fn run(input: Vec<u8>, chunk: usize) -> (io::Result<()>, Vec<Value>) {
    let (mut editor_in, server_in) = tokio::io::duplex(1 << 16);
    let (server_out, mut editor_out) = tokio::io::duplex(1 << 16);
    let feeding = tokio::spawn(async move {
        let _ = editor_in.write_all(&input).await;
    });
    let reading = tokio::spawn(async move {
        let mut all = Vec::new();
        let _ = editor_out.read_to_end(&mut all).await;
        all
    });
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        guard(server_in, server_out, |i, o| echo(i, o, chunk)),
    )
    .await
    .expect("the transport ends");
    feeding.await.unwrap();
    (result, messages(&reading.await.unwrap()))
}

fn ids(found: &[Value]) -> Vec<Value> {
    found
        .iter()
        .filter(|m| m["method"] == "x/echo")
        .map(|m| m["id"].clone())
        .collect()
}

fn errors(found: &[Value]) -> Vec<i64> {
    found
        .iter()
        .filter_map(|m| m["error"]["code"].as_i64())
        .collect()
}

#[tokio::test]
async fn bad_frames_are_answered_and_good_ones_pass() {
    let mut input = frame(&request(1));
    input.extend(frame("{not json"));
    input.extend(b"junk without a header ");
    input.extend(frame(&request(2)));
    input.extend(b"Content-Length: abc\r\n\r\n{}");
    input.extend(frame(r#"{"foo":1}"#));
    input.extend(frame(r#"{"jsonrpc":"1.0","id":9,"method":"x"}"#));
    input.extend(b"Content-Length: 2\r\n\xff\xfe\r\n\r\n[]");
    input.extend(frame(&request(3)));
    input.extend(b"content-length: 60\r\nContent-Type: application/json; charset=latin1\r\n\r\n");
    input.extend(format!("{:<60}", request(4)).as_bytes());
    let (result, found) = run(input, 7).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(ids(&found), vec![json!(1), json!(2), json!(3), json!(4)]);
    assert_eq!(
        errors(&found),
        vec![-32700, -32700, -32700, -32600, -32600, -32700]
    );
    let invalid = found.iter().find(|m| m["id"] == 9).expect("answer by id");
    assert_eq!(invalid["error"]["code"], -32600);
}

#[tokio::test]
async fn a_20_mb_message_passes() {
    let text = "x".repeat(20 << 20);
    let big = json!({"jsonrpc": "2.0", "id": 1, "method": "x/echo", "params": {"text": text}});
    let mut input = frame(&big.to_string());
    input.extend(frame(&request(2)));
    let (result, found) = run(input, 1 << 20).await;
    assert!(result.is_ok());
    assert_eq!(ids(&found), vec![json!(1), json!(2)]);
    assert_eq!(
        found[0]["params"]["text"].as_str().map(str::len),
        Some(20 << 20)
    );
}

#[tokio::test]
async fn error_answers_never_split_a_server_frame() {
    // The stand-in writes one byte at a time, while bad frames keep arriving.
    let mut input = Vec::new();
    for id in 0..20 {
        input.extend(frame(&request(id)));
        input.extend(frame("[1,"));
    }
    let (result, found) = run(input, 1).await;
    assert!(result.is_ok());
    assert_eq!(ids(&found).len(), 20);
    assert_eq!(errors(&found).len(), 20);
}

/// Hands out some bytes, then fails.
struct Failing(Option<Vec<u8>>);

impl AsyncRead for Failing {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.0.take() {
            Some(bytes) => {
                out.put_slice(&bytes);
                Poll::Ready(Ok(()))
            }
            None => Poll::Ready(Err(io::Error::other("device gone"))),
        }
    }
}

#[tokio::test]
async fn a_read_error_is_reported() {
    let (server_out, mut editor_out) = tokio::io::duplex(1 << 16);
    let reading = tokio::spawn(async move {
        let mut all = Vec::new();
        let _ = editor_out.read_to_end(&mut all).await;
        all
    });
    let result = guard(Failing(Some(frame(&request(1)))), server_out, |i, o| {
        echo(i, o, 64)
    })
    .await;
    let error = result.expect_err("a read error ends the transport with an error");
    assert!(error.to_string().contains("device gone"), "{error}");
    // What the server had already answered still reached the editor.
    assert_eq!(ids(&messages(&reading.await.unwrap())), vec![json!(1)]);
}

#[tokio::test]
async fn the_server_ending_ends_the_transport_with_stdin_still_open() {
    let (mut editor_in, server_in) = tokio::io::duplex(1 << 16);
    let (server_out, _editor_out) = tokio::io::duplex(1 << 16);
    editor_in.write_all(&frame(&request(1))).await.unwrap();
    let quits = |mut input: Inbound, _: DuplexStream| async move {
        let _ = input.read(&mut [0; 16]).await;
    };
    let result = tokio::time::timeout(Duration::from_secs(5), guard(server_in, server_out, quits))
        .await
        .expect("does not wait for stdin to close");
    assert!(result.is_ok());
    drop(editor_in);
}

#[test]
fn server_frames_are_measured_without_a_search() {
    assert_eq!(server_frame_len(b"Content-Length: 2\r\n\r\n{}"), Some(23));
    assert_eq!(server_frame_len(b"Content-Length: 2\r\n\r\n"), Some(23));
    assert_eq!(server_frame_len(b"Content-Length: 12"), None);
    assert_eq!(server_frame_len(b"Content-Length: 2\r\n"), None);
    assert_eq!(server_frame_len(b"Content-Type: x\r\n\r\n"), None);
    let mut framing = true;
    let two = b"Content-Length: 2\r\n\r\n{}Content-Length: 2\r\n\r\n[]Content-Length: 5\r\n\r\n[";
    assert_eq!(whole_frames(two, &mut framing), 46);
    assert!(framing);
    let junk = [b'x'; 80];
    assert_eq!(whole_frames(&junk, &mut framing), 80);
    assert!(!framing, "output that is not frames is passed on as it is");
}
