//! What runs leave on a document: diagnostics, a status lens and a hover, per run range.
//! A new run over a range replaces earlier marks there; edits drop the diagnostics on the
//! edited lines and move the rest with the text.

use std::collections::HashMap;

use super::documents::LineEdit;

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
    pub diagnostics: Vec<MarkDiagnostic>,
    /// The run's own lines were edited while it ran: its results no longer fit the text.
    pub stale: bool,
}

#[derive(Debug, Default)]
pub struct Marks {
    by_doc: HashMap<String, Vec<RunMark>>,
}

impl Marks {
    /// Starts a run over lines `first..=last`: earlier marks overlapping it are replaced.
    pub fn begin(&mut self, uri: &str, run_id: u64, first_line: u32, last_line: u32) {
        let marks = self.by_doc.entry(uri.to_owned()).or_default();
        marks.retain(|m| m.last_line < first_line || m.first_line > last_line);
        marks.push(RunMark {
            run_id,
            first_line,
            last_line,
            lens: None,
            hover: None,
            diagnostics: Vec::new(),
            stale: false,
        });
    }

    /// Fills a run's results. `line_shift` moves lines computed against the text at the start
    /// of the run to where that text is now. Returns false when the mark is gone or stale.
    pub fn finish(
        &mut self,
        uri: &str,
        run_id: u64,
        started_first_line: u32,
        lens: String,
        hover: String,
        diagnostics: Vec<MarkDiagnostic>,
    ) -> bool {
        let Some(mark) = self
            .by_doc
            .get_mut(uri)
            .and_then(|marks| marks.iter_mut().find(|m| m.run_id == run_id))
        else {
            return false;
        };
        if mark.stale {
            return false;
        }
        let shift = mark.first_line as i64 - started_first_line as i64;
        let moved = |line: u32| (line as i64 + shift).max(0) as u32;
        mark.lens = Some(lens);
        mark.hover = Some(hover);
        mark.diagnostics = diagnostics
            .into_iter()
            .map(|mut d| {
                d.line = moved(d.line);
                d.related = d.related.into_iter().map(|(l, t)| (moved(l), t)).collect();
                d
            })
            .collect();
        true
    }

    /// Drops a run's mark (it could not run).
    pub fn abandon(&mut self, uri: &str, run_id: u64) {
        if let Some(marks) = self.by_doc.get_mut(uri) {
            marks.retain(|m| m.run_id != run_id);
        }
    }

    /// Follows edits; returns true when anything visible changed.
    pub fn apply_edits(&mut self, uri: &str, edits: &[LineEdit]) -> bool {
        let Some(marks) = self.by_doc.get_mut(uri) else {
            return false;
        };
        let mut changed = false;
        for edit in edits.iter().filter(|e| e.first != u32::MAX) {
            let delta = edit.delta();
            let shift = |line: u32| (line as i64 + delta).max(0) as u32;
            for mark in marks.iter_mut() {
                let before = mark.diagnostics.len();
                mark.diagnostics
                    .retain(|d| d.line < edit.first || d.line > edit.last);
                changed |= mark.diagnostics.len() != before;
                for d in &mut mark.diagnostics {
                    if d.line > edit.last {
                        d.line = shift(d.line);
                        changed = true;
                    }
                    d.related.retain(|(l, _)| *l < edit.first || *l > edit.last);
                    for (l, _) in &mut d.related {
                        if *l > edit.last {
                            *l = shift(*l);
                        }
                    }
                }
                let overlaps = mark.first_line <= edit.last && mark.last_line >= edit.first;
                if overlaps && mark.lens.is_none() {
                    // Edited while running: its line numbers would be wrong.
                    mark.stale = true;
                }
                if mark.first_line > edit.last {
                    mark.first_line = shift(mark.first_line);
                    mark.last_line = shift(mark.last_line);
                    changed = true;
                } else if mark.last_line >= edit.first {
                    mark.last_line = shift(mark.last_line.max(edit.last)).max(mark.first_line);
                    changed |= overlaps;
                }
            }
            // A mark whose lines were all deleted goes away.
            marks.retain(|m| {
                !(edit.new_count == 0 && m.first_line >= edit.first && m.last_line <= edit.last)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn error(line: u32) -> MarkDiagnostic {
        MarkDiagnostic {
            line,
            severity: Severity::Error,
            code: None,
            message: "E".into(),
            related: vec![],
        }
    }

    #[test]
    fn a_new_run_replaces_overlapping_marks_only() {
        let mut marks = Marks::default();
        marks.begin("u", 1, 0, 3);
        marks.finish("u", 1, 0, "✗".into(), String::new(), vec![error(2)]);
        marks.begin("u", 2, 10, 12);
        marks.begin("u", 3, 2, 4);
        let ids: Vec<u64> = marks.for_doc("u").iter().map(|m| m.run_id).collect();
        assert_eq!(ids, vec![2, 3]);
    }

    #[test]
    fn edits_drop_diagnostics_on_edited_lines_and_move_the_rest() {
        let mut marks = Marks::default();
        marks.begin("u", 1, 0, 9);
        marks.finish(
            "u",
            1,
            0,
            "✗".into(),
            String::new(),
            vec![error(2), error(5)],
        );
        // Two lines inserted at line 3 (line 3 replaced by three lines).
        assert!(marks.apply_edits(
            "u",
            &[LineEdit {
                first: 3,
                last: 3,
                new_count: 3
            }]
        ));
        let lines: Vec<u32> = marks.for_doc("u")[0]
            .diagnostics
            .iter()
            .map(|d| d.line)
            .collect();
        assert_eq!(lines, vec![2, 7]);
        // Editing line 2 drops its diagnostic.
        marks.apply_edits(
            "u",
            &[LineEdit {
                first: 2,
                last: 2,
                new_count: 1,
            }],
        );
        let lines: Vec<u32> = marks.for_doc("u")[0]
            .diagnostics
            .iter()
            .map(|d| d.line)
            .collect();
        assert_eq!(lines, vec![7]);
    }

    #[test]
    fn results_of_a_run_follow_lines_inserted_above_it_meanwhile() {
        let mut marks = Marks::default();
        marks.begin("u", 1, 10, 12);
        marks.apply_edits(
            "u",
            &[LineEdit {
                first: 0,
                last: 0,
                new_count: 3,
            }],
        );
        assert!(marks.finish("u", 1, 10, "✗".into(), String::new(), vec![error(11)]));
        assert_eq!(marks.for_doc("u")[0].diagnostics[0].line, 13);
    }

    #[test]
    fn a_run_edited_inside_while_running_is_stale() {
        let mut marks = Marks::default();
        marks.begin("u", 1, 10, 12);
        marks.apply_edits(
            "u",
            &[LineEdit {
                first: 11,
                last: 11,
                new_count: 1,
            }],
        );
        assert!(!marks.finish("u", 1, 10, "✗".into(), String::new(), vec![error(11)]));
    }
}
