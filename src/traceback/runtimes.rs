//! Runtime errors of compiled and other languages: JVM exceptions (`at Main.f(Main.java:4)`),
//! Go panics (`\t/path/file0.code.go:8 +0x1d`), Rust panics (`panicked at file0.code:4:5:`),
//! Ruby (`file0.code:3:in 'f': msg (NameError)`, `from file0.code:7:in '<main>'`) and .NET
//! (`at Program.Main() in /p/file0.code.cs:line 5`).
//!
//! As for Python and Node, the code's file is the one of the outermost frame (the program's
//! entry), and the innermost frame in it is where the error lands.

use std::sync::LazyLock;

use regex::Regex;

use super::{Failure, Frame, line_in};

fn pattern(text: &str) -> Regex {
    Regex::new(text).unwrap_or_else(|e| panic!("runtime pattern {text}: {e}"))
}

static JVM_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r#"^(?:Exception in thread "[^"]*" |Caused by: )(?P<class>[\w.$]+)(?:: (?P<msg>.*))?$"#)
});
static JVM_FRAME: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\s+at (?P<where>[\w.$<>/]+)\((?P<file>[^:()]+):(?P<line>\d+)\)$"));
static GO_PANIC: LazyLock<Regex> = LazyLock::new(|| pattern(r"^panic: (?P<msg>.+)$"));
static GO_FRAME: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\s+(?P<file>\S+\.go):(?P<line>\d+)(?: \+0x[0-9a-f]+)?$"));
static RUST_PANIC: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^thread '[^']*' panicked at (?:'(?P<old>.*)', )?(?P<file>[^\s:]+):(?P<line>\d+):(?P<col>\d+):?$",
    )
});
static RUBY_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^(?P<file>\S+?):(?P<line>\d+):in [`'](?P<fn>[^']*)': (?P<msg>.*?) \((?P<class>[\w:]+)\)$",
    )
});
static RUBY_FROM: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\s+from (?P<file>\S+?):(?P<line>\d+):in [`'](?P<fn>[^']*)'$"));
static DOTNET_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^(?:Unhandled [Ee]xception[.:]?\s*)?(?:\[ERROR\] FATAL UNHANDLED EXCEPTION: )?(?P<class>System(?:\.\w+)*Exception|\w+(?:\.\w+)*Exception): (?P<msg>.+)$",
    )
});
static DOTNET_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^\s+at (?P<where>.+?) (?:\[0x[0-9a-f]+\] )?in (?P<file>.+?):(?:line )?(?P<line>\d+)\s*$",
    )
});

/// A frame as printed, innermost first as these runtimes print them.
struct Raw {
    file: String,
    line: u32,
    text: String,
}

pub(super) fn looks_like(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_end();
        JVM_HEADER.is_match(l)
            || GO_PANIC.is_match(l)
            || RUST_PANIC.is_match(l)
            || RUBY_ERROR.is_match(l)
            || (DOTNET_HEADER.is_match(l) && text.lines().any(|f| DOTNET_FRAME.is_match(f)))
    })
}

pub(super) fn parse(text: &str, code: &str) -> Failure {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let (kind, message, raw) = read(&lines);
    // The outermost frame is the program's entry: its file is the code's.
    let entry_file = raw.last().map(|f| f.file.clone());
    let frames = raw
        .iter()
        .rev()
        .map(|f| Frame {
            code_line: (Some(&f.file) == entry_file.as_ref())
                .then(|| line_in(code, f.line))
                .flatten(),
            description: f.text.clone(),
        })
        .collect();
    Failure {
        kind,
        message,
        frames,
        others: Vec::new(),
    }
}

/// The error's kind, message and frames (innermost first).
fn read(lines: &[&str]) -> (String, String, Vec<Raw>) {
    let raw_of = |c: &regex::Captures<'_>, text: &str| Raw {
        file: c["file"].to_owned(),
        line: c["line"].parse().unwrap_or(0),
        text: text.trim().to_owned(),
    };
    for (i, line) in lines.iter().enumerate() {
        let rest = &lines[i + 1..];
        if let Some(c) = RUST_PANIC.captures(line) {
            let message = c
                .name("old")
                .map(|m| m.as_str().to_owned())
                .or_else(|| rest.first().map(|m| m.trim().to_owned()))
                .unwrap_or_default();
            return ("panic".into(), message, vec![raw_of(&c, line)]);
        }
        if let Some(c) = GO_PANIC.captures(line) {
            let frames = rest
                .iter()
                .filter_map(|l| GO_FRAME.captures(l).map(|f| raw_of(&f, l)))
                .collect();
            return ("panic".into(), c["msg"].to_owned(), frames);
        }
        if let Some(c) = RUBY_ERROR.captures(line) {
            let mut frames = vec![raw_of(&c, line)];
            frames.extend(
                rest.iter()
                    .filter_map(|l| RUBY_FROM.captures(l).map(|f| raw_of(&f, l))),
            );
            return (c["class"].to_owned(), c["msg"].to_owned(), frames);
        }
        if let Some(c) = JVM_HEADER.captures(line) {
            // The root cause (`Caused by:`) is the last header; its frames follow it.
            let last = lines
                .iter()
                .rposition(|l| l.starts_with("Caused by: ") && JVM_HEADER.is_match(l))
                .unwrap_or(i);
            let c = if last == i {
                c
            } else {
                JVM_HEADER.captures(lines[last]).unwrap_or(c)
            };
            let class = c["class"].rsplit('.').next().unwrap_or_default().to_owned();
            let message = c.name("msg").map_or("", |m| m.as_str()).to_owned();
            let frames = lines[last + 1..]
                .iter()
                .take_while(|l| !l.starts_with("Caused by: "))
                .filter_map(|l| JVM_FRAME.captures(l).map(|f| raw_of(&f, l)))
                .collect();
            return (class, message, frames);
        }
        if let Some(c) = DOTNET_HEADER.captures(line) {
            let frames: Vec<Raw> = rest
                .iter()
                .filter_map(|l| DOTNET_FRAME.captures(l).map(|f| raw_of(&f, l)))
                .collect();
            if !frames.is_empty() {
                let class = c["class"].rsplit('.').next().unwrap_or_default().to_owned();
                return (class, c["msg"].to_owned(), frames);
            }
        }
    }
    (
        "Error".into(),
        super::first_meaningful_line(&lines.join("\n")),
        Vec::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";

    fn check(text: &str, kind: &str, message: &str, line: Option<u32>) {
        assert!(looks_like(text), "{text}");
        let f = parse(text, CODE);
        assert_eq!(f.kind, kind, "{f:?}");
        assert_eq!(f.message, message, "{f:?}");
        assert_eq!(f.innermost_code_line(), line, "{f:?}");
    }

    #[test]
    fn jvm_exceptions_land_on_the_innermost_frame_of_the_code() {
        check(
            "Exception in thread \"main\" java.lang.ArithmeticException: / by zero\n\tat Main.divide(file0.code.java:4)\n\tat Main.main(file0.code.java:8)\n",
            "ArithmeticException",
            "/ by zero",
            Some(4),
        );
        // A library frame innermost: the error lands on the code's call.
        check(
            "Exception in thread \"main\" java.lang.NumberFormatException: For input string: \"x\"\n\tat java.base/java.lang.Integer.parseInt(Integer.java:652)\n\tat Main.main(Main.java:6)\n",
            "NumberFormatException",
            "For input string: \"x\"",
            Some(6),
        );
    }

    #[test]
    fn go_and_rust_panics() {
        check(
            "panic: runtime error: index out of range [5] with length 3\n\ngoroutine 1 [running]:\nmain.get(...)\n\t/piston/jobs/ab/file0.code.go:5\nmain.main()\n\t/piston/jobs/ab/file0.code.go:9 +0x1d\nexit status 2\n",
            "panic",
            "runtime error: index out of range [5] with length 3",
            Some(5),
        );
        check(
            "thread 'main' panicked at file0.code:4:5:\nattempt to divide by zero\nnote: run with `RUST_BACKTRACE=1`\n",
            "panic",
            "attempt to divide by zero",
            Some(4),
        );
        check(
            "thread 'main' panicked at 'boom', src/main.rs:7:9\n",
            "panic",
            "boom",
            Some(7),
        );
    }

    #[test]
    fn ruby_and_dotnet() {
        check(
            "file0.code:3:in 'greet': undefined local variable or method 'nme' for main (NameError)\n\tfrom file0.code:6:in '<main>'\n",
            "NameError",
            "undefined local variable or method 'nme' for main",
            Some(3),
        );
        check(
            "Unhandled exception. System.DivideByZeroException: Attempted to divide by zero.\n   at Program.Main() in /box/file0.code.cs:line 5\n",
            "DivideByZeroException",
            "Attempted to divide by zero.",
            Some(5),
        );
    }
}
