//! Reads the failure out of a run's stderr: plain CPython tracebacks (`File "<string>", line N`),
//! IPython/Jupyter ones as the Azure Python pools produce them (`Cell In[3], line 2`, `----> 2`,
//! `Input In [3]`, ANSI colours) and Node stacks (`evalmachine.<anonymous>:3`, `<anonymous>:3:5`).

use std::sync::LazyLock;

use regex::Regex;

/// One frame of a traceback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// 1-based line within the code that ran, when the frame lies in it.
    pub code_line: Option<u32>,
    /// The frame as printed (file and function), for related information.
    pub description: String,
}

/// The error a failed run reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `ZeroDivisionError`, `TypeError`, `Timeout`, …
    pub kind: String,
    pub message: String,
    /// Outermost first, innermost last.
    pub frames: Vec<Frame>,
}

impl Failure {
    /// The innermost frame that lies in the code that ran.
    pub fn innermost_code_line(&self) -> Option<u32> {
        self.frames.iter().rev().find_map(|f| f.code_line)
    }
}

static ANSI: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").expect("valid"));
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
static PY_ERROR_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?::\s?(.*))?$")
        .expect("valid")
});
static NODE_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*at (?:(.*?) \()?(evalmachine\.<anonymous>|<anonymous>|[^():]+\.(?:js|mjs|cjs)|\[eval\]|[^():]*):(\d+)(?::(\d+))?\)?\s*$").expect("valid")
});
static NODE_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(evalmachine\.<anonymous>|<anonymous>|\[eval\]):(\d+)\s*$").expect("valid")
});
static NODE_ERROR_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:Uncaught )?([A-Za-z_$][\w$]*(?:Error|Exception)|Error)(?:\s*\[[^\]]*\])?(?::\s?(.*))?$").expect("valid")
});

pub fn strip_ansi(text: &str) -> String {
    ANSI.replace_all(text, "").into_owned()
}

/// Reads a failure from stderr. `code` is what the run sent: frames that point past its end,
/// or into a function it does not define (code of an earlier run), are not lines of this run.
pub fn parse(stderr: &str, code: &str) -> Failure {
    let code_lines = code.split('\n').count() as u32;
    let ours = |function: Option<&str>| function.is_none_or(|name| defined_in(code, name));
    let clean = strip_ansi(stderr);
    let text = clean.trim_end();
    if text.contains("Traceback (most recent call last)")
        || text.contains("Cell In[")
        || text.contains("Cell In [")
        || text.contains("Input In [")
        || text.contains("<ipython-input-")
        || PY_FILE_FRAME.is_match(text.lines().next().unwrap_or(""))
        || text.lines().any(|l| PY_FILE_FRAME.is_match(l))
    {
        return parse_python(text, code_lines, &ours);
    }
    if text
        .lines()
        .any(|l| NODE_FRAME.is_match(l) || NODE_HEADER.is_match(l))
    {
        return parse_node(text, code_lines, &ours);
    }
    // No traceback: a timeout, "Execution aborted", or a message of the pool.
    let (kind, message) = if text.contains("timed out") {
        ("Timeout".to_owned(), text.to_owned())
    } else if text == "Execution aborted" {
        (
            "ExecutionAborted".to_owned(),
            "Execution aborted (the session may have run out of memory)".to_owned(),
        )
    } else if let Some((kind, message)) = last_python_error_line(text) {
        (kind, message)
    } else {
        ("Error".to_owned(), first_meaningful_line(text))
    };
    Failure {
        kind,
        message,
        frames: Vec::new(),
    }
}

/// Whether a function named in a frame belongs to the code that ran: module level and
/// comprehensions always do; a named function only if the code defines it.
fn defined_in(code: &str, function: &str) -> bool {
    let name = function
        .trim()
        .trim_end_matches("()")
        .rsplit('.')
        .next()
        .unwrap_or(function)
        .trim();
    if name.is_empty() || name.starts_with('<') || name == "Object" || name.contains("<anonymous>")
    {
        return true;
    }
    let name = regex::escape(name);
    let pattern = format!(
        r"(?m)(^\s*(async\s+)?def\s+{name}\b|^\s*class\s+{name}\b|function\*?\s+{name}\b|\b{name}\s*[=:]\s*(async\s*)?(function|\(|[A-Za-z_$][\w$]*\s*=>)|^\s*(async\s+)?{name}\s*\([^)]*\)\s*\{{)"
    );
    Regex::new(&pattern).is_ok_and(|re| re.is_match(code))
}

type Ours<'a> = &'a dyn Fn(Option<&str>) -> bool;

fn parse_python(text: &str, code_lines: u32, ours_fn: Ours<'_>) -> Failure {
    let lines: Vec<&str> = text.lines().collect();
    let current_cell = lines
        .iter()
        .filter_map(|l| IPY_CELL_FRAME.captures(l))
        .filter_map(|c| {
            c.get(1)
                .or(c.get(2))
                .and_then(|m| m.as_str().parse::<u64>().ok())
        })
        .max();
    let in_code = |n: u32| (n >= 1 && n <= code_lines).then_some(n);
    let mut frames = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(c) = PY_FILE_FRAME.captures(line) {
            let file = &c[1];
            let n: u32 = c[2].parse().unwrap_or(0);
            let ours = (matches!(
                file,
                "<string>" | "<stdin>" | "<cell>" | "<input>" | "<module>"
            ) || file.starts_with("<ipython-input-")
                || file.starts_with("/tmp/ipykernel_"))
                && ours_fn(c.get(3).map(|m| m.as_str()));
            frames.push(Frame {
                code_line: if ours { in_code(n) } else { None },
                description: line.trim().to_owned(),
            });
        } else if let Some(c) = IPY_CELL_FRAME.captures(line) {
            let cell = c
                .get(1)
                .or(c.get(2))
                .and_then(|m| m.as_str().parse::<u64>().ok());
            let n: u32 = c[3].parse().unwrap_or(0);
            // Frames from other cells are code from earlier runs.
            let ours = cell == current_cell;
            frames.push(Frame {
                code_line: if ours { in_code(n) } else { None },
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
                code_line: arrow.and_then(in_code),
                description: line.trim().to_owned(),
            });
        }
    }
    let (kind, message) = last_python_error_line(text)
        .unwrap_or_else(|| ("Error".to_owned(), first_meaningful_line(text)));
    Failure {
        kind,
        message,
        frames,
    }
}

/// The `Type: message` line that ends a Python traceback.
fn last_python_error_line(text: &str) -> Option<(String, String)> {
    text.lines()
        .rev()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .take(8)
        .find_map(|line| {
            if line.starts_with(' ') {
                return None;
            }
            let c = PY_ERROR_LINE.captures(line)?;
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

fn parse_node(text: &str, code_lines: u32, ours_fn: Ours<'_>) -> Failure {
    let in_code = |n: u32| (n >= 1 && n <= code_lines).then_some(n);
    let mut frames = Vec::new();
    let mut kind = None;
    let mut message = String::new();
    let mut header_line = None;
    for line in text.lines() {
        if let Some(c) = NODE_FRAME.captures(line) {
            let file = &c[2];
            let n: u32 = c[3].parse().unwrap_or(0);
            let ours = matches!(file, "evalmachine.<anonymous>" | "<anonymous>" | "[eval]")
                && ours_fn(c.get(1).map(|m| m.as_str()));
            frames.push(Frame {
                code_line: if ours { in_code(n) } else { None },
                description: line.trim().to_owned(),
            });
        } else if let Some(c) = NODE_HEADER.captures(line) {
            header_line = c[2].parse::<u32>().ok();
        } else if kind.is_none()
            && let Some(c) = NODE_ERROR_LINE.captures(line.trim())
        {
            kind = Some(c[1].to_owned());
            message = c
                .get(2)
                .map(|m| m.as_str().trim().to_owned())
                .unwrap_or_default();
        }
    }
    // Node prints the innermost frame first; keep outermost first like Python.
    frames.reverse();
    if frames.iter().all(|f| f.code_line.is_none())
        && let Some(n) = header_line.and_then(in_code)
    {
        frames.push(Frame {
            code_line: Some(n),
            description: format!("evalmachine.<anonymous>:{n}"),
        });
    }
    Failure {
        kind: kind.unwrap_or_else(|| "Error".to_owned()),
        message: if message.is_empty() {
            first_meaningful_line(text)
        } else {
            message
        },
        frames,
    }
}

fn first_meaningful_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.chars().all(|c| c == '-'))
        .unwrap_or("the code failed")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpython_string_frames() {
        let stderr = "Traceback (most recent call last):\n  File \"<string>\", line 5, in <module>\n  File \"<string>\", line 2, in f\nZeroDivisionError: division by zero\n";
        let code = "def f():\n    return 1/0\n\n\nf()\n";
        let f = parse(stderr, code);
        assert_eq!(f.kind, "ZeroDivisionError");
        assert_eq!(f.message, "division by zero");
        assert_eq!(f.innermost_code_line(), Some(2));
        assert_eq!(f.frames.len(), 2);
    }

    #[test]
    fn library_frames_are_not_user_lines() {
        let stderr = "Traceback (most recent call last):\n  File \"<stdin>\", line 3, in <module>\n  File \"/usr/lib/python3.11/json/__init__.py\", line 346, in loads\n    return _default_decoder.decode(s)\njson.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n";
        let f = parse(stderr, &"x\n".repeat(3));
        assert_eq!(f.kind, "json.decoder.JSONDecodeError");
        assert_eq!(f.innermost_code_line(), Some(3));
    }

    #[test]
    fn syntax_errors() {
        let stderr = "  File \"<string>\", line 2\n    x = (\n        ^\nSyntaxError: '(' was never closed\n";
        let f = parse(stderr, &"x\n".repeat(3));
        assert_eq!(f.kind, "SyntaxError");
        assert_eq!(f.innermost_code_line(), Some(2));
    }

    const IPYTHON: &str = "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m\n\x1b[0;31mZeroDivisionError\x1b[0m                         Traceback (most recent call last)\nCell \x1b[0;32mIn[3], line 4\x1b[0m\n\x1b[1;32m      2\x1b[0m     \x1b[38;5;28;01mreturn\x1b[39;00m \x1b[38;5;241m1\x1b[39m\n\x1b[0;32m----> 4\x1b[0m g()\n\nCell \x1b[0;32mIn[3], line 2\x1b[0m, in \x1b[0;36mg\x1b[0;34m()\x1b[0m\n\x1b[0;32m----> 2\x1b[0m \x1b[38;5;28;01mreturn\x1b[39;00m \x1b[38;5;241m1\x1b[39m\x1b[38;5;241m/\x1b[39m\x1b[38;5;241m0\x1b[39m\n\n\x1b[0;31mZeroDivisionError\x1b[0m: division by zero";

    #[test]
    fn ipython_with_ansi() {
        let f = parse(IPYTHON, &"x\n".repeat(5));
        assert_eq!(f.kind, "ZeroDivisionError");
        assert_eq!(f.message, "division by zero");
        assert_eq!(f.innermost_code_line(), Some(2));
        assert_eq!(f.frames.len(), 2);
    }

    #[test]
    fn ipython_without_ansi_and_earlier_cells() {
        let plain = strip_ansi(IPYTHON).replace("Cell In[3], line 2", "Cell In[1], line 2");
        let f = parse(&plain, &"x\n".repeat(5));
        // The frame in cell 1 is code of an earlier run: only line 4 of this run is ours.
        assert_eq!(f.innermost_code_line(), Some(4));
        let old = "---------------------------------------------------------------------------\nNameError                                 Traceback (most recent call last)\nInput In [7], in <cell line: 3>()\n      1 a = 1\n----> 3 print(b)\n\nNameError: name 'b' is not defined";
        let f = parse(old, &"x\n".repeat(3));
        assert_eq!(f.kind, "NameError");
        assert_eq!(f.innermost_code_line(), Some(3));
        let older = "<ipython-input-2-4d3c1a> in <module>\n      1 x = 1\n----> 2 1/0\n\nZeroDivisionError: division by zero";
        assert_eq!(
            parse(older, &"x\n".repeat(2)).innermost_code_line(),
            Some(2)
        );
    }

    #[test]
    fn ipython_input_in_with_line() {
        let text = "Input In [7], line 3\n    print(b\n          ^\nSyntaxError: unexpected EOF while parsing";
        let f = parse(text, &"x\n".repeat(3));
        assert_eq!(f.kind, "SyntaxError");
        assert_eq!(f.innermost_code_line(), Some(3));
    }

    #[test]
    fn node_stacks() {
        let stderr = "evalmachine.<anonymous>:3\n  throw new TypeError('bad');\n  ^\n\nTypeError: bad\n    at f (evalmachine.<anonymous>:3:9)\n    at evalmachine.<anonymous>:5:1\n    at Script.runInContext (node:vm:144:12)\n    at Object.runInContext (node:vm:300:6)\n";
        let code = "const a = 1;\nfunction f() {\n  throw new TypeError('bad');\n}\nf();\n";
        let f = parse(stderr, code);
        assert_eq!(f.kind, "TypeError");
        assert_eq!(f.message, "bad");
        assert_eq!(f.innermost_code_line(), Some(3));
        let anon =
            "ReferenceError: x is not defined\n    at <anonymous>:2:5\n    at node:internal/x:1:1";
        let f = parse(anon, &"x\n".repeat(2));
        assert_eq!(f.kind, "ReferenceError");
        assert_eq!(f.innermost_code_line(), Some(2));
    }

    #[test]
    fn functions_of_earlier_runs_are_not_lines_of_this_one() {
        let stderr = "Traceback (most recent call last):\n  File \"<string>\", line 2, in <module>\n  File \"<string>\", line 3, in boom\nZeroDivisionError: division by zero";
        // boom was defined by an earlier run: the user's line is the call.
        assert_eq!(
            parse(stderr, "a = 1\nboom(0)\n").innermost_code_line(),
            Some(2)
        );
        // Defined in this run: the line inside it.
        assert_eq!(
            parse(stderr, "def boom(n):\n    x = n\n    return 1 / n\n").innermost_code_line(),
            Some(3)
        );
        let node = "Error: x\n    at boom (evalmachine.<anonymous>:2:9)\n    at evalmachine.<anonymous>:1:1";
        assert_eq!(parse(node, "boom();\n").innermost_code_line(), Some(1));
        assert_eq!(
            parse(node, "const boom = () => {\n  throw new Error('x');\n};\n")
                .innermost_code_line(),
            Some(2)
        );
    }

    #[test]
    fn pool_messages_without_traceback() {
        let f = parse(
            "Request timed out waiting for code execution to complete",
            &"x\n".repeat(3),
        );
        assert_eq!(f.kind, "Timeout");
        assert!(f.frames.is_empty());
        assert_eq!(parse("Execution aborted", "x\n").kind, "ExecutionAborted");
    }

    #[test]
    fn frames_past_the_sent_code_are_not_mapped() {
        let stderr = "Traceback (most recent call last):\n  File \"<string>\", line 40, in <module>\nValueError: x";
        assert_eq!(parse(stderr, &"x\n".repeat(3)).innermost_code_line(), None);
    }
}
