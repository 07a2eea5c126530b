//! Open documents, kept in memory, and the line regions each change touched (so run
//! diagnostics on edited lines are dropped and those below move with the text).

use std::collections::HashMap;

use tower_lsp_server::ls_types::{Range, TextDocumentContentChangeEvent};

use crate::code::utf16_to_byte;

#[derive(Debug, Clone)]
pub struct Document {
    pub text: String,
    pub version: i32,
    pub language_id: String,
}

/// Lines `first..=last` of the old text were replaced by `new_count` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineEdit {
    pub first: u32,
    pub last: u32,
    pub new_count: u32,
}

impl LineEdit {
    pub fn delta(&self) -> i64 {
        self.new_count as i64 - (self.last as i64 - self.first as i64 + 1)
    }
}

#[derive(Debug, Default)]
pub struct Documents {
    docs: HashMap<String, Document>,
}

impl Documents {
    pub fn open(&mut self, uri: &str, text: String, version: i32, language_id: String) {
        self.docs.insert(
            uri.to_owned(),
            Document {
                text,
                version,
                language_id,
            },
        );
    }

    pub fn close(&mut self, uri: &str) {
        self.docs.remove(uri);
    }

    pub fn get(&self, uri: &str) -> Option<&Document> {
        self.docs.get(uri)
    }

    /// The URI of the only open document, if exactly one is open.
    pub fn single_uri(&self) -> Option<String> {
        let mut uris = self.docs.keys();
        match (uris.next(), uris.next()) {
            (Some(uri), None) => Some(uri.clone()),
            _ => None,
        }
    }

    /// Applies changes in order. A version older than the one held is ignored (out-of-order
    /// delivery), and so is a change for a document that is not open.
    pub fn change(
        &mut self,
        uri: &str,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
    ) -> Vec<LineEdit> {
        let Some(doc) = self.docs.get_mut(uri) else {
            return Vec::new();
        };
        if version < doc.version {
            tracing::debug!(
                uri,
                version,
                held = doc.version,
                "ignoring an out-of-order change"
            );
            return Vec::new();
        }
        let mut edits = Vec::new();
        for change in changes {
            match change.range {
                Some(range) => edits.push(apply_range(&mut doc.text, range, &change.text)),
                None => {
                    edits.push(diff_lines(&doc.text, &change.text));
                    doc.text = change.text;
                }
            }
        }
        doc.version = version;
        edits
    }
}

/// Byte offset of an LSP position, clamped to the text.
pub fn offset_of(text: &str, line: u32, character: u32) -> usize {
    let mut start = 0usize;
    for _ in 0..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let end = text[start..]
        .find('\n')
        .map(|i| start + i)
        .unwrap_or(text.len());
    start + utf16_to_byte(&text[start..end], character)
}

fn apply_range(text: &mut String, range: Range, new_text: &str) -> LineEdit {
    let (start, end) =
        if (range.start.line, range.start.character) <= (range.end.line, range.end.character) {
            (range.start, range.end)
        } else {
            (range.end, range.start)
        };
    let from = offset_of(text, start.line, start.character);
    let to = offset_of(text, end.line, end.character).max(from);
    // Lines actually touched (positions past the end are clamped).
    let first = text[..from].matches('\n').count() as u32;
    let last = first + text[from..to].matches('\n').count() as u32;
    text.replace_range(from..to, new_text);
    LineEdit {
        first,
        last,
        new_count: new_text.matches('\n').count() as u32 + 1,
    }
}

/// The region where two texts differ, by common leading and trailing lines.
fn diff_lines(old: &str, new: &str) -> LineEdit {
    let old_lines: Vec<&str> = old.split('\n').collect();
    let new_lines: Vec<&str> = new.split('\n').collect();
    let prefix = old_lines
        .iter()
        .zip(&new_lines)
        .take_while(|(a, b)| a == b)
        .count();
    let max_suffix =
        old_lines.len().min(new_lines.len()) - prefix.min(old_lines.len().min(new_lines.len()));
    let suffix = old_lines
        .iter()
        .rev()
        .zip(new_lines.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    let first = prefix as u32;
    let old_changed = old_lines.len() - prefix - suffix;
    let new_changed = new_lines.len() - prefix - suffix;
    if old_changed == 0 && new_changed == 0 {
        // Identical texts: an empty edit on no line.
        return LineEdit {
            first: u32::MAX,
            last: u32::MAX,
            new_count: 1,
        };
    }
    if old_changed == 0 {
        // Lines inserted before line `first`: counted as an edit of that line.
        return LineEdit {
            first,
            last: first,
            new_count: new_changed as u32 + 1,
        };
    }
    LineEdit {
        first,
        last: first + old_changed as u32 - 1,
        new_count: new_changed as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::Position;

    fn change(sl: u32, sc: u32, el: u32, ec: u32, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(sl, sc), Position::new(el, ec))),
            range_length: None,
            text: text.to_owned(),
        }
    }

    #[test]
    fn incremental_changes_and_line_edits() {
        let mut docs = Documents::default();
        docs.open("u", "a\nb\nc\n".into(), 1, "python".into());
        let edits = docs.change("u", 2, vec![change(1, 1, 1, 1, "x\ny")]);
        assert_eq!(docs.get("u").unwrap().text, "a\nbx\ny\nc\n");
        assert_eq!(
            edits,
            vec![LineEdit {
                first: 1,
                last: 1,
                new_count: 2
            }]
        );
        assert_eq!(edits[0].delta(), 1);
    }

    #[test]
    fn out_of_order_versions_are_ignored() {
        let mut docs = Documents::default();
        docs.open("u", "a".into(), 5, "python".into());
        assert!(
            docs.change("u", 3, vec![change(0, 0, 0, 1, "z")])
                .is_empty()
        );
        assert_eq!(docs.get("u").unwrap().text, "a");
    }

    #[test]
    fn positions_past_the_end_are_clamped() {
        let mut docs = Documents::default();
        docs.open("u", "ab\ncd".into(), 1, "python".into());
        docs.change("u", 2, vec![change(9, 9, 99, 0, "!")]);
        assert_eq!(docs.get("u").unwrap().text, "ab\ncd!");
        docs.change("u", 3, vec![change(0, 99, 0, 1, "?")]);
        assert_eq!(docs.get("u").unwrap().text, "a?\ncd!");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_edits_never_panic_and_stay_in_the_text(
            text in "(\\PC{0,8}\n){0,6}",
            edits in proptest::collection::vec((0u32..10, 0u32..12, 0u32..10, 0u32..12, "\\PC{0,6}(\n\\PC{0,4})?"), 0..8),
        ) {
            let mut docs = Documents::default();
            docs.open("u", text, 1, "python".into());
            for (i, (sl, sc, el, ec, new)) in edits.into_iter().enumerate() {
                let lines_before = docs.get("u").unwrap().text.split('\n').count() as u32;
                let applied = docs.change("u", i as i32 + 2, vec![change(sl, sc, el, ec, &new)]);
                for edit in applied {
                    proptest::prop_assert!(edit.first <= edit.last && edit.last < lines_before);
                }
            }
        }
    }

    #[test]
    fn full_changes_give_the_differing_region() {
        assert_eq!(
            diff_lines("a\nb\nc", "a\nB\nc"),
            LineEdit {
                first: 1,
                last: 1,
                new_count: 1
            }
        );
        assert_eq!(
            diff_lines("a\nb\nc", "a\nb\nx\nc"),
            LineEdit {
                first: 2,
                last: 2,
                new_count: 2
            }
        );
        assert_eq!(
            diff_lines("a\nb\nc", "a\nc"),
            LineEdit {
                first: 1,
                last: 1,
                new_count: 0
            }
        );
    }
}
