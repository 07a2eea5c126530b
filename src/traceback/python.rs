//! CPython tracebacks (`File "<run-3>", line 2, in f`) and IPython's (`Cell In[3], line 2`,
//! `Input In [3]`, `<ipython-input-3-…>` with `---->` arrows).

use std::sync::LazyLock;

use regex::Regex;

use super::{Failure, Frame, first_meaningful_line, groups, line_in, names};

static PY_FILE_FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^\s*File "([^"]*)", line (\d+)(?:, in (.*))?"#).expect("valid"));
static IPY_CELL_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:Cell In ?\[(\d+)\]|Input In ?\[(\d+)\]), line (\d+)(?:, in (.*))?")
        .expect("valid")
});
/// Frames whose line is on the following `---->` arrow: old IPython (`<ipython-input-3-…> in f`)
/// and IPython 8.0-8.4 (`Input In [3], in <cell line: 2>()`).
static IPY_ARROW_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:<ipython-input-(\d+)-[0-9a-f]+>|Input In ?\[(\d+)\],) in (.*)")
        .expect("valid")
});
static IPY_ARROW: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^-*> ?(\d+)").expect("valid"));
/// IPython 8's library frames (`File /usr/lib/…/x.py:346, in loads(s)`): never the user's, but
/// they end a frame block like any other frame.
static IPY_LIBRARY_FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*File [^\s].*:\d+, in ").expect("valid"));
static ERROR_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?::\s?(.*))?$")
        .expect("valid")
});

/// File names that many runs share, or that a pool without a `<module>` frame (a thread's
/// traceback) may have given the code: judged by the snippet's names.
const SHARED_FILE: &str = "<string>";
fn legacy_code_file(file: &str) -> bool {
    matches!(
        file,
        "<string>" | "<stdin>" | "<cell>" | "<input>" | "<module>"
    ) || file.starts_with("<ipython-input-")
        || file.starts_with("/tmp/ipykernel_")
}

pub fn looks_like(text: &str) -> bool {
    text.contains("Traceback (most recent call last)")
        || text.contains("Cell In[")
        || text.contains("Cell In [")
        || text.contains("Input In [")
        || text.contains("<ipython-input-")
        || text.lines().any(|l| PY_FILE_FRAME.is_match(l))
}

pub fn parse(text: &str, code: &str) -> Failure {
    let lines: Vec<&str> = text.lines().collect();
    // An exception group: the frames that lead to its innermost sub-exception, and that one's error.
    let selected = groups::select(&lines);
    let (frame_lines, error_lines): (Vec<&str>, Vec<&str>) = match &selected {
        Some(s) => (
            s.context.iter().map(String::as_str).collect(),
            s.leaf.iter().map(String::as_str).collect(),
        ),
        None => (lines.clone(), lines.clone()),
    };
    let frames = frames(&frame_lines, code);
    let error = match selected {
        Some(_) => error_after_frames(&error_lines, true),
        None => error_after_frames(&error_lines, false),
    };
    let (kind, message) = error
        .or_else(|| last_error_line(text))
        .unwrap_or_else(|| ("Error".to_owned(), first_meaningful_line(text)));
    Failure {
        kind,
        message,
        frames,
        others: Vec::new(),
    }
}

/// A `File "…", line N, in f` frame as read, before deciding whether it is the run's.
struct FileFrame<'a> {
    index: usize,
    file: &'a str,
    line: u32,
    function: Option<&'a str>,
    /// Which traceback of a chain it belongs to.
    block: usize,
}

fn frames(lines: &[&str], code: &str) -> Vec<Frame> {
    let current_cell = lines
        .iter()
        .filter_map(|l| IPY_CELL_FRAME.captures(l))
        .filter_map(|c| {
            c.get(1)
                .or(c.get(2))
                .and_then(|m| m.as_str().parse::<u64>().ok())
        })
        .max();
    let mut block = 0;
    let mut file_frames = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if line.contains("Traceback (most recent call last)") {
            block += 1;
        } else if let Some(c) = PY_FILE_FRAME.captures(line) {
            file_frames.push(FileFrame {
                index,
                file: c.get(1).map_or("", |m| m.as_str()),
                line: c[2].parse().unwrap_or(0),
                function: c.get(3).map(|m| m.as_str().trim()),
                block,
            });
        }
    }
    let file_lines = file_frame_lines(&file_frames, code);

    let mut frames = Vec::new();
    let mut next_file_frame = file_frames.iter().zip(file_lines).peekable();
    for (i, line) in lines.iter().enumerate() {
        if let Some((_, code_line)) = next_file_frame.next_if(|(f, _)| f.index == i) {
            frames.push(Frame {
                code_line,
                description: line.trim().to_owned(),
            });
        } else if let Some(c) = IPY_CELL_FRAME.captures(line) {
            let cell = c
                .get(1)
                .or(c.get(2))
                .and_then(|m| m.as_str().parse::<u64>().ok());
            let n: u32 = c[3].parse().unwrap_or(0);
            // Frames from other cells are code from earlier runs.
            frames.push(Frame {
                code_line: (cell == current_cell).then(|| line_in(code, n)).flatten(),
                description: line.trim().to_owned(),
            });
        } else if IPY_ARROW_FRAME.is_match(line) {
            let arrow = lines[i + 1..]
                .iter()
                .take_while(|l| !l.trim().is_empty())
                .find_map(|l| {
                    IPY_ARROW
                        .captures(l.trim_start())
                        .and_then(|a| a[1].parse::<u32>().ok())
                });
            frames.push(Frame {
                code_line: arrow.and_then(|n| line_in(code, n)),
                description: line.trim().to_owned(),
            });
        }
    }
    frames
}

/// The code line of each `File` frame that is the run's own code.
fn file_frame_lines(frames: &[FileFrame<'_>], code: &str) -> Vec<Option<u32>> {
    // The run's top-level code: its outermost `<module>` frame or, for a syntax error of the code
    // itself, the frame that has no function.
    let run_file = frames
        .iter()
        .find(|f| f.function == Some("<module>"))
        .or_else(|| frames.iter().find(|f| f.function.is_none()))
        .map(|f| f.file);
    let mut lines: Vec<Option<u32>> = Vec::with_capacity(frames.len());
    for (i, frame) in frames.iter().enumerate() {
        let ours = match run_file {
            Some(file) if file == frame.file && file != SHARED_FILE => true,
            Some(file) if file == frame.file => shared_frame_is_ours(frames, &lines, i, code),
            Some(_) => false,
            None => legacy_code_file(frame.file) && shared_frame_is_ours(frames, &lines, i, code),
        };
        lines.push(if ours {
            line_in(code, frame.line)
        } else {
            None
        });
    }
    lines
}

/// For a file every run shares (`<string>`): whether frame `i` is this run's code, given the
/// lines already found for the frames before it.
fn shared_frame_is_ours(
    frames: &[FileFrame<'_>],
    found: &[Option<u32>],
    i: usize,
    code: &str,
) -> bool {
    let frame = &frames[i];
    let outer_run_frame = frames[..i]
        .iter()
        .zip(found)
        .any(|(f, line)| f.block == frame.block && line.is_some());
    // The caller, when it is a frame of this run.
    let caller = i
        .checked_sub(1)
        .filter(|&p| frames[p].block == frame.block)
        .and_then(|p| found[p]);
    // Code that the caller's line compiled with eval, exec or compile is `<string>` as well.
    let evaluated = caller.is_some_and(|c| names::calls_eval(code, c));
    match frame.function {
        // Top-level code: the run's, unless the run (or a library it called) compiled it.
        Some("<module>") | None => !outer_run_frame || (caller.is_some() && !evaluated),
        Some(function) => {
            !(frame.line == 1 && evaluated)
                && names::python_function_is_ours(code, function, frame.line, caller)
        }
    }
}

/// The exception after the last frame block: its first line is `Type: message`, the lines after
/// it continue the message (multi-line messages, notes). `leaf` is one sub-exception of a group,
/// which may have no frames at all.
fn error_after_frames(lines: &[&str], leaf: bool) -> Option<(String, String)> {
    let is_frame = |l: &&str| {
        PY_FILE_FRAME.is_match(l)
            || IPY_CELL_FRAME.is_match(l)
            || IPY_ARROW_FRAME.is_match(l)
            || IPY_LIBRARY_FRAME.is_match(l)
    };
    let start = match lines.iter().rposition(is_frame) {
        Some(last) => last + 1,
        None if leaf => 0,
        None => return None,
    };
    let mut rest = lines[start..].iter().map(|l| l.trim_end()).skip_while(|l| {
        l.trim().is_empty()
            || l.starts_with(char::is_whitespace)
            || IPY_ARROW.is_match(l)
            || l.contains("Traceback (most recent call last)")
    });
    let first = rest.next()?;
    let c = ERROR_LINE.captures(first)?;
    let mut message = c
        .get(2)
        .map(|m| m.as_str().trim().to_owned())
        .unwrap_or_default();
    let mut more: Vec<&str> = rest.collect();
    while more.last().is_some_and(|l| l.trim().is_empty()) {
        more.pop();
    }
    for line in more {
        message.push('\n');
        message.push_str(line);
    }
    Some((c[1].to_owned(), message))
}

/// The last `Type: message` line, for text without frames.
pub fn last_error_line(text: &str) -> Option<(String, String)> {
    text.lines()
        .rev()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .take(8)
        .find_map(|line| {
            if line.starts_with(' ') {
                return None;
            }
            let c = ERROR_LINE.captures(line)?;
            let kind = c[1].to_owned();
            let short = kind.rsplit('.').next().unwrap_or(&kind);
            let looks_like_error = short.ends_with("Error")
                || short.ends_with("Exception")
                || short.ends_with("Interrupt")
                || short.ends_with("Exit")
                || short.ends_with("Warning")
                || short == "StopIteration"
                || c.get(2).is_some();
            looks_like_error.then(|| {
                (
                    kind,
                    c.get(2)
                        .map(|m| m.as_str().trim().to_owned())
                        .unwrap_or_default(),
                )
            })
        })
}
