//! What runs: the selection, the line, the cell or the file, cut out of a document's text,
//! with the document line of its first sent line so tracebacks map back.
//!
//! Positions are LSP-style (zero-based line, UTF-16 code units) but plain numbers here:
//! this module knows nothing of LSP. Out-of-range positions are clamped, never a panic.

use regex::Regex;

/// A zero-based line and a UTF-16 column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: u32,
    pub character: u32,
}

/// What the user asked to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The whole document.
    File,
    /// A range: empty means the current line; within one line the exact text (without the
    /// line's indentation when it starts there); over several lines the whole lines, dedented.
    Range(Pos, Pos),
    /// The cell (between cell-marker lines) that holds this line.
    Cell(u32),
}

/// The code to send and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub code: String,
    /// Document line of the first line of `code` (line N of the code is `first_line + N - 1`).
    pub first_line: u32,
    /// Document line of the last line of `code`.
    pub last_line: u32,
    /// What it was, for messages: "line 4", "lines 3-9", "cell at line 12", "file".
    pub label: String,
}

impl Snippet {
    /// The document line of line `n` (1-based) of the sent code, if it is part of it.
    pub fn document_line(&self, n: u32) -> Option<u32> {
        let line = self.first_line.checked_add(n.checked_sub(1)?)?;
        (line <= self.last_line).then_some(line)
    }
}

/// The lines of a text, splitting on `\n` (a trailing `\r` stays with its line and is trimmed
/// where it matters).
pub fn lines(text: &str) -> Vec<&str> {
    text.split('\n').collect()
}

/// Byte offset within `line` of a UTF-16 column, clamped to the line's end and kept on a
/// character boundary (a column inside a surrogate pair rounds down).
pub fn utf16_to_byte(line: &str, character: u32) -> usize {
    let mut units = 0u32;
    for (offset, ch) in line.char_indices() {
        let width = ch.len_utf16() as u32;
        if units + width > character {
            return offset;
        }
        units += width;
    }
    line.len()
}

/// UTF-16 length of a line (for end-of-line positions).
pub fn utf16_len(line: &str) -> u32 {
    line.chars().map(|c| c.len_utf16() as u32).sum()
}

/// The UTF-16 length of every line of a text, without line endings (`\n` or `\r\n`): the
/// end-of-line column of each line, as LSP counts it.
pub fn line_ends(text: &str) -> Vec<u32> {
    text.split('\n').map(|l| utf16_len(trim_cr(l))).collect()
}

pub fn extract(text: &str, target: Target, cell_marker: &Regex) -> Option<Snippet> {
    let lines = lines(text);
    let last = (lines.len() as u32).saturating_sub(1);
    match target {
        Target::File => Some(Snippet {
            code: text.to_owned(),
            first_line: 0,
            // Trailing blank lines (the one after the final newline) did not run anything:
            // the output diagnostic and the status lens end at the last line of code.
            last_line: (0..=last)
                .rev()
                .find(|&l| !trim_cr(lines[l as usize]).trim().is_empty())
                .unwrap_or(0),
            label: "file".to_owned(),
        }),
        Target::Range(start, end) => {
            let (start, end) = if start <= end {
                (start, end)
            } else {
                (end, start)
            };
            let start_line = start.line.min(last);
            let end_line = end.line.min(last);
            if start == end || (start.line > last) {
                let line = lines[start_line as usize];
                return Some(Snippet {
                    code: trim_cr(line).trim().to_owned(),
                    first_line: start_line,
                    last_line: start_line,
                    label: format!("line {}", start_line + 1),
                });
            }
            if start_line == end_line {
                let line = trim_cr(lines[start_line as usize]);
                let to = utf16_to_byte(line, end.character);
                let from = utf16_to_byte(line, start.character).min(to);
                // A selection from the line's indentation runs the line at top level, as a
                // multi-line one would (whole-line ranges: Neovim's run-line, the status lens).
                let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
                let from = if from <= indent { indent.min(to) } else { from };
                return Some(Snippet {
                    code: line[from..to].to_owned(),
                    first_line: start_line,
                    last_line: start_line,
                    label: format!("line {}", start_line + 1),
                });
            }
            // A selection that ends at column 0 of a line does not include that line.
            let end_line = if end.character == 0 && end.line <= last && end_line > start_line {
                end_line - 1
            } else {
                end_line
            };
            let chosen = &lines[start_line as usize..=end_line as usize];
            Some(Snippet {
                code: dedent(chosen),
                first_line: start_line,
                last_line: end_line,
                label: if start_line == end_line {
                    format!("line {}", start_line + 1)
                } else {
                    format!("lines {}-{}", start_line + 1, end_line + 1)
                },
            })
        }
        Target::Cell(line) => {
            let (first, last_line) = cell_at(&lines, line.min(last), cell_marker);
            if first > last_line {
                // An empty cell (two markers in a row, or a marker on the last line).
                return Some(Snippet {
                    code: String::new(),
                    first_line: first.min(last),
                    last_line: first.min(last),
                    label: format!("cell at line {}", first.min(last) + 1),
                });
            }
            Some(Snippet {
                code: dedent(&lines[first as usize..=last_line as usize]),
                first_line: first,
                last_line,
                label: format!("cell at lines {}-{}", first + 1, last_line + 1),
            })
        }
    }
}

/// Lines of marker comments (`# %%` by default).
pub fn cell_markers(text: &str, cell_marker: &Regex) -> Vec<u32> {
    text.split('\n')
        .enumerate()
        .filter(|(_, line)| cell_marker.is_match(trim_cr(line)))
        .map(|(i, _)| i as u32)
        .collect()
}

/// The cell holding `line`: from after the marker at or above it (or the top) to before the
/// next marker (or the end). A line on a marker belongs to the cell that marker starts.
fn cell_at(lines: &[&str], line: u32, cell_marker: &Regex) -> (u32, u32) {
    let is_marker = |i: usize| cell_marker.is_match(trim_cr(lines[i]));
    let mut first = 0u32;
    for i in (0..=line as usize).rev() {
        if is_marker(i) {
            first = i as u32 + 1;
            break;
        }
    }
    let mut last = lines.len() as u32 - 1;
    for (i, _) in lines.iter().enumerate().skip(line as usize + 1) {
        if is_marker(i) {
            last = i as u32 - 1;
            break;
        }
    }
    // Trailing blank lines do not belong to what ran (keeps the status lens tight).
    while last > first && trim_cr(lines[last as usize]).trim().is_empty() {
        last -= 1;
    }
    (first, last)
}

/// A line split on `\n` without the `\r` of a CRLF ending.
pub fn trim_cr(line: &str) -> &str {
    line.strip_suffix('\r').unwrap_or(line)
}

/// Removes the indentation common to all non-blank lines, so a block selected from inside a
/// function runs at top level. Blank lines stay (as empty lines) to keep line numbers.
pub fn dedent(lines: &[&str]) -> String {
    let indent = lines
        .iter()
        .map(|l| trim_cr(l))
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let line = trim_cr(line);
        if i > 0 {
            out.push('\n');
        }
        if line.trim().is_empty() {
            continue;
        }
        // Only strip whitespace bytes; the common indent is ASCII by construction.
        out.push_str(line.get(indent..).unwrap_or(line.trim_start()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_exclude_crlf() {
        assert_eq!(line_ends("ab\r\nc€\r\n"), vec![2, 2, 0]);
        assert_eq!(line_ends("ab\nc"), vec![2, 1]);
        assert_eq!(line_ends("😀\r\n"), vec![2, 0]);
    }

    #[test]
    fn crlf_documents_extract_like_lf_ones() {
        let m = marker();
        for target in [
            Target::Cell(1),
            Target::Range(pos(1, 0), pos(2, 0)),
            Target::Range(pos(1, 0), pos(1, 40)),
        ] {
            let lf = extract("# %%\n  x = 1\n  y = 2\n", target, &m).unwrap();
            let crlf = extract("# %%\r\n  x = 1\r\n  y = 2\r\n", target, &m).unwrap();
            assert_eq!(lf.code, crlf.code, "{target:?}");
            assert!(!crlf.code.contains('\r'), "{target:?}");
            assert_eq!(
                (lf.first_line, lf.last_line),
                (crlf.first_line, crlf.last_line)
            );
        }
    }

    fn marker() -> Regex {
        Regex::new(crate::settings::DEFAULT_CELL_MARKER).unwrap()
    }

    fn pos(line: u32, character: u32) -> Pos {
        Pos { line, character }
    }

    #[test]
    fn exact_text_within_one_line() {
        let s = extract(
            "x = 1 + 2\n",
            Target::Range(pos(0, 4), pos(0, 9)),
            &marker(),
        )
        .unwrap();
        assert_eq!(s.code, "1 + 2");
        assert_eq!((s.first_line, s.last_line), (0, 0));
    }

    #[test]
    fn utf16_columns_with_emoji_cjk_and_combining_marks() {
        let text = "s = '😀漢字é' + 'x'";
        // '😀' is two UTF-16 units; 'é' is e + U+0301 (two chars).
        let start = "s = ".encode_utf16().count() as u32;
        let end = "s = '😀漢字é'".encode_utf16().count() as u32;
        let s = extract(text, Target::Range(pos(0, start), pos(0, end)), &marker()).unwrap();
        assert_eq!(s.code, "'😀漢字é'");
        // A column in the middle of the surrogate pair rounds down, never panics.
        let mid = "s = '".encode_utf16().count() as u32 + 1;
        let s = extract(text, Target::Range(pos(0, mid), pos(0, 200)), &marker()).unwrap();
        assert_eq!(s.code, "😀漢字é' + 'x'");
    }

    #[test]
    fn empty_range_is_the_current_line() {
        let s = extract(
            "a = 1\n  b = 2\n",
            Target::Range(pos(1, 3), pos(1, 3)),
            &marker(),
        )
        .unwrap();
        assert_eq!(s.code, "b = 2");
        assert_eq!(s.first_line, 1);
    }

    #[test]
    fn one_line_ranges_from_the_indentation_run_without_it() {
        let text = "def f():\n    x = 1\n\tif x: y = 2\r\n";
        let run = |sc, ec| {
            let s = extract(text, Target::Range(pos(1, sc), pos(1, ec)), &marker()).unwrap();
            (s.code, s.first_line, s.last_line)
        };
        // The whole line, as Neovim's run-line sends it and as the status lens re-runs it.
        assert_eq!(run(0, 9), ("x = 1".to_owned(), 1, 1));
        assert_eq!(run(0, u32::MAX), ("x = 1".to_owned(), 1, 1));
        assert_eq!(run(2, 9).0, "x = 1");
        assert_eq!(run(4, 9).0, "x = 1");
        // Inside the code: exactly the selection.
        assert_eq!(run(8, 9).0, "1");
        // Only indentation selected: nothing.
        assert_eq!(run(0, 3).0, "");
        let tab = extract(text, Target::Range(pos(2, 0), pos(2, 99)), &marker()).unwrap();
        assert_eq!(tab.code, "if x: y = 2");
    }

    #[test]
    fn a_whole_file_ends_at_its_last_line_of_code() {
        let last = |text: &str| extract(text, Target::File, &marker()).unwrap().last_line;
        assert_eq!(last("print('hi')\n"), 0);
        assert_eq!(last("a = 1\nprint(a)\n\n  \n"), 1);
        assert_eq!(last("a = 1\r\nb = 2\r\n\r\n"), 1);
        assert_eq!(last("no newline"), 0);
        assert_eq!(last(""), 0);
        assert_eq!(last("\n\n"), 0);
        let file = extract("x\n\n", Target::File, &marker()).unwrap();
        assert_eq!(file.code, "x\n\n", "the whole text runs");
    }

    #[test]
    fn multi_line_selection_is_whole_lines_dedented() {
        let text = "def f():\n    x = 1\n    if x:\n        print(x)\n";
        let s = extract(text, Target::Range(pos(1, 6), pos(3, 3)), &marker()).unwrap();
        assert_eq!(s.code, "x = 1\nif x:\n    print(x)");
        assert_eq!((s.first_line, s.last_line), (1, 3));
        assert_eq!(s.document_line(3), Some(3));
        assert_eq!(s.document_line(4), None);
    }

    #[test]
    fn selection_ending_at_column_zero_excludes_that_line() {
        let text = "a = 1\nb = 2\nc = 3\n";
        let s = extract(text, Target::Range(pos(0, 0), pos(2, 0)), &marker()).unwrap();
        assert_eq!(s.code, "a = 1\nb = 2");
        assert_eq!(s.last_line, 1);
    }

    #[test]
    fn ranges_past_the_end_are_clamped() {
        let s = extract("a = 1", Target::Range(pos(0, 0), pos(99, 99)), &marker()).unwrap();
        assert_eq!(s.code, "a = 1");
        let s = extract(
            "a = 1",
            Target::Range(pos(u32::MAX, 5), pos(u32::MAX, 5)),
            &marker(),
        )
        .unwrap();
        assert_eq!(s.code, "a = 1");
    }

    #[test]
    fn cells_between_markers() {
        let text = "import os\n# %%\nx = 1\ny = 2\n\n# %% second\nprint(x)\n";
        let first = extract(text, Target::Cell(0), &marker()).unwrap();
        assert_eq!(first.code, "import os");
        let cell = extract(text, Target::Cell(3), &marker()).unwrap();
        assert_eq!(cell.code, "x = 1\ny = 2");
        assert_eq!((cell.first_line, cell.last_line), (2, 3));
        let on_marker = extract(text, Target::Cell(5), &marker()).unwrap();
        assert_eq!(on_marker.code, "print(x)");
        assert_eq!(on_marker.first_line, 6);
        assert_eq!(cell_markers(text, &marker()), vec![1, 5]);
    }

    #[test]
    fn jupyter_and_javascript_markers() {
        let text = "#%% [markdown]\n// %%\n    # %%\nx";
        assert_eq!(cell_markers(text, &marker()), vec![0, 1, 2]);
    }

    #[test]
    fn crlf_documents() {
        let text = "a = 1\r\nb = 2\r\n";
        let s = extract(text, Target::Range(pos(0, 0), pos(1, 5)), &marker()).unwrap();
        assert_eq!(s.code, "a = 1\nb = 2");
    }
}
