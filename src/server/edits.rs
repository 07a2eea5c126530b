//! What an edit did to a document's lines: "`removed` whole lines at `at` were replaced by
//! `inserted` lines". Lines whose text an edit left alone are never counted as edited, even
//! when the edit's range starts or ends on them (Enter at column 0, `dd`, Delete Line, `O`):
//! that is what lets run marks follow their lines.

/// Lines `at..at + removed` of the old text were replaced by `inserted` lines; the lines after
/// them moved by `inserted - removed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineEdit {
    pub at: u32,
    pub removed: u32,
    pub inserted: u32,
    /// Every inserted line is blank (or none was inserted): the removed lines were deleted,
    /// not rewritten.
    pub blank: bool,
}

impl LineEdit {
    pub fn delta(&self) -> i64 {
        self.inserted as i64 - self.removed as i64
    }

    /// Where an old line is now; `None` when the edit removed it.
    pub fn line(&self, line: u32) -> Option<u32> {
        if line < self.at {
            Some(line)
        } else if line - self.at < self.removed {
            None
        } else {
            Some(shifted(line, self.delta()))
        }
    }

    /// Where an old range of lines is now: the lines it kept, plus any lines inserted among
    /// them or in place of its removed lines. `None` when all its lines were removed and
    /// nothing but blank lines took their place.
    pub fn range(&self, first: u32, last: u32) -> Option<(u32, u32)> {
        let end = self.at.saturating_add(self.removed); // first line after the removed ones
        let covered = first >= self.at && last < end;
        if covered && self.blank {
            return None;
        }
        let first = if first < self.at {
            first
        } else if first < end {
            self.at
        } else {
            shifted(first, self.delta())
        };
        let last = if last < self.at {
            last
        } else if last < end {
            // Ends among the removed lines: now it ends with what replaced them, or just
            // before them when nothing did.
            (self.at + self.inserted).saturating_sub(1)
        } else {
            shifted(last, self.delta())
        };
        Some((first, last.max(first)))
    }

    /// Whether the edit changed lines inside `first..=last`, or inserted lines between them
    /// (which moves the lines below inside the range).
    pub fn touches_inside(&self, first: u32, last: u32) -> bool {
        if self.removed == 0 {
            first < self.at && self.at <= last
        } else {
            self.at <= last && first < self.at.saturating_add(self.removed)
        }
    }
}

fn shifted(line: u32, delta: i64) -> u32 {
    (line as i64 + delta).clamp(0, u32::MAX as i64) as u32
}

/// The line edit that turns `old` into `new`, where both are whole lines (joined by `\n`)
/// starting at line `first`: lines equal at the start and at the end are left out.
/// `None` when nothing changed.
pub fn between(old: &str, new: &str, first: u32) -> Option<LineEdit> {
    let old: Vec<&str> = old.split('\n').collect();
    let new: Vec<&str> = new.split('\n').collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let (old, new) = (&old[prefix..], &new[prefix..]);
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (old, new) = (&old[..old.len() - suffix], &new[..new.len() - suffix]);
    if old.is_empty() && new.is_empty() {
        return None;
    }
    Some(LineEdit {
        at: first.saturating_add(prefix as u32),
        removed: old.len() as u32,
        inserted: new.len() as u32,
        blank: new.iter().all(|l| l.trim().is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(at: u32, removed: u32, inserted: u32) -> LineEdit {
        LineEdit {
            at,
            removed,
            inserted,
            blank: inserted == 0,
        }
    }

    #[test]
    fn whole_line_inserts_and_deletes_touch_no_other_line() {
        let lines = |old, new, first| {
            between(old, new, first).map(|e| (e.at, e.removed, e.inserted, e.blank))
        };
        // Enter at column 0 of "c" (VS Code), `O` on it (Neovim replaces the newline above).
        assert_eq!(lines("c", "\nc", 2), Some((2, 0, 1, true)));
        assert_eq!(lines("b\nc", "b\n\nc", 1), Some((2, 0, 1, true)));
        // Deleting line "b" ((1,0)-(2,0) ""), also the last line ((1,len)-(2,len) "").
        assert_eq!(lines("b\nc", "c", 1), Some((1, 1, 0, true)));
        assert_eq!(lines("a\nb", "a", 0), Some((1, 1, 0, true)));
        // A join and a split rewrite the lines they touch.
        assert_eq!(lines("b\nc", "b c", 1), Some((1, 2, 1, false)));
        assert_eq!(lines("bc", "b\nc", 1), Some((1, 1, 2, false)));
        assert_eq!(lines("same", "same", 4), None);
    }

    #[test]
    fn lines_and_ranges_move_with_the_text() {
        let insert = edit(3, 0, 2);
        assert_eq!(insert.line(2), Some(2));
        assert_eq!(insert.line(3), Some(5));
        assert_eq!(insert.range(3, 4), Some((5, 6)));
        assert_eq!(insert.range(1, 3), Some((1, 5)));
        assert!(insert.touches_inside(1, 3) && !insert.touches_inside(3, 4));

        let delete = edit(2, 2, 0);
        assert_eq!(delete.line(2), None);
        assert_eq!(delete.line(4), Some(2));
        assert_eq!(delete.range(2, 3), None, "all its lines deleted");
        assert_eq!(delete.range(1, 2), Some((1, 1)));
        assert_eq!(delete.range(3, 6), Some((2, 4)));

        let rewrite = edit(2, 1, 1);
        assert_eq!(
            rewrite.range(2, 2),
            Some((2, 2)),
            "an edited line keeps its run"
        );
        assert!(rewrite.touches_inside(2, 2));
        let emptied = LineEdit {
            blank: true,
            ..rewrite
        };
        assert_eq!(emptied.range(2, 2), None, "its code was deleted");
    }
}
