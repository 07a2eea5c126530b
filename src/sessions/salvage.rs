//! Reads what it can from the start of a JSON document that was cut off (an answer larger than
//! the size cap): open strings, arrays and objects are closed where the text ends, so the
//! output that did arrive can still be shown, with a note that the rest was cut.

use serde_json::{Map, Value};

/// Parses a possibly truncated JSON prefix. Returns `None` when not even the start is JSON.
pub fn parse_prefix(bytes: &[u8]) -> Option<Value> {
    let mut parser = Parser {
        bytes,
        pos: 0,
        depth: 0,
    };
    parser.skip_ws();
    parser.value()
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

/// Deeper nesting than this is not output anyone reads; stop rather than recurse further.
const MAX_DEPTH: usize = 128;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> Option<Value> {
        if self.depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string().map(Value::String),
            _ => self.scalar(),
        }
    }

    fn object(&mut self) -> Option<Value> {
        self.pos += 1;
        self.depth += 1;
        let mut map = Map::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => break,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                Some(b'"') => {}
                Some(_) => return None,
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                break; // cut after a key
            }
            self.pos += 1;
            self.skip_ws();
            match self.value() {
                Some(value) => {
                    map.insert(key, value);
                }
                None => break,
            }
        }
        self.depth -= 1;
        Some(Value::Object(map))
    }

    fn array(&mut self) -> Option<Value> {
        self.pos += 1;
        self.depth += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => break,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                Some(_) => match self.value() {
                    Some(value) => items.push(value),
                    None => break,
                },
            }
        }
        self.depth -= 1;
        Some(Value::Array(items))
    }

    /// A string, closed where the text ends if it was cut.
    fn string(&mut self) -> Option<String> {
        self.pos += 1;
        let mut out = Vec::new();
        while let Some(byte) = self.peek() {
            self.pos += 1;
            match byte {
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    let Some(escaped) = self.peek() else { break };
                    self.pos += 1;
                    match escaped {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            // Cut inside the escape: the string ends here.
                            let Some(hex) = self.bytes.get(self.pos..self.pos + 4) else {
                                self.pos = self.bytes.len();
                                break;
                            };
                            self.pos += 4;
                            let code = std::str::from_utf8(hex)
                                .ok()
                                .and_then(|h| u32::from_str_radix(h, 16).ok());
                            let ch = code.and_then(char::from_u32).unwrap_or('\u{fffd}');
                            out.extend_from_slice(ch.to_string().as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
        // Cut inside the string: keep what arrived (a split UTF-8 sequence becomes U+FFFD).
        Some(String::from_utf8_lossy(&out).into_owned())
    }

    fn scalar(&mut self) -> Option<Value> {
        let start = self.pos;
        while matches!(self.peek(), Some(b) if !matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
        {
            self.pos += 1;
        }
        serde_json::from_slice(&self.bytes[start..self.pos]).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn complete_documents_parse_as_usual() {
        let text = r#"{"a": [1, 2.5, true, null, "x\n\u00e9"], "b": {"c": "d"}}"#;
        assert_eq!(
            parse_prefix(text.as_bytes()),
            Some(serde_json::from_str(text).unwrap())
        );
    }

    #[test]
    fn cut_strings_and_containers_are_closed() {
        let cut = br#"{"status":"Succeeded","result":{"stdout":"line 1\nline 2\nli"#;
        assert_eq!(
            parse_prefix(cut),
            Some(json!({"status": "Succeeded", "result": {"stdout": "line 1\nline 2\nli"}}))
        );
        assert_eq!(parse_prefix(br#"{"a":"#), Some(json!({})));
        assert_eq!(parse_prefix(br#"[1,2,"#), Some(json!([1, 2])));
        assert_eq!(parse_prefix(b"<html>"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_and_any_prefix_are_safe(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), cut in 0usize..400) {
            let _ = parse_prefix(&bytes);
            let text = json!({"status": "Succeeded", "result": {"stdout": String::from_utf8_lossy(&bytes), "n": [1, 2, {"x": null}]}}).to_string();
            let cut = cut.min(text.len());
            let value = parse_prefix(&text.as_bytes()[..cut]);
            proptest::prop_assert!(cut == 0 || value.is_some());
        }
    }

    #[test]
    fn deep_nesting_stops_instead_of_overflowing() {
        let deep = "[".repeat(100_000);
        assert!(parse_prefix(deep.as_bytes()).is_some());
    }
}
