//! Open documents, kept in memory, and what each change did to their lines (so run marks
//! on edited lines are dropped and the rest move with the text).

use std::collections::HashMap;

use tower_lsp_server::ls_types::{Range, TextDocumentContentChangeEvent};

use super::edits::{self, LineEdit};
use crate::code::utf16_to_byte;

#[derive(Debug, Clone)]
pub struct Document {
    pub text: String,
    pub version: i32,
    pub language_id: String,
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
            let edit = match change.range {
                Some(range) => apply_range(&mut doc.text, range, &change.text),
                None => {
                    let edit = edits::between(&doc.text, &change.text, 0);
                    doc.text = change.text;
                    edit
                }
            };
            edits.extend(edit);
        }
        doc.version = version;
        edits
    }
}

/// Byte offset of an LSP position, clamped to the text and to its line's content (never
/// between the `\r` and `\n` of a CRLF ending).
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
    start + utf16_to_byte(crate::code::trim_cr(&text[start..end]), character)
}

/// Applies one incremental change; returns what it did to whole lines (`None`: nothing).
fn apply_range(text: &mut String, range: Range, new_text: &str) -> Option<LineEdit> {
    let (start, end) =
        if (range.start.line, range.start.character) <= (range.end.line, range.end.character) {
            (range.start, range.end)
        } else {
            (range.end, range.start)
        };
    let from = offset_of(text, start.line, start.character);
    let to = offset_of(text, end.line, end.character).max(from);
    // The whole lines the change lies in (positions past the end are clamped), before and after.
    let line_start = text[..from].rfind('\n').map_or(0, |i| i + 1);
    let first = text[..line_start].matches('\n').count() as u32;
    let old_end = text[to..].find('\n').map_or(text.len(), |i| to + i);
    let tail = old_end - to;
    let old_lines = text[line_start..old_end].to_owned();
    text.replace_range(from..to, new_text);
    let new_end = from + new_text.len() + tail;
    edits::between(&old_lines, &text[line_start..new_end], first)
}

#[cfg(test)]
mod tests {
    #[test]
    fn positions_in_crlf_text_stay_before_the_line_break() {
        let text = "ab\r\ncd\r\n";
        assert_eq!(super::offset_of(text, 0, 2), 2);
        assert_eq!(super::offset_of(text, 0, 99), 2, "clamped before \\r");
        assert_eq!(super::offset_of(text, 1, 1), 5);
        assert_eq!(super::offset_of(text, 1, 9), 6);
        assert_eq!(super::offset_of(text, 2, 0), text.len());
        assert_eq!(super::offset_of(text, 9, 0), text.len());
    }

    use super::*;
    use tower_lsp_server::ls_types::Position;

    fn change(sl: u32, sc: u32, el: u32, ec: u32, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(sl, sc), Position::new(el, ec))),
            range_length: None,
            text: text.to_owned(),
        }
    }

    fn edit(at: u32, removed: u32, inserted: u32) -> LineEdit {
        LineEdit {
            at,
            removed,
            inserted,
            blank: inserted == 0,
        }
    }

    /// The line edits of one change applied to `text`.
    fn edits_of(text: &str, change: TextDocumentContentChangeEvent) -> Vec<LineEdit> {
        let mut docs = Documents::default();
        docs.open("u", text.into(), 1, "python".into());
        docs.change("u", 2, vec![change])
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
                blank: false,
                ..edit(1, 1, 2)
            }]
        );
        assert_eq!(edits[0].delta(), 1);
    }

    #[test]
    fn edits_at_a_line_boundary_leave_that_line_untouched() {
        let text = "a = 1\nb = 2\n1/0\nd = 4\n";
        // Enter at column 0 of line 2 (VS Code): one line inserted before it.
        let enter = edits_of(text, change(2, 0, 2, 0, "\n"));
        assert_eq!(
            enter,
            vec![LineEdit {
                blank: true,
                ..edit(2, 0, 1)
            }]
        );
        // Neovim `O` on line 2 replaces the newline above it.
        let open_above = edits_of(text, change(1, 5, 2, 0, "\n\n"));
        assert_eq!(
            open_above,
            vec![LineEdit {
                blank: true,
                ..edit(2, 0, 1)
            }]
        );
        // Deleting line 1: `dd` and VS Code Delete Line, and the last line the VS Code way.
        assert_eq!(edits_of(text, change(1, 0, 2, 0, "")), vec![edit(1, 1, 0)]);
        assert_eq!(edits_of(text, change(2, 3, 3, 5, "")), vec![edit(3, 1, 0)]);
        // Pasting lines below line 2 (Neovim `p`): they go after it.
        let paste = edits_of(text, change(2, 3, 3, 0, "\nnew\n"));
        assert_eq!(
            paste,
            vec![LineEdit {
                blank: false,
                ..edit(3, 0, 1)
            }]
        );
        // Typing in a line, joining and splitting lines edit the lines they change.
        assert_eq!(
            edits_of(text, change(2, 1, 2, 1, "x")),
            vec![LineEdit {
                blank: false,
                ..edit(2, 1, 1)
            }]
        );
        assert_eq!(
            edits_of(text, change(1, 5, 2, 0, " ")),
            vec![LineEdit {
                blank: false,
                ..edit(1, 2, 1)
            }]
        );
        assert_eq!(
            edits_of(text, change(2, 1, 2, 1, "\n")),
            vec![LineEdit {
                blank: false,
                ..edit(2, 1, 2)
            }]
        );
        // The same in a CRLF document.
        let crlf = "a = 1\r\nb = 2\r\n1/0\r\n";
        let enter = edits_of(crlf, change(2, 0, 2, 0, "\r\n"));
        assert_eq!(
            (enter[0].at, enter[0].removed, enter[0].inserted),
            (2, 0, 1)
        );
        assert_eq!(edits_of(crlf, change(1, 0, 2, 0, "")), vec![edit(1, 1, 0)]);
        // A change that leaves the text as it was edits nothing.
        assert_eq!(edits_of(text, change(0, 0, 0, 1, "a")), vec![]);
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
                let lines_after = docs.get("u").unwrap().text.split('\n').count() as u32;
                for edit in applied {
                    proptest::prop_assert!(edit.at + edit.removed <= lines_before);
                    proptest::prop_assert!(edit.at + edit.inserted <= lines_after);
                    proptest::prop_assert_eq!(lines_after as i64 - lines_before as i64, edit.delta());
                }
            }
        }
    }

    #[test]
    fn full_changes_give_the_differing_region() {
        let full = |old: &str, new: &str| {
            let mut docs = Documents::default();
            docs.open("u", old.into(), 1, "python".into());
            let change = TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: new.into(),
            };
            docs.change("u", 2, vec![change])
        };
        assert_eq!(
            full("a\nb\nc", "a\nB\nc"),
            vec![LineEdit {
                blank: false,
                ..edit(1, 1, 1)
            }]
        );
        assert_eq!(
            full("a\nb\nc", "a\nb\nx\nc"),
            vec![LineEdit {
                blank: false,
                ..edit(2, 0, 1)
            }]
        );
        assert_eq!(full("a\nb\nc", "a\nc"), vec![edit(1, 1, 0)]);
        assert_eq!(full("a\nb", "a\nb"), vec![]);
    }
}
