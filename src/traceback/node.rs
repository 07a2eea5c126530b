//! Node stacks: `Type: message` followed by `at f (file:line:col)` frames, innermost first, and
//! for errors thrown out of a script, a `file:line` header with the source line and a caret.

use std::sync::LazyLock;

use regex::Regex;

use super::{Failure, Frame, first_meaningful_line, line_in, names};

/// `at f (file:3:9)`, `at new Foo (…)`, `at async f (…)`, `at Object.<anonymous> (…)`.
static CALL_FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*at (.+?) \(([^():]+):(\d+)(?::\d+)?\)\s*$").expect("valid"));
/// `at file:5:1` and `at async file:5:1`: top-level code or an anonymous function.
static BARE_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*at (async )?([^():\s][^():]*):(\d+)(?::\d+)?\s*$").expect("valid")
});
static HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^\s():]+):(\d+)\s*$").expect("valid"));
static CARET: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*\^+\s*$").expect("valid"));
static ERROR_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:Uncaught )?([A-Za-z_$][\w$]*(?:Error|Exception)|Error)(?:\s*\[[^\]]*\])?(?::\s?(.*))?$").expect("valid")
});

/// Names every run of a pool shares: frames of them need the name heuristics.
fn shared_file(file: &str) -> bool {
    matches!(file, "evalmachine.<anonymous>" | "<anonymous>" | "[eval]")
}

pub fn looks_like(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    (0..lines.len()).any(|i| is_frame(lines[i]) || header_at(&lines, i).is_some())
}

fn is_frame(line: &str) -> bool {
    CALL_FRAME.is_match(line) || BARE_FRAME.is_match(line)
}

/// The `file:line` header that Node puts above the source line and caret of a thrown error.
fn header_at<'a>(lines: &[&'a str], i: usize) -> Option<(&'a str, u32)> {
    let c = HEADER.captures(lines[i])?;
    let caret = lines[i + 1..].iter().take(3).any(|l| CARET.is_match(l));
    caret.then(|| {
        (
            c.get(1).map_or("", |m| m.as_str()),
            c[2].parse().unwrap_or(0),
        )
    })
}

struct RawFrame<'a> {
    /// `None` for top-level code and anonymous functions.
    function: Option<&'a str>,
    file: &'a str,
    line: u32,
    text: &'a str,
}

impl RawFrame<'_> {
    /// The frame of a script's top level (or a CommonJS module's).
    fn top_level(&self) -> bool {
        self.function.is_none_or(|f| f == "Object.<anonymous>")
    }
}

#[derive(Default)]
struct Block<'a> {
    header: Option<(&'a str, u32)>,
    error: Option<(String, String)>,
    frames: Vec<RawFrame<'a>>,
}

pub fn parse(text: &str, code: &str) -> Failure {
    let lines: Vec<&str> = text.lines().collect();
    // Each error line starts a block; a header belongs to the error after it.
    let mut blocks: Vec<Block<'_>> = Vec::new();
    let mut header = None;
    for (i, &line) in lines.iter().enumerate() {
        if let Some(c) = CALL_FRAME.captures(line) {
            if blocks.is_empty() {
                blocks.push(Block::default());
            }
            push_frame(
                &mut blocks,
                Some(c.get(1).map_or("", |m| m.as_str())),
                &c,
                line,
            );
        } else if let Some(c) = BARE_FRAME.captures(line) {
            if blocks.is_empty() {
                blocks.push(Block::default());
            }
            let file = c.get(2).map_or("", |m| m.as_str());
            let n = c[3].parse().unwrap_or(0);
            if let Some(block) = blocks.last_mut() {
                block.frames.push(RawFrame {
                    function: None,
                    file,
                    line: n,
                    text: line,
                });
            }
        } else if let Some(found) = header_at(&lines, i) {
            header = Some(found);
        } else if let Some(c) = ERROR_LINE.captures(line.trim()) {
            blocks.push(Block {
                header: header.take(),
                error: Some((
                    c[1].to_owned(),
                    c.get(2)
                        .map(|m| m.as_str().trim().to_owned())
                        .unwrap_or_default(),
                )),
                frames: Vec::new(),
            });
        }
    }
    if let Some(header) = header.take() {
        blocks.push(Block {
            header: Some(header),
            ..Block::default()
        });
    }
    // The error that belongs to the last stack wins: earlier ones were logged, or caught.
    let chosen = blocks
        .iter()
        .rposition(|b| !b.frames.is_empty())
        .or_else(|| blocks.iter().rposition(|b| b.header.is_some()))
        .or_else(|| blocks.len().checked_sub(1));
    let Some(block) = chosen.map(|i| &blocks[i]) else {
        return Failure {
            kind: "Error".to_owned(),
            message: first_meaningful_line(text),
            frames: Vec::new(),
            others: Vec::new(),
        };
    };

    // The run's file: that of its top-level frame, the outermost one.
    let run_file = block
        .frames
        .iter()
        .rev()
        .find(|f| f.top_level())
        .map(|f| f.file);
    let ours = |file: &str, function: Option<&str>| {
        let named_ok = || function.is_none_or(|name| names::js_function_is_ours(code, name));
        match run_file {
            Some(run) if run == file => !shared_file(run) || named_ok(),
            Some(_) => false,
            None => shared_file(file) && named_ok(),
        }
    };
    // Node prints the innermost frame first; keep outermost first like Python.
    let mut frames: Vec<Frame> = block
        .frames
        .iter()
        .rev()
        .map(|f| Frame {
            code_line: if ours(f.file, f.function) {
                line_in(code, f.line)
            } else {
                None
            },
            description: f.text.trim().to_owned(),
        })
        .collect();
    // A syntax error has no frames of the code: the header says where.
    if frames.iter().all(|f| f.code_line.is_none())
        && let Some((file, n)) = block.header
    {
        let this_run = match run_file {
            Some(run) => run == file,
            None => block.frames.is_empty() || shared_file(file),
        };
        if let Some(n) = line_in(code, n).filter(|_| this_run) {
            frames.push(Frame {
                code_line: Some(n),
                description: format!("{file}:{n}"),
            });
        }
    }
    let (kind, message) = block.error.clone().unwrap_or_default();
    Failure {
        kind: if kind.is_empty() {
            "Error".to_owned()
        } else {
            kind
        },
        message: if message.is_empty() {
            first_meaningful_line(text)
        } else {
            message
        },
        frames,
        others: Vec::new(),
    }
}

fn push_frame<'a>(
    blocks: &mut [Block<'a>],
    function: Option<&'a str>,
    c: &regex::Captures<'a>,
    line: &'a str,
) {
    let function = function.map(|f| f.trim()).filter(|f| !f.is_empty());
    // `at async f (…)` is f awaiting; `at async <file>` has no name: top level.
    let function = function.map(|f| f.strip_prefix("async ").unwrap_or(f));
    if let Some(block) = blocks.last_mut() {
        block.frames.push(RawFrame {
            function,
            file: c.get(2).map_or("", |m| m.as_str()),
            line: c[3].parse().unwrap_or(0),
            text: line,
        });
    }
}
