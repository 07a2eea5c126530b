//! Bounded capture of one output stream (stdout or stderr) of an interpreter during one execution.
//!
//! The worker ends each execution by writing a random end marker to the stream; everything before
//! it belongs to the execution. Only the first `cap` bytes are kept, so endless output cannot
//! exhaust memory, but the whole stream is still scanned for the marker.

/// Label lines around output that background work of earlier executions wrote after their end
/// marker, put before the next execution's own output so that no one takes it for that output.
pub const EARLIER_OUTPUT_BEGIN: &str = "[local pool] output of earlier background work:";
pub const EARLIER_OUTPUT_END: &str = "[local pool] end of the output of earlier background work";

/// Collects one stream until the execution's end marker shows up (or the stream ends).
pub struct Capture {
    marker: Vec<u8>,
    cap: usize,
    kept: Vec<u8>,
    dropped: u64,
    /// Bytes held back because they could be the start of the marker.
    window: Vec<u8>,
    finished: bool,
    /// Bytes after the marker: output of background work, shown (labelled) with the next execution.
    leftover: Vec<u8>,
}

impl Capture {
    pub fn new(marker: &[u8], cap: usize) -> Self {
        Self {
            marker: marker.to_vec(),
            cap,
            kept: Vec::new(),
            dropped: 0,
            window: Vec::new(),
            finished: false,
            leftover: Vec::new(),
        }
    }

    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Feeds bytes read from the stream.
    pub fn feed(&mut self, data: &[u8]) {
        if self.finished {
            push_bounded(&mut self.leftover, data, self.cap);
            return;
        }
        let mut buf = std::mem::take(&mut self.window);
        buf.extend_from_slice(data);
        if let Some(pos) = find(&buf, &self.marker) {
            self.keep(&buf[..pos]);
            push_bounded(
                &mut self.leftover,
                &buf[pos + self.marker.len()..],
                self.cap,
            );
            self.finished = true;
            return;
        }
        // Hold back the longest tail that is a prefix of the marker.
        let hold = longest_marker_prefix_suffix(&buf, &self.marker);
        let split = buf.len() - hold;
        self.keep(&buf[..split]);
        self.window = buf[split..].to_vec();
    }

    /// The stream ended (the process died): whatever was held back is output too.
    pub fn close(&mut self) {
        if !self.finished {
            let window = std::mem::take(&mut self.window);
            self.keep(&window);
            self.finished = true;
        }
    }

    /// The captured text, with a note when bytes were dropped, and the bytes after the marker.
    pub fn into_parts(self) -> (String, Vec<u8>) {
        let mut text = String::from_utf8_lossy(&self.kept).into_owned();
        if self.dropped > 0 {
            text.push_str(&format!(
                "\n[output truncated by the local pool: {} bytes dropped]",
                self.dropped
            ));
        }
        (text, self.leftover)
    }

    fn keep(&mut self, bytes: &[u8]) {
        let room = self.cap.saturating_sub(self.kept.len());
        let take = room.min(bytes.len());
        self.kept.extend_from_slice(&bytes[..take]);
        self.dropped += (bytes.len() - take) as u64;
    }
}

/// Output left over from earlier executions, between its label lines; nothing when there is none.
pub fn labelled_earlier_output(leftover: Vec<u8>) -> Vec<u8> {
    if leftover.is_empty() {
        return leftover;
    }
    let mut out = Vec::with_capacity(leftover.len() + 128);
    out.extend_from_slice(EARLIER_OUTPUT_BEGIN.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&leftover);
    if !leftover.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(EARLIER_OUTPUT_END.as_bytes());
    out.push(b'\n');
    out
}

fn push_bounded(buf: &mut Vec<u8>, data: &[u8], cap: usize) {
    let room = cap.saturating_sub(buf.len());
    buf.extend_from_slice(&data[..room.min(data.len())]);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let mut start = 0;
    while let Some(offset) = haystack[start..].iter().position(|&b| b == first) {
        let at = start + offset;
        if haystack[at..].starts_with(needle) {
            return Some(at);
        }
        start = at + 1;
    }
    None
}

fn longest_marker_prefix_suffix(buf: &[u8], marker: &[u8]) -> usize {
    let max = marker.len().saturating_sub(1).min(buf.len());
    (1..=max)
        .rev()
        .find(|&n| buf[buf.len() - n..] == marker[..n])
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &[u8] = b"\x1e<END>\x1e";

    #[test]
    fn splits_at_marker_across_chunks() {
        let mut c = Capture::new(M, 1024);
        c.feed(b"hello \x1e<EN");
        assert!(!c.finished());
        c.feed(b"D>\x1eafter");
        assert!(c.finished());
        let (text, rest) = c.into_parts();
        assert_eq!(text, "hello ");
        assert_eq!(rest, b"after");
    }

    #[test]
    fn partial_marker_that_is_not_one_is_output() {
        let mut c = Capture::new(M, 1024);
        c.feed(b"a\x1e<EN");
        c.feed(b"X");
        c.close();
        assert_eq!(c.into_parts().0, "a\x1e<ENX");
    }

    #[test]
    fn caps_and_reports_dropped_bytes() {
        let mut c = Capture::new(M, 4);
        c.feed(b"abcdefgh");
        c.feed(M);
        let (text, _) = c.into_parts();
        assert_eq!(
            text,
            "abcd\n[output truncated by the local pool: 4 bytes dropped]"
        );
    }
}
