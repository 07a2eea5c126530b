//! Splitting the editor's byte stream into LSP frames, and finding the next frame after junk.
//!
//! A frame is header lines (`Name: value\r\n`), an empty line, then `Content-Length` bytes of
//! body. Anything that does not fit is reported once and skipped up to the next
//! `Content-Length:` (in any case), so one bad frame never costs the ones after it.

use bytes::{Buf, Bytes, BytesMut};

/// Headers longer than this are junk: real ones are one or two short lines.
pub const HEADER_CAP: usize = 8 * 1024;
/// Bodies over this are skipped without being kept. A 20 MB document is a real message; a
/// quarter of a gigabyte of JSON is not.
pub const BODY_CAP: u64 = 256 * 1024 * 1024;

const MARKER: &[u8] = b"content-length:";
/// What tower-lsp-server accepts as is; any other header block is rewritten to this.
const CANONICAL: &[u8] = b"Content-Length: ";

/// One complete frame.
#[derive(Debug)]
pub struct Frame {
    /// The whole frame as it arrived, when its header is already the canonical one (the
    /// usual case: it is forwarded without a copy).
    pub raw: Option<Bytes>,
    pub body: Bytes,
}

/// What the framer found in the buffer.
#[derive(Debug)]
pub enum Event {
    Frame(Frame),
    /// A frame that cannot be read; the reason holds no byte of the input.
    Bad(String),
    /// More input is needed; at least this many bytes would be useful.
    Need(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A header block should start at the front of the buffer.
    Header,
    /// After a bad frame: dropping bytes until the next `Content-Length:`.
    Junk,
    /// The header is read; waiting for the body.
    Body {
        header_len: usize,
        len: usize,
        canonical: bool,
    },
    /// Dropping a body over the cap as it streams in.
    Skip { left: u64 },
}

/// The frame reader's state between reads.
#[derive(Debug)]
pub struct Framer {
    state: State,
}

impl Default for Framer {
    fn default() -> Self {
        Framer {
            state: State::Header,
        }
    }
}

impl Framer {
    /// Takes what it can from the front of `buf`: a frame, a report of a bad one, or a
    /// request for more input. Call again until it asks for more.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Event {
        loop {
            match self.state {
                State::Header => match parse_header(buf) {
                    Header::Partial => return Event::Need(1),
                    Header::Bad { why, skip } => {
                        // Step past what was read, at least this header's own marker, so the
                        // search finds the next one.
                        buf.advance(skip);
                        self.state = State::Junk;
                        return Event::Bad(why);
                    }
                    Header::Done {
                        len, header_len, ..
                    } if len > BODY_CAP => {
                        buf.advance(header_len);
                        self.state = State::Skip { left: len };
                        return Event::Bad(format!(
                            "a message of {len} bytes is over the {} MiB limit; it is skipped",
                            BODY_CAP >> 20
                        ));
                    }
                    Header::Done {
                        len,
                        header_len,
                        canonical,
                    } => {
                        self.state = State::Body {
                            header_len,
                            len: len as usize,
                            canonical,
                        };
                    }
                },
                State::Junk => match find_marker(buf) {
                    Some(at) => {
                        buf.advance(at);
                        self.state = State::Header;
                    }
                    None => {
                        // Keep a tail that may be the start of a marker cut by the read.
                        buf.advance(buf.len().saturating_sub(MARKER.len() - 1));
                        return Event::Need(1);
                    }
                },
                State::Body {
                    header_len,
                    len,
                    canonical,
                } => {
                    let total = header_len + len;
                    if buf.len() < total {
                        return Event::Need(total - buf.len());
                    }
                    self.state = State::Header;
                    let frame = if canonical {
                        let raw = buf.split_to(total).freeze();
                        let body = raw.slice(header_len..);
                        Frame {
                            raw: Some(raw),
                            body,
                        }
                    } else {
                        buf.advance(header_len);
                        Frame {
                            raw: None,
                            body: buf.split_to(len).freeze(),
                        }
                    };
                    return Event::Frame(frame);
                }
                State::Skip { left } => {
                    let n = left.min(buf.len() as u64);
                    buf.advance(n as usize);
                    if n < left {
                        self.state = State::Skip { left: left - n };
                        return Event::Need(1);
                    }
                    self.state = State::Header;
                }
            }
        }
    }

    /// Whether a frame was cut off by the end of input (nothing but junk counts as none).
    pub fn mid_frame(&self, buf: &BytesMut) -> bool {
        match self.state {
            State::Header => !buf.is_empty(),
            State::Body { .. } | State::Skip { .. } => true,
            State::Junk => false,
        }
    }
}

enum Header {
    Partial,
    /// `skip` is how much of the buffer is surely not the start of a frame.
    Bad {
        why: String,
        skip: usize,
    },
    Done {
        len: u64,
        header_len: usize,
        canonical: bool,
    },
}

/// Reads the header block at the front of `buf`, deciding as early as the bytes allow.
fn parse_header(buf: &[u8]) -> Header {
    let window = &buf[..buf.len().min(HEADER_CAP)];
    let mut len: Option<u64> = None;
    let mut lines = 0;
    let mut pos = 0;
    loop {
        let rest = &window[pos..];
        let Some(nl) = memchr::memchr(b'\n', rest) else {
            // An unfinished line: junk shows before its end (no name, or a bad name).
            if let Some(why) = bad_partial_line(rest, lines) {
                return Header::Bad { why, skip: 1 };
            }
            if buf.len() >= HEADER_CAP {
                let why = format!("the header is longer than {} KiB", HEADER_CAP >> 10);
                return Header::Bad { why, skip: 1 };
            }
            return Header::Partial;
        };
        let line = rest[..nl].strip_suffix(b"\r").unwrap_or(&rest[..nl]);
        pos += nl + 1;
        // A bad line is skipped whole; junk before a marker may hide it inside a line, though.
        let bad = |why: String| Header::Bad { why, skip: pos };
        if line.is_empty() {
            if lines == 0 {
                return bad("an empty line instead of a header".to_owned());
            }
            let Some(len) = len else {
                let why = "the header has no Content-Length".to_owned();
                return Header::Bad { why, skip: 1 };
            };
            // Exactly `Content-Length: <digits>\r\n\r\n`: tower-lsp-server takes it as it is.
            let canonical = lines == 1
                && buf.starts_with(CANONICAL)
                && buf[..pos].ends_with(b"\r\n\r\n")
                && buf[CANONICAL.len()..pos - 4].iter().all(u8::is_ascii_digit);
            return Header::Done {
                len,
                header_len: pos,
                canonical,
            };
        }
        lines += 1;
        let Some(colon) = memchr::memchr(b':', line) else {
            return Header::Bad {
                why: no_header(lines),
                skip: 1,
            };
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if !is_token(name) {
            return Header::Bad {
                why: no_header(lines),
                skip: 1,
            };
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let value = value.trim_ascii();
            let parsed =
                (!value.is_empty() && value.len() <= 19 && value.iter().all(u8::is_ascii_digit))
                    .then(|| std::str::from_utf8(value).ok()?.parse::<u64>().ok())
                    .flatten();
            match (parsed, len) {
                (None, _) => return bad("Content-Length is not a number of bytes".to_owned()),
                (Some(a), Some(b)) if a != b => {
                    return bad("two different Content-Length headers".to_owned());
                }
                (Some(a), _) => len = Some(a),
            }
        }
        // Other headers (Content-Type and any charset in it among them) are ignored: the body
        // is checked as UTF-8 JSON whatever they say.
    }
}

fn no_header(line: usize) -> String {
    if line == 1 {
        "bytes that are not an LSP header".to_owned()
    } else {
        format!("header line {line} is not `Name: value`")
    }
}

/// Why an unfinished header line is already known to be junk, if it is.
fn bad_partial_line(line: &[u8], lines_before: usize) -> Option<String> {
    let name = match memchr::memchr(b':', line) {
        Some(colon) => &line[..colon],
        None => line.strip_suffix(b"\r").unwrap_or(line),
    };
    (!name.iter().all(|&b| is_tchar(b))).then(|| no_header(lines_before + 1))
}

fn is_token(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| is_tchar(b))
}

/// RFC 9110 token characters (header names).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The position of the next `Content-Length:` in any case.
fn find_marker(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr2(b'c', b'C', &buf[from..]) {
        let at = from + i;
        let candidate = buf.get(at..at + MARKER.len())?;
        if candidate.eq_ignore_ascii_case(MARKER) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    /// Everything the framer makes of `input` fed in one piece, then at its end.
    fn decode_all(input: &[u8]) -> Vec<Result<String, String>> {
        decode_chunked(input, input.len().max(1))
    }

    fn decode_chunked(input: &[u8], chunk: usize) -> Vec<Result<String, String>> {
        let mut framer = Framer::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            buf.extend_from_slice(piece);
            loop {
                match framer.decode(&mut buf) {
                    Event::Frame(f) => out.push(Ok(String::from_utf8_lossy(&f.body).into_owned())),
                    Event::Bad(why) => out.push(Err(why)),
                    Event::Need(_) => break,
                }
            }
        }
        out
    }

    #[test]
    fn frames_in_one_read_and_byte_by_byte() {
        let input = format!("{}{}", frame(r#"{"a":1}"#), frame(r#"{"b":2}"#));
        let expected = vec![Ok(r#"{"a":1}"#.to_owned()), Ok(r#"{"b":2}"#.to_owned())];
        assert_eq!(decode_all(input.as_bytes()), expected);
        assert_eq!(decode_chunked(input.as_bytes(), 1), expected);
    }

    #[test]
    fn canonical_frames_are_kept_whole() {
        let input = frame("{}");
        let mut buf = BytesMut::from(input.as_bytes());
        let Event::Frame(f) = Framer::default().decode(&mut buf) else {
            panic!("expected a frame")
        };
        assert_eq!(f.raw.as_deref(), Some(input.as_bytes()));
        let mut buf = BytesMut::from(&b"content-length: 2\r\n\r\n{}"[..]);
        let Event::Frame(f) = Framer::default().decode(&mut buf) else {
            panic!("expected a frame")
        };
        assert!(f.raw.is_none(), "lower-case header must be rewritten");
        assert_eq!(&f.body[..], b"{}");
    }

    #[test]
    fn resyncs_after_junk() {
        for junk in [
            "garbage without any header ",
            "xyzzy",
            "\u{1}\u{2}binary",
            "\r\n\r\n",
            "{\"jsonrpc\":\"2.0\"}",
        ] {
            let input = format!("{junk}{}", frame("{}"));
            let out = decode_all(input.as_bytes());
            assert_eq!(out.len(), 2, "{junk:?}: {out:?}");
            assert!(out[0].is_err(), "{junk:?}: {out:?}");
            assert_eq!(out[1], Ok("{}".to_owned()), "{junk:?}");
            // Cut at every byte, junk and frame still come apart the same way.
            assert_eq!(decode_chunked(input.as_bytes(), 1), out, "{junk:?}");
        }
    }

    #[test]
    fn junk_is_reported_once() {
        let junk = "no header here, just words. ".repeat(2000);
        let input = format!("{junk}{}", frame("{}"));
        let out = decode_chunked(input.as_bytes(), 4096);
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[1], Ok("{}".to_owned()));
    }

    #[test]
    fn bad_content_length() {
        for (header, reason) in [
            ("Content-Length: abc", "not a number"),
            ("Content-Length: -1", "not a number"),
            ("Content-Length: ", "not a number"),
            ("Content-Length: 99999999999999999999999", "not a number"),
            ("Content-Length: 2\r\nContent-Length: 3", "two different"),
            (
                "Content-Type: application/vscode-jsonrpc",
                "no Content-Length",
            ),
        ] {
            let input = format!("{header}\r\n\r\n{{}}{}", frame("[1]"));
            let out = decode_all(input.as_bytes());
            assert_eq!(out.len(), 2, "{header:?}: {out:?}");
            assert!(
                out[0].as_ref().is_err_and(|e| e.contains(reason)),
                "{header:?}: {out:?}"
            );
            assert_eq!(out[1], Ok("[1]".to_owned()), "{header:?}");
        }
    }

    #[test]
    fn other_headers_are_ignored() {
        for header in [
            "Content-Length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=latin1",
            "Content-Type: text/x; charset=utf-8\r\nContent-Length: 2\r\nX-Third: 3",
            "CONTENT-LENGTH:2",
            "Content-Length: 2\nX-Bare-Newlines: yes",
        ] {
            let input = format!("{header}\r\n\r\n{{}}");
            assert_eq!(
                decode_all(input.as_bytes()),
                vec![Ok("{}".to_owned())],
                "{header:?}"
            );
        }
    }

    #[test]
    fn header_cap() {
        // A header line that never ends: reported once it passes the cap, then skipped.
        let endless = format!(
            "Content-Length: 5\r\nX-Long: {}",
            "a".repeat(3 * HEADER_CAP)
        );
        let input = format!("{endless}{}", frame("{}"));
        for chunk in [1000, input.len()] {
            let out = decode_chunked(input.as_bytes(), chunk);
            assert_eq!(out.len(), 2, "{out:?}");
            assert!(
                out[0]
                    .as_ref()
                    .is_err_and(|e| e.contains("longer than 8 KiB"))
            );
            assert_eq!(out[1], Ok("{}".to_owned()));
        }
        // Short of the cap, the framer waits for the rest.
        let mut buf = BytesMut::from(&b"Content-Length: 5\r\nX-Long: aaaa"[..]);
        assert!(matches!(Framer::default().decode(&mut buf), Event::Need(_)));
    }

    #[test]
    fn oversized_body_is_skipped_as_it_streams() {
        let mut framer = Framer::default();
        let mut buf = BytesMut::from(&b"Content-Length: 1000000000000\r\n\r\n"[..]);
        assert!(matches!(framer.decode(&mut buf), Event::Bad(why) if why.contains("limit")));
        for _ in 0..16 {
            buf.extend_from_slice(&[b'x'; 65536]);
            assert!(matches!(framer.decode(&mut buf), Event::Need(_)));
            assert!(buf.is_empty(), "skipped bytes must not be kept");
        }
        // Just over the cap: once its bytes are skipped, the next frame is read.
        let mut framer = Framer::default();
        let mut buf =
            BytesMut::from(format!("Content-Length: {}\r\n\r\n", BODY_CAP + 3).as_bytes());
        assert!(matches!(framer.decode(&mut buf), Event::Bad(_)));
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..(BODY_CAP >> 20) {
            buf.extend_from_slice(&chunk);
            assert!(matches!(framer.decode(&mut buf), Event::Need(_)));
        }
        buf.extend_from_slice(format!("xyz{}", frame("{}")).as_bytes());
        assert!(matches!(framer.decode(&mut buf), Event::Frame(f) if &f.body[..] == b"{}"));
    }

    #[test]
    fn a_big_body_asks_for_all_of_itself() {
        let mut buf = BytesMut::from(&b"Content-Length: 20000000\r\n\r\n{"[..]);
        assert!(
            matches!(Framer::default().decode(&mut buf), Event::Need(n) if n == 20_000_000 - 1)
        );
    }

    #[test]
    fn finds_the_marker_in_any_case() {
        assert_eq!(find_marker(b"xx cOnTeNt-LeNgTh: 1"), Some(3));
        assert_eq!(find_marker(b"content-lengt"), None);
        assert_eq!(find_marker(b"ccccontent-length:"), Some(3));
    }
}
