//! What runs leave on a document: diagnostics, a status lens and a hover, per run range.
//! A finished run over a range replaces the earlier marks there; until it finishes they stay
//! (a run that is cancelled or cannot run changes nothing the user sees). Edits drop the
//! diagnostics on the lines they changed and move the rest with the text.

use std::collections::HashMap;

use super::edits::LineEdit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Information,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MarkDiagnostic {
    pub line: u32,
    pub severity: Severity,
    pub code: Option<String>,
    pub message: String,
    /// Other traceback frames that map into the document: (line, text).
    pub related: Vec<(u32, String)>,
}

#[derive(Debug, Clone)]
pub struct RunMark {
    pub run_id: u64,
    pub first_line: u32,
    pub last_line: u32,
    /// Set when the run finished: the lens text, e.g. `✓ 0.84 s`.
    pub lens: Option<String>,
    pub hover: Option<String>,
    /// The value of the run's last expression (or its error), shown at the end of its last
    /// line as an inlay hint until its lines are edited.
    pub inline: Option<String>,
    pub diagnostics: Vec<MarkDiagnostic>,
    /// The run's own lines were edited while it ran: its results no longer fit the text.
    pub stale: bool,
    /// Later runs over these lines, not finished yet: the first to finish replaces this mark.
    superseded_by: Vec<u64>,
}

impl RunMark {
    fn visible(&self) -> bool {
        self.lens.is_some() || !self.diagnostics.is_empty()
    }
}

/// What a finished run shows besides its diagnostics.
#[derive(Debug, Clone, Default)]
pub struct Shown {
    /// The lens text, e.g. `✓ 0.84 s`.
    pub lens: String,
    pub hover: String,
    /// The inline value (one line), if any.
    pub inline: Option<String>,
}

/// What finishing a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// What the editor shows changed (publish diagnostics, refresh lenses).
    pub changed: bool,
    /// How far edits made while the run ran moved its lines (`None`: its mark is gone).
    pub shift: Option<i64>,
}

/// A line moved by `shift`, kept in range.
pub fn moved(line: u32, shift: i64) -> u32 {
    (line as i64 + shift).clamp(0, u32::MAX as i64) as u32
}

#[derive(Debug, Default)]
pub struct Marks {
    by_doc: HashMap<String, Vec<RunMark>>,
}

impl Marks {
    /// Starts a run over lines `first..=last`: earlier marks overlapping it will be replaced
    /// when it finishes.
    pub fn begin(&mut self, uri: &str, run_id: u64, first_line: u32, last_line: u32) {
        let marks = self.by_doc.entry(uri.to_owned()).or_default();
        for mark in marks.iter_mut() {
            if mark.last_line >= first_line && mark.first_line <= last_line {
                mark.superseded_by.push(run_id);
            }
        }
        marks.push(RunMark {
            run_id,
            first_line,
            last_line,
            lens: None,
            hover: None,
            inline: None,
            diagnostics: Vec::new(),
            stale: false,
            superseded_by: Vec::new(),
        });
    }

    /// Fills a run's results and drops the marks it replaces. Diagnostic lines are computed
    /// against the text at the start of the run (`started_first_line`) and moved to where that
    /// text is now. A run whose lines were edited while it ran shows nothing.
    pub fn finish(
        &mut self,
        uri: &str,
        run_id: u64,
        started_first_line: u32,
        shown: Shown,
        diagnostics: Vec<MarkDiagnostic>,
    ) -> Finished {
        let Some(marks) = self.by_doc.get_mut(uri) else {
            return Finished {
                changed: false,
                shift: None,
            };
        };
        let mut changed = false;
        marks.retain(|m| {
            let replaced = m.superseded_by.contains(&run_id);
            changed |= replaced && m.visible();
            !replaced
        });
        let Some(index) = marks.iter().position(|m| m.run_id == run_id) else {
            return Finished {
                changed,
                shift: None,
            };
        };
        let mark = &mut marks[index];
        let shift = mark.first_line as i64 - started_first_line as i64;
        if mark.stale {
            marks.remove(index);
        } else {
            mark.lens = Some(shown.lens);
            mark.hover = Some(shown.hover);
            mark.inline = shown.inline;
            mark.diagnostics = diagnostics
                .into_iter()
                .map(|mut d| {
                    d.line = moved(d.line, shift);
                    d.related = d
                        .related
                        .into_iter()
                        .map(|(l, t)| (moved(l, shift), t))
                        .collect();
                    d
                })
                .collect();
            changed = true;
        }
        Finished {
            changed,
            shift: Some(shift),
        }
    }

    /// Drops a run that did not run (or whose answer was abandoned): the marks it would have
    /// replaced stay as they are.
    pub fn abandon(&mut self, uri: &str, run_id: u64) {
        if let Some(marks) = self.by_doc.get_mut(uri) {
            marks.retain(|m| m.run_id != run_id);
            for mark in marks.iter_mut() {
                mark.superseded_by.retain(|id| *id != run_id);
            }
        }
    }

    /// Follows edits; returns true when the diagnostics or lenses changed.
    pub fn apply_edits(&mut self, uri: &str, edits: &[LineEdit]) -> bool {
        let Some(marks) = self.by_doc.get_mut(uri) else {
            return false;
        };
        let mut changed = false;
        for edit in edits {
            marks.retain_mut(|mark| {
                let (shown_changed, kept) = follow(mark, edit);
                changed |= shown_changed;
                kept
            });
        }
        changed
    }

    pub fn for_doc(&self, uri: &str) -> &[RunMark] {
        self.by_doc.get(uri).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn close(&mut self, uri: &str) {
        self.by_doc.remove(uri);
    }
}

/// Moves one mark through one edit. Returns whether what it shows changed, and whether it
/// stays: a mark whose lines were all deleted goes (a run still running then shows nothing).
fn follow(mark: &mut RunMark, edit: &LineEdit) -> (bool, bool) {
    let Some((first, last)) = edit.range(mark.first_line, mark.last_line) else {
        return (mark.visible(), false);
    };
    if edit.touches_inside(mark.first_line, mark.last_line) {
        if mark.lens.is_none() {
            // Edited while running: its line numbers would be wrong.
            mark.stale = true;
        }
        // The value shown belongs to the code as it ran.
        if mark.inline.take().is_some() {
            mark.first_line = first;
            mark.last_line = last;
            follow_diagnostics(mark, edit);
            return (true, true);
        }
    }
    mark.first_line = first;
    mark.last_line = last;
    (follow_diagnostics(mark, edit), true)
}

/// Moves a mark's diagnostics through an edit, dropping those on edited lines; whether any
/// changed.
fn follow_diagnostics(mark: &mut RunMark, edit: &LineEdit) -> bool {
    let mut changed = false;
    mark.diagnostics.retain_mut(|d| match edit.line(d.line) {
        Some(line) => {
            changed |= line != d.line;
            d.line = line;
            d.related = std::mem::take(&mut d.related)
                .into_iter()
                .filter_map(|(l, t)| Some((edit.line(l)?, t)))
                .collect();
            true
        }
        None => {
            changed = true;
            false
        }
    });
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::documents::Documents;
    use tower_lsp_server::ls_types::{Position, Range, TextDocumentContentChangeEvent};

    fn error(line: u32) -> MarkDiagnostic {
        MarkDiagnostic {
            line,
            severity: Severity::Error,
            code: None,
            message: "E".into(),
            related: vec![],
        }
    }

    fn edit(at: u32, removed: u32, inserted: u32) -> LineEdit {
        LineEdit {
            at,
            removed,
            inserted,
            blank: false,
        }
    }

    fn finish(
        marks: &mut Marks,
        run_id: u64,
        first: u32,
        diagnostics: Vec<MarkDiagnostic>,
    ) -> Finished {
        let shown = Shown {
            lens: "✗".into(),
            hover: "hover".into(),
            inline: Some("→ 42".into()),
        };
        marks.finish("u", run_id, first, shown, diagnostics)
    }

    fn lines(marks: &Marks) -> Vec<u32> {
        marks
            .for_doc("u")
            .iter()
            .flat_map(|m| &m.diagnostics)
            .map(|d| d.line)
            .collect()
    }

    /// A document with marks, changed the way an editor changes it.
    struct Doc {
        docs: Documents,
        marks: Marks,
        version: i32,
    }

    impl Doc {
        fn new(text: &str) -> Doc {
            let mut docs = Documents::default();
            docs.open("u", text.into(), 1, "python".into());
            Doc {
                docs,
                marks: Marks::default(),
                version: 1,
            }
        }

        fn change(&mut self, (sl, sc): (u32, u32), (el, ec): (u32, u32), text: &str) {
            self.version += 1;
            let change = TextDocumentContentChangeEvent {
                range: Some(Range::new(Position::new(sl, sc), Position::new(el, ec))),
                range_length: None,
                text: text.into(),
            };
            let edits = self.docs.change("u", self.version, vec![change]);
            self.marks.apply_edits("u", &edits);
        }

        fn line(&self, n: u32) -> &str {
            self.docs
                .get("u")
                .unwrap()
                .text
                .split('\n')
                .nth(n as usize)
                .unwrap()
        }
    }

    #[test]
    fn a_finished_run_replaces_overlapping_marks_only() {
        let mut marks = Marks::default();
        marks.begin("u", 1, 0, 3);
        finish(&mut marks, 1, 0, vec![error(2)]);
        marks.begin("u", 2, 10, 12);
        marks.begin("u", 3, 2, 4);
        let ids: Vec<u64> = marks.for_doc("u").iter().map(|m| m.run_id).collect();
        assert_eq!(ids, vec![1, 2, 3], "run 1 stays until run 3 has a result");
        assert!(finish(&mut marks, 3, 2, vec![]).changed);
        let ids: Vec<u64> = marks.for_doc("u").iter().map(|m| m.run_id).collect();
        assert_eq!(ids, vec![2, 3]);
    }

    #[test]
    fn a_cancelled_rerun_leaves_the_earlier_marks_following_their_lines() {
        let mut doc = Doc::new("a = 1\n1/0\nc = 3\n");
        doc.marks.begin("u", 1, 0, 2);
        finish(&mut doc.marks, 1, 0, vec![error(1)]);
        // Run it again; that run is cancelled (or could not run).
        doc.marks.begin("u", 2, 0, 2);
        doc.marks.abandon("u", 2);
        assert_eq!(lines(&doc.marks), vec![1]);
        // The error still follows its line: Enter at column 0 above it...
        doc.change((0, 0), (0, 0), "\n");
        assert_eq!(lines(&doc.marks), vec![2]);
        // ...and goes when the line is fixed.
        doc.change((2, 2), (2, 3), "1");
        assert_eq!(lines(&doc.marks), Vec::<u32>::new());
        // A later run over the same lines is not held back by the abandoned one.
        doc.marks.begin("u", 3, 1, 3);
        assert!(finish(&mut doc.marks, 3, 1, vec![]).changed);
        assert_eq!(doc.marks.for_doc("u").len(), 1);
    }

    #[test]
    fn diagnostics_follow_whole_line_inserts_and_deletes_above_them() {
        let mut doc = Doc::new("a = 1\nb = 2\n1/0\nd = 4\n");
        doc.marks.begin("u", 1, 0, 3);
        finish(&mut doc.marks, 1, 0, vec![error(2)]);
        // Enter at column 0 of the failing line (VS Code), then Neovim `O` on it.
        doc.change((2, 0), (2, 0), "\n");
        assert_eq!(lines(&doc.marks), vec![3]);
        doc.change((2, 0), (3, 0), "\n\n");
        assert_eq!(lines(&doc.marks), vec![4]);
        assert_eq!(doc.line(4), "1/0");
        // Delete the (blank) line above: `dd` / Delete Line.
        doc.change((3, 0), (4, 0), "");
        assert_eq!(lines(&doc.marks), vec![3]);
        doc.change((1, 0), (2, 0), "");
        assert_eq!(lines(&doc.marks), vec![2]);
        assert_eq!(doc.line(2), "1/0");
        // Open a line below (`o`, Enter at the end): the error stays.
        doc.change((2, 3), (2, 3), "\n");
        assert_eq!(lines(&doc.marks), vec![2]);
        // Joining it with the line above edits it: the error goes.
        doc.change((1, 5), (2, 0), " ");
        assert_eq!(lines(&doc.marks), Vec::<u32>::new());
    }

    #[test]
    fn deleting_a_runs_lines_removes_its_mark() {
        let text = "a = 1\n# %%\nprint('cell')\nx = 2\n# %%\nmore = 2\n";
        // The cell with its markers as whole lines, and as a selection up to the end of a line.
        for (from, to) in [((1, 0), (5, 0)), ((1, 0), (4, 4))] {
            let mut doc = Doc::new(text);
            doc.marks.begin("u", 1, 2, 3);
            finish(&mut doc.marks, 1, 2, vec![]);
            doc.change(from, to, "");
            assert!(doc.marks.for_doc("u").is_empty(), "{from:?}-{to:?}");
        }
        // Editing a line of a one-line run keeps its lens (it re-runs the fixed line).
        let mut doc = Doc::new(text);
        doc.marks.begin("u", 1, 3, 3);
        finish(&mut doc.marks, 1, 3, vec![error(3)]);
        doc.change((3, 4), (3, 5), "3");
        assert_eq!(doc.marks.for_doc("u")[0].first_line, 3);
        assert!(lines(&doc.marks).is_empty());
    }

    #[test]
    fn edits_drop_diagnostics_on_edited_lines_and_move_the_rest() {
        let mut marks = Marks::default();
        marks.begin("u", 1, 0, 9);
        finish(&mut marks, 1, 0, vec![error(2), error(5)]);
        // Line 3 replaced by three lines.
        assert!(marks.apply_edits("u", &[edit(3, 1, 3)]));
        assert_eq!(lines(&marks), vec![2, 7]);
        // Editing line 2 drops its diagnostic.
        assert!(marks.apply_edits("u", &[edit(2, 1, 1)]));
        assert_eq!(lines(&marks), vec![7]);
    }

    #[test]
    fn results_of_a_run_follow_lines_inserted_above_it_meanwhile() {
        let mut marks = Marks::default();
        marks.begin("u", 1, 10, 12);
        marks.apply_edits("u", &[edit(0, 0, 3)]);
        let finished = finish(&mut marks, 1, 10, vec![error(11)]);
        assert_eq!(
            finished.shift,
            Some(3),
            "the error line reported moves with it"
        );
        assert_eq!(lines(&marks), vec![14]);
    }

    #[test]
    fn a_run_edited_inside_while_running_is_stale() {
        let mut marks = Marks::default();
        marks.begin("u", 1, 10, 12);
        marks.apply_edits("u", &[edit(11, 1, 1)]);
        assert!(!finish(&mut marks, 1, 10, vec![error(11)]).changed);
        assert!(marks.for_doc("u").is_empty());
        // Lines inserted inside it, too; but not below it.
        marks.begin("u", 2, 10, 12);
        marks.apply_edits("u", &[edit(13, 0, 2)]);
        marks.apply_edits("u", &[edit(11, 0, 1)]);
        assert!(!finish(&mut marks, 2, 10, vec![error(11)]).changed);
    }

    proptest::proptest! {
        /// Every diagnostic that survives random edits sits on a line with the text its line
        /// had, and every line the edit left alone keeps its diagnostic.
        #[test]
        fn diagnostics_stay_on_their_text_through_any_edit(
            count in 1usize..8,
            edits in proptest::collection::vec(
                (0u32..9, 0u32..8, 0u32..9, 0u32..8, proptest::prop_oneof![
                    proptest::strategy::Just(String::new()),
                    proptest::strategy::Just("\n".to_owned()),
                    "[a-z ]{0,3}(\n[a-z ]{0,3}){0,2}\n?",
                ]),
                1..6,
            ),
        ) {
            let text: String = (0..count).map(|i| format!("line {i}\n")).collect();
            let mut doc = Doc::new(&text);
            doc.marks.begin("u", 1, 0, count as u32 - 1);
            let diagnostics = (0..count as u32)
                .map(|i| MarkDiagnostic { message: format!("line {i}"), ..error(i) })
                .collect();
            finish(&mut doc.marks, 1, 0, diagnostics);
            for (sl, sc, el, ec, new) in edits {
                let before = doc.docs.get("u").unwrap().text.clone();
                let (from, to) = {
                    let a = crate::server::documents::offset_of(&before, sl, sc);
                    let b = crate::server::documents::offset_of(&before, el, ec);
                    (a.min(b), a.max(b))
                };
                let had: Vec<(u32, String)> = doc.marks.for_doc("u").iter()
                    .flat_map(|m| &m.diagnostics)
                    .map(|d| (d.line, d.message.clone()))
                    .collect();
                doc.change((sl, sc), (el, ec), &new);
                let after = doc.docs.get("u").unwrap().text.clone();
                let now: Vec<(u32, String)> = doc.marks.for_doc("u").iter()
                    .flat_map(|m| &m.diagnostics)
                    .map(|d| (d.line, d.message.clone()))
                    .collect();
                for (line, message) in &now {
                    proptest::prop_assert_eq!(after.split('\n').nth(*line as usize), Some(message.as_str()));
                }
                for (line, message) in had {
                    if let Some(expected) = untouched(&before, line, from, to, &new) {
                        proptest::prop_assert!(
                            now.contains(&(expected, message.clone())),
                            "{:?} on line {} (now {}) was dropped by {:?} at {}..{}", message, line, expected, new, from, to
                        );
                    }
                }
            }
        }
    }

    /// Where line `line` of `text` is after replacing bytes `from..to` with `new`, if the
    /// change left that line whole: its text untouched, with a line break (or the text's
    /// start and end) on both sides.
    fn untouched(text: &str, line: u32, from: usize, to: usize, new: &str) -> Option<u32> {
        let start: usize = text
            .split('\n')
            .take(line as usize)
            .map(|l| l.len() + 1)
            .sum();
        let end = start + text.split('\n').nth(line as usize)?.len();
        let after = format!("{}{new}{}", &text[..from], &text[to..]);
        let (new_start, new_end) = if to <= start {
            let shift = from + new.len();
            (start - to + shift, end - to + shift)
        } else if from >= end {
            (start, end)
        } else {
            return None;
        };
        let broken_before = new_start == 0 || after.as_bytes()[new_start - 1] == b'\n';
        let broken_after = new_end == after.len() || after.as_bytes()[new_end] == b'\n';
        (broken_before && broken_after && after[new_start..new_end] == text[start..end])
            .then(|| after[..new_start].matches('\n').count() as u32)
    }
}
