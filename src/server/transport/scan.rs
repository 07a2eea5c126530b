//! The byte scan before the parse: what `serde_json` checks when it builds a value but not
//! when it skips one (and the check skips every value it does not need).

/// Deeper JSON is refused before it is parsed: `serde_json` stops at 128 levels when it
/// builds values but has no limit when it skips them, and no LSP message comes near this.
pub const MAX_DEPTH: usize = 64;

/// Checks what `serde_json` lets through when it skips a value but refuses when it builds one.
/// Brackets, escapes and digits inside strings are told apart from those outside. Syntax
/// errors are left to the parser.
pub fn scan(body: &[u8]) -> Result<(), &'static str> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'"' => i = string_end(body, i + 1)?,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err("the JSON is nested deeper than 64 levels");
                }
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let len = body[i..]
                    .iter()
                    .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .unwrap_or(body.len() - i);
                if !number_in_range(&body[i..i + len]) {
                    return Err("a number is out of range");
                }
                i += len;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Where the string whose content starts at `i` ends (just past its quote); refuses a `\u`
/// escape that is half of a surrogate pair, as `serde_json` does for a `str`.
fn string_end(body: &[u8], mut i: usize) -> Result<usize, &'static str> {
    const LONE: &str = "a \\u escape is half a surrogate pair";
    loop {
        let Some(at) = memchr::memchr2(b'"', b'\\', body.get(i..).unwrap_or_default()) else {
            return Ok(body.len()); // unterminated: the parser says so
        };
        i += at;
        if body[i] == b'"' {
            return Ok(i + 1);
        }
        if body.get(i + 1) != Some(&b'u') {
            i += 2;
            continue;
        }
        match hex4(body, i + 2) {
            Some(0xDC00..=0xDFFF) => return Err(LONE),
            Some(0xD800..=0xDBFF) => {
                let pair = body.get(i + 6..i + 8) == Some(b"\\u");
                if !pair || !matches!(hex4(body, i + 8), Some(0xDC00..=0xDFFF)) {
                    return Err(LONE);
                }
                i += 12;
            }
            Some(_) => i += 6,
            None => i += 2, // bad hex: the parser says so
        }
    }
}

fn hex4(body: &[u8], at: usize) -> Option<u16> {
    let digits = std::str::from_utf8(body.get(at..at + 4)?).ok()?;
    digits
        .bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| u16::from_str_radix(digits, 16).ok())
        .flatten()
}

/// Whether `serde_json` can make an f64 of a number: with a margin, as it rounds a little
/// differently from the standard library near the largest f64.
fn number_in_range(number: &[u8]) -> bool {
    if number.len() < 300 && !number.iter().any(|b| matches!(b, b'e' | b'E')) {
        return true;
    }
    match std::str::from_utf8(number)
        .ok()
        .and_then(|n| n.parse::<f64>().ok())
    {
        Some(value) => value.abs() < 1e308,
        None => true, // not a number: the parser says so
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_tells_strings_apart() {
        let quoted = format!(r#"{{"a":"{}\"{}"}}"#, "[".repeat(100), "{".repeat(100));
        assert!(scan(quoted.as_bytes()).is_ok());
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(scan(deep(MAX_DEPTH).as_bytes()).is_ok());
        assert!(scan(deep(MAX_DEPTH + 1).as_bytes()).is_err());
        assert!(scan(br#"["\\", "\"[", 1e300, -5, "1e400"]"#).is_ok());
        assert!(scan(br#"["\ud83d\ude00", "\u00e9", "\uD83D\uDE00"]"#).is_ok());
        for bad in [
            &br#"["\ude00"]"#[..],
            br#"["\ud83d"]"#,
            br#"["\ud83d\u0041"]"#,
            br#"["\ud83d\n"]"#,
            br#"{"\udc00":1}"#,
            br#"[1e400]"#,
            br#"[-2E308]"#,
        ] {
            assert!(scan(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(scan(format!("[{}]", "9".repeat(400)).as_bytes()).is_err());
        assert!(scan(format!("[{}, 0e99999, 1e-400]", "9".repeat(290)).as_bytes()).is_ok());
    }
}
