//! Compiler diagnostics: gcc and clang (`file:line:col: error: …`), rustc (`error[E0425]: …` then
//! `--> file:line:col`), Go (`./file.go:line:col: …`), javac (`File.java:line: error: …`), C# and
//! tsc (`file(line,col): error CS1002: …`, `file:line:col - error TS2322: …`), Ruby
//! (`file:line: syntax error …`) and PHP (`PHP Parse error: … in file on line N`).
//!
//! Every error of the compile becomes a diagnostic. The code's file is the one the errors name
//! first, unless that is a system header or library: Piston names its entry file `file0.code`
//! (and gcc's script adds `.c`/`.cpp`), other adapters `main.cpp` or `Main.java`.

use std::sync::LazyLock;

use regex::Regex;

use super::{Failure, Frame, Located, line_in};

/// One diagnostic of a compiler, as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Diagnostic {
    pub file: String,
    pub line: u32,
    pub error: bool,
    pub message: String,
}

fn pattern(text: &str) -> Regex {
    Regex::new(text).unwrap_or_else(|e| panic!("compiler pattern {text}: {e}"))
}

/// gcc, clang, Go, javac, Ruby's syntax errors: `file:line[:col]: [severity: ]message`.
static COLON: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^(?P<file>[^\s:][^:]{0,300}?):(?P<line>\d+):(?:(?P<col>\d+):)? (?:(?P<sev>fatal error|error|warning|note|syntax error)(?:\[[^\]]*\])?: ?|(?P<ruby>syntax errors? found|syntax error,))?(?P<msg>.*)$",
    )
});
/// rustc's header (`error[E0425]: cannot find …`); the location follows on a `-->` line.
static RUST_HEADER: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^(?P<sev>error|warning)(?:\[(?P<code>E\d+)\])?: (?P<msg>.+)$"));
static RUST_LOCATION: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\s*--> (?P<file>.+?):(?P<line>\d+):(?P<col>\d+)$"));
/// C# (mcs, csc, dotnet) and tsc: `file(line,col): error CS1002: ; expected`.
static PAREN: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^(?P<file>.+?)\((?P<line>\d+),(?P<col>\d+)\): (?P<sev>error|warning) (?P<code>[A-Z]+\d+): (?P<msg>.+?)(?: \[[^\]]*\])?$",
    )
});
/// tsc's pretty form: `file.ts:3:5 - error TS2322: …`.
static TSC_PRETTY: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+) - (?P<sev>error|warning) (?P<code>TS\d+): (?P<msg>.+)$",
    )
});
/// PHP: `PHP Parse error:  syntax error, … in /path/file0.code on line 3`, or `…:3`.
static PHP: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^(?:PHP )?(?P<sev>Parse error|Fatal error|Warning|Notice|Deprecated):\s+(?P<msg>.+?) in (?P<file>\S+?)(?: on line |:)(?P<line>\d+)$",
    )
});

/// Reads every diagnostic a compiler printed.
pub(super) fn diagnostics(text: &str) -> Vec<Diagnostic> {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(c) = RUST_HEADER.captures(line) {
            // The location is on one of the next lines (`  --> file0.code:3:13`).
            let location = lines
                .iter()
                .skip(i + 1)
                .take(3)
                .find_map(|l| RUST_LOCATION.captures(l));
            if let Some(at) = location {
                let message = match c.name("code") {
                    Some(code) => format!("{} [{}]", &c["msg"], code.as_str()),
                    None => c["msg"].to_owned(),
                };
                found.push(Diagnostic {
                    file: at["file"].to_owned(),
                    line: at["line"].parse().unwrap_or(0),
                    error: &c["sev"] == "error",
                    message,
                });
            }
            continue;
        }
        let captures = PAREN
            .captures(line)
            .or_else(|| TSC_PRETTY.captures(line))
            .map(|c| (c, true))
            .or_else(|| PHP.captures(line).map(|c| (c, false)));
        if let Some((c, coded)) = captures {
            let severity = c["sev"].to_ascii_lowercase();
            let message = if coded {
                format!("{} [{}]", &c["msg"], &c["code"])
            } else {
                c["msg"].trim().to_owned()
            };
            found.push(Diagnostic {
                file: c["file"].to_owned(),
                line: c["line"].parse().unwrap_or(0),
                error: severity.contains("error"),
                message,
            });
            continue;
        }
        if let Some(c) = COLON.captures(line) {
            let file = &c["file"];
            let severity = c.name("sev").map(|s| s.as_str());
            let ruby = c.name("ruby").map(|s| s.as_str());
            // Go prints no severity, only for .go files; anything else needs one.
            let error = match (severity, ruby) {
                (Some("warning" | "note"), _) => false,
                (Some(_), _) | (_, Some(_)) => true,
                (None, None) if file.ends_with(".go") => true,
                (None, None) => continue,
            };
            if severity == Some("note") {
                continue;
            }
            let message = match (severity, ruby) {
                (Some("syntax error"), _) => format!("syntax error: {}", &c["msg"]),
                (_, Some(r)) => format!("{} {}", r.trim_end_matches(','), &c["msg"]),
                _ => c["msg"].to_owned(),
            };
            found.push(Diagnostic {
                file: file.to_owned(),
                line: c["line"].parse().unwrap_or(0),
                error,
                message: message.trim().to_owned(),
            });
        }
    }
    found
}

/// Whether stderr holds a compiler's error.
pub(super) fn looks_like(text: &str) -> bool {
    diagnostics(text).iter().any(|d| d.error)
}

/// A path of the system or of a library, not the code that ran.
pub(super) fn is_library(file: &str) -> bool {
    let file = file.replace('\\', "/");
    [
        "/usr/",
        "/opt/",
        "/lib/",
        "/rustc/",
        "/.cargo/",
        "/.rustup/",
        "/go/src/",
        "/jdk",
        "<",
    ]
    .iter()
    .any(|p| file.starts_with(p) || (p.starts_with('/') && file.contains(&p[..])))
}

/// The file that holds the code that ran, among those named: Piston's entry file
/// (`file0.code…`), else the first that is not the system's.
pub(super) fn code_file<'a>(files: impl Iterator<Item = &'a str> + Clone) -> Option<&'a str> {
    let base = |f: &str| f.rsplit(['/', '\\']).next().unwrap_or(f).to_owned();
    files
        .clone()
        .find(|f| base(f).starts_with("file0.code"))
        .or_else(|| files.clone().find(|f| !is_library(f)))
}

pub(super) fn parse(text: &str, code: &str) -> Failure {
    let all = diagnostics(text);
    let errors: Vec<&Diagnostic> = all.iter().filter(|d| d.error).collect();
    let ours = code_file(errors.iter().map(|d| d.file.as_str()));
    let mut located = errors
        .iter()
        .filter(|d| Some(d.file.as_str()) == ours)
        .filter_map(|d| Some((line_in(code, d.line)?, *d)));
    let first = errors.first();
    let (kind, message) = match first {
        Some(d) => ("CompileError".to_owned(), d.message.clone()),
        None => (
            "CompileError".to_owned(),
            super::first_meaningful_line(text),
        ),
    };
    let Some((line, d)) = located.next() else {
        return Failure {
            kind,
            message,
            frames: Vec::new(),
            others: Vec::new(),
        };
    };
    let others = located
        .filter(|(n, other)| (*n, &other.message) != (line, &d.message))
        .map(|(code_line, d)| Located {
            code_line,
            message: d.message.clone(),
        })
        .collect();
    Failure {
        kind,
        message: d.message.clone(),
        frames: vec![Frame {
            code_line: Some(line),
            description: format!("{}:{}", d.file, d.line),
        }],
        others,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";

    fn lines(f: &Failure) -> Vec<u32> {
        f.frames
            .iter()
            .filter_map(|f| f.code_line)
            .chain(f.others.iter().map(|o| o.code_line))
            .collect()
    }

    #[test]
    fn gcc_and_clang_every_error_on_its_line() {
        let stderr = "file0.code.cpp: In function 'int main()':\nfile0.code.cpp:3:5: error: 'cout' was not declared in this scope\n    3 |     cout << x;\n      |     ^~~~\nfile0.code.cpp:3:5: note: suggested alternative: 'std::cout'\nfile0.code.cpp:5:12: warning: unused variable 'y' [-Wunused-variable]\nfile0.code.cpp:7:1: error: expected ';' before '}' token\n";
        assert!(looks_like(stderr));
        let f = parse(stderr, CODE);
        assert_eq!(f.kind, "CompileError");
        assert_eq!(f.message, "'cout' was not declared in this scope");
        assert_eq!(lines(&f), [3, 7]);
        assert_eq!(f.others[0].message, "expected ';' before '}' token");
    }

    #[test]
    fn errors_in_system_headers_are_not_lines_of_the_code() {
        let stderr = "In file included from /usr/include/c++/12/vector:63,\n/usr/include/c++/12/bits/stl_vector.h:5:3: error: no match for 'operator='\nmain.cpp:4:9: error: 'z' was not declared in this scope\n";
        let f = parse(stderr, CODE);
        assert_eq!(lines(&f), [4]);
    }

    #[test]
    fn rustc_errors_with_codes() {
        let stderr = "error[E0425]: cannot find value `x` in this scope\n --> file0.code:3:13\n  |\n3 |     let y = x + 1;\n  |             ^ not found in this scope\n\nwarning: unused variable: `y`\n --> file0.code:3:9\n\nerror[E0308]: mismatched types\n --> file0.code:6:18\n\nerror: aborting due to 2 previous errors\n";
        assert!(looks_like(stderr));
        let f = parse(stderr, CODE);
        assert_eq!(f.message, "cannot find value `x` in this scope [E0425]");
        assert_eq!(lines(&f), [3, 6]);
    }

    #[test]
    fn go_javac_csharp_typescript_ruby_php() {
        let go = "# command-line-arguments\n./file0.code.go:5:2: undefined: x\n./file0.code.go:8:9: missing return\n";
        assert_eq!(lines(&parse(go, CODE)), [5, 8]);
        let javac = "file0.code.java:4: error: ';' expected\n        int x = 1\n                 ^\n1 error\nerror: compilation failed\n";
        let f = parse(javac, CODE);
        assert_eq!((f.message.as_str(), lines(&f)), ("';' expected", vec![4]));
        let csharp = "file0.code.cs(6,20): error CS1002: ; expected\nCompilation failed: 1 error(s), 0 warnings\n";
        let f = parse(csharp, CODE);
        assert_eq!(
            (f.message.as_str(), lines(&f)),
            ("; expected [CS1002]", vec![6])
        );
        let tsc = "file0.code.ts(2,7): error TS2322: Type 'string' is not assignable to type 'number'.\nfile0.code.ts:9:1 - error TS2304: Cannot find name 'foo'.\n";
        assert_eq!(lines(&parse(tsc, CODE)), [2, 9]);
        let ruby = "file0.code:3: syntax error, unexpected end-of-input, expecting `end'\n";
        let f = parse(ruby, CODE);
        assert_eq!(lines(&f), [3]);
        assert!(
            f.message.contains("unexpected end-of-input"),
            "{}",
            f.message
        );
        let php = "PHP Parse error:  syntax error, unexpected token \"}\" in /piston/jobs/1f2e/file0.code on line 5\n";
        let f = parse(php, CODE);
        assert_eq!(lines(&f), [5]);
        assert_eq!(f.message, "syntax error, unexpected token \"}\"");
    }

    #[test]
    fn lines_beyond_the_code_and_plain_text_are_not_errors() {
        assert!(!looks_like("hello: world\n"));
        assert!(!looks_like("warning: unused\n"));
        assert!(!looks_like("main.cpp:3:5: warning: unused variable\n"));
        let f = parse("file0.code.c:40:1: error: expected '}'\n", CODE);
        assert_eq!(f.message, "expected '}'");
        assert!(lines(&f).is_empty(), "line 40 is past the code");
    }
}
