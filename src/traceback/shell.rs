//! Shell errors, as bash writes them for a command run with `bash -c` or from a script file:
//! `bash: line 3: foo: command not found`, `script.sh: line 7: syntax error near …`. The last such
//! line is the error; its line number is a line of the command that ran.

use std::sync::LazyLock;

use regex::Regex;

use super::{Failure, Frame, line_in};

static SHELL_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<file>[^\n]{1,200}?): line (?P<line>\d+): (?P<message>.+)$")
        .unwrap_or_else(|e| panic!("shell error pattern: {e}"))
});

pub fn looks_like(text: &str) -> bool {
    text.lines().any(|l| SHELL_ERROR.is_match(l.trim_end()))
}

pub fn parse(text: &str, code: &str) -> Failure {
    let last = text
        .lines()
        .rev()
        .find_map(|l| SHELL_ERROR.captures(l.trim_end()));
    let Some(found) = last else {
        return super::frameless("Error", text.trim().to_owned());
    };
    let number: u32 = found["line"].parse().unwrap_or(0);
    let message = found["message"].to_owned();
    // `foo: command not found` names its cause first; a syntax error says so.
    let kind = if message.starts_with("syntax error") {
        "SyntaxError"
    } else if message.ends_with("command not found") {
        "CommandNotFound"
    } else {
        "ShellError"
    };
    Failure {
        kind: kind.to_owned(),
        message,
        frames: vec![Frame {
            code_line: line_in(code, number),
            description: format!("{}: line {number}", &found["file"]),
        }],
        others: Vec::new(),
    }
}
