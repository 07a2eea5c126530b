//! Reads the failure out of a run's stderr: plain CPython tracebacks (`File "<run-3>", line N`),
//! IPython/Jupyter ones as the Azure Python pools produce them (`Cell In[3], line 2`, `----> 2`,
//! `Input In [3]`, ANSI colours), Python 3.11 exception groups, and Node stacks
//! (`evalmachine.<anonymous>:3`, `at f (<run-3>:3:5)`), the runtime errors of the JVM, Go, Rust,
//! Ruby and .NET (`runtimes`), and compiler diagnostics of gcc/clang, rustc, Go, javac, C#, tsc,
//! Ruby and PHP (`compilers`: every error of a compile, each on its line).
//!
//! Which frames are the run's own code: those of the file that holds the run's top-level frame
//! (Python's outermost `<module>` frame, Node's top-level script frame). The local pool compiles
//! each run under its own name (`<run-17>`), as a Piston-style pool runs an entry file, so frames
//! of other files are earlier runs, eval/exec, or libraries. Pools that compile every run under one
//! shared name (`<string>`, `evalmachine.<anonymous>`) also get the name heuristics of `names`.

mod compilers;
mod groups;
mod names;
mod node;
mod python;
mod runtimes;
mod shell;

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::pool::{EARLIER_OUTPUT_BEGIN, EARLIER_OUTPUT_END};

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
    /// Further errors at other lines of the code, each its own diagnostic: every error of a
    /// compile, not only the first.
    pub others: Vec<Located>,
}

/// An error at a line of the code that ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// 1-based line within the code that ran.
    pub code_line: u32,
    pub message: String,
}

impl Failure {
    /// The innermost frame that lies in the code that ran.
    pub fn innermost_code_line(&self) -> Option<u32> {
        self.frames.iter().rev().find_map(|f| f.code_line)
    }
}

static ANSI: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").expect("valid"));

pub fn strip_ansi(text: &str) -> String {
    ANSI.replace_all(text, "").into_owned()
}

/// Reads a failure from stderr. `code` is what the run sent: frames that point past its end, or
/// into code that is not this run's, are not lines of this run.
pub fn parse(stderr: &str, code: &str) -> Failure {
    let clean = strip_ansi(stderr);
    let own = without_earlier_output(&clean);
    let text = own.trim_end();
    // The pool appends its timeout message to whatever the code wrote before.
    if let Some(last) = text.lines().rev().map(str::trim).find(|l| !l.is_empty())
        && last.starts_with("Request timed out")
    {
        return frameless("Timeout", last.to_owned());
    }
    if python::looks_like(text) {
        return python::parse(text, code);
    }
    if node::looks_like(text) {
        return node::parse(text, code);
    }
    if runtimes::looks_like(text) {
        return runtimes::parse(text, code);
    }
    if compilers::looks_like(text) {
        return compilers::parse(text, code);
    }
    if shell::looks_like(text) {
        return shell::parse(text, code);
    }
    // No traceback: a timeout, "Execution aborted", or a message of the pool.
    if let Some(line) = text.lines().rev().find(|l| l.contains("timed out")) {
        frameless("Timeout", line.trim().to_owned())
    } else if text == "Execution aborted" {
        frameless(
            "ExecutionAborted",
            "Execution aborted (the session may have run out of memory)".to_owned(),
        )
    } else if let Some((kind, message)) = python::last_error_line(text) {
        Failure {
            kind,
            message,
            frames: Vec::new(),
            others: Vec::new(),
        }
    } else {
        frameless("Error", first_meaningful_line(text))
    }
}

fn frameless(kind: &str, message: String) -> Failure {
    Failure {
        kind: kind.to_owned(),
        message,
        frames: Vec::new(),
        others: Vec::new(),
    }
}

/// Drops what the local pool labelled as output of earlier background work: that output came
/// before this run's own and its errors are not this run's.
fn without_earlier_output(text: &str) -> Cow<'_, str> {
    if !text.contains(EARLIER_OUTPUT_BEGIN) {
        return Cow::Borrowed(text);
    }
    let mut kept = String::with_capacity(text.len());
    let mut skipping = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == EARLIER_OUTPUT_BEGIN {
            skipping = true;
        } else if skipping {
            skipping = bare != EARLIER_OUTPUT_END;
        } else {
            kept.push_str(line);
        }
    }
    Cow::Owned(kept)
}

/// `n` as a line of the code that ran, if it is one.
fn line_in(code: &str, n: u32) -> Option<u32> {
    let lines = code.split('\n').count() as u32;
    (n >= 1 && n <= lines).then_some(n)
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
    fn shell_errors_land_on_their_line() {
        let code = "echo start\ncd /nowhere\nnosuchcommand --flag\necho end\n";
        let f = parse(
            "start\nbash: line 2: cd: /nowhere: No such file or directory\nbash: line 3: nosuchcommand: command not found\n",
            code,
        );
        assert_eq!(f.kind, "CommandNotFound");
        assert_eq!(f.innermost_code_line(), Some(3));
        let syntax = parse(
            "bash: -c: line 2: syntax error: unexpected end of file\n",
            "if true; then\n",
        );
        assert_eq!(syntax.kind, "SyntaxError");
        assert_eq!(syntax.innermost_code_line(), Some(2));
    }

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

    // F7: each run of the local pool compiles as its own file; the run's code is the file of
    // its `<module>` frame, other `<run-N>` files are earlier runs.
    #[test]
    fn compiled_languages_are_read_by_their_own_parsers() {
        let code = "#include <stdio.h>\nint main() {\n  printf(\"%d\", x);\n  return 0\n}\n";
        let gcc = "file0.code.c: In function 'main':\nfile0.code.c:3:17: error: 'x' undeclared (first use in this function)\nfile0.code.c:4:11: error: expected ';' before '}' token\n";
        let f = parse(gcc, code);
        assert_eq!(
            (f.kind.as_str(), f.innermost_code_line()),
            ("CompileError", Some(3))
        );
        assert_eq!(f.others.len(), 1);
        assert_eq!(f.others[0].code_line, 4);
        let java = "Exception in thread \"main\" java.lang.IllegalStateException: no\n\tat Main.main(file0.code.java:2)\n";
        assert_eq!(parse(java, code).kind, "IllegalStateException");
        // Python and Node keep theirs, compile-looking text in a message notwithstanding.
        let python = "Traceback (most recent call last):\n  File \"<run-1>\", line 2, in <module>\nValueError: main.c:3:4: error: nope";
        assert_eq!(parse(python, "a\nb\n").kind, "ValueError");
    }

    #[test]
    fn the_file_of_the_module_frame_is_the_runs_code() {
        let code = "class B:\n    def __init__(self):\n        pass\n\nA()\n";
        let stderr = "Traceback (most recent call last):\n  File \"<run-4>\", line 5, in <module>\n    A()\n  File \"<run-2>\", line 3, in __init__\n    raise ValueError('in A')\nValueError: in A";
        let f = parse(stderr, code);
        assert_eq!(f.kind, "ValueError");
        assert_eq!(f.innermost_code_line(), Some(5));
        // eval/exec/compile frames are `<string>`: not the run's file.
        let eval = "Traceback (most recent call last):\n  File \"<run-7>\", line 3, in <module>\n    eval('1 +')\n  File \"<string>\", line 1\n    1 +\n       ^\nSyntaxError: invalid syntax";
        assert_eq!(
            parse(eval, "a = 1\nb = 2\neval('1 +')\n").innermost_code_line(),
            Some(3)
        );
        // A syntax error of the run itself has no `<module>` frame.
        let syntax =
            "  File \"<run-3>\", line 2\n    y = = 2\n        ^\nSyntaxError: invalid syntax";
        assert_eq!(
            parse(syntax, "x = 1\ny = = 2\n").innermost_code_line(),
            Some(2)
        );
        // The rule is general: Piston-style entry files.
        let piston = "Traceback (most recent call last):\n  File \"/piston/jobs/5f0c/file0.code\", line 2, in <module>\n    f()\n  File \"/piston/jobs/5f0c/file0.code\", line 1, in f\n    def f(): return 1/0\nZeroDivisionError: division by zero";
        assert_eq!(
            parse(piston, "def f(): return 1/0\nf()\n").innermost_code_line(),
            Some(1)
        );
        let node = "TypeError: x\n    at f (/piston/jobs/5f0c/file0.code:2:9)\n    at Object.<anonymous> (/piston/jobs/5f0c/file0.code:4:1)\n    at Module._compile (node:internal/modules/cjs/loader:1521:14)";
        assert_eq!(
            parse(node, "function f() {\n  null.x;\n}\nf();\n").innermost_code_line(),
            Some(2)
        );
    }

    #[test]
    fn node_runs_of_the_local_pool_have_their_own_file() {
        // `cb` comes from run 1; the throw is reached from line 1 of run 3.
        let stderr = "<run-1>:2\nvar cbs=[()=>null.x];\n                  ^\n\nTypeError: Cannot read properties of null (reading 'x')\n    at Array.cbs (<run-1>:2:19)\n    at <run-3>:1:7";
        assert_eq!(
            parse(stderr, "cbs[0]();\n// two\n").innermost_code_line(),
            Some(1)
        );
        let syntax = "<run-5>:2\n)\n^\n\nSyntaxError: Unexpected token ')'";
        let f = parse(syntax, "1 +\n)\n");
        assert_eq!(f.kind, "SyntaxError");
        assert_eq!(f.innermost_code_line(), Some(2));
    }

    // F7: Azure's frames all say `<string>`: the name heuristics, tightened.
    #[test]
    fn shared_string_frames_of_lambdas_eval_and_other_classes_are_not_mapped() {
        // A lambda of an earlier cell, called by sorted() on line 3.
        let lambda = "Traceback (most recent call last):\n  File \"<string>\", line 3, in <module>\n  File \"<string>\", line 1, in <lambda>\nZeroDivisionError: division by zero";
        let code = "print('a')\nprint('b')\nsorted(xs, key=k)\n";
        assert_eq!(parse(lambda, code).innermost_code_line(), Some(3));
        // ... but a lambda of this snippet is its line.
        let own = "ys = [1]\nk = lambda y: 1 / 0\nsorted(ys, key=k)\n";
        let lambda_own = lambda.replace("line 1, in <lambda>", "line 2, in <lambda>");
        assert_eq!(parse(&lambda_own, own).innermost_code_line(), Some(2));
        // A generator expression of an earlier cell.
        let genexpr = lambda.replace("<lambda>", "<genexpr>");
        assert_eq!(parse(&genexpr, code).innermost_code_line(), Some(3));
        // eval('1 +') on line 3: its `<string>` line 1 is not line 1 of the snippet.
        let eval = "Traceback (most recent call last):\n  File \"<string>\", line 3, in <module>\n  File \"<string>\", line 1\n    1 +\n       ^\nSyntaxError: invalid syntax";
        assert_eq!(
            parse(eval, "a = 1\nb = 2\neval('1 +')\n").innermost_code_line(),
            Some(3)
        );
        let exec = "Traceback (most recent call last):\n  File \"<string>\", line 2, in <module>\n  File \"<string>\", line 1, in <module>\nZeroDivisionError: division by zero";
        assert_eq!(
            parse(exec, "a = 1\nexec('1/0')\n").innermost_code_line(),
            Some(2)
        );
        // A pool whose own harness is `<string>` too: the run's `<module>` frame is nested.
        let harness = "Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>\n  File \"<string>\", line 3, in <module>\n  File \"<string>\", line 2, in f\nZeroDivisionError: division by zero";
        assert_eq!(
            parse(harness, "def f():\n    1/0\nf()\n").innermost_code_line(),
            Some(2)
        );
        // Code a library compiled (pandas.eval, …) is not the snippet's either.
        let library = "Traceback (most recent call last):\n  File \"<string>\", line 2, in <module>\n  File \"/usr/lib/python3/site-packages/lib.py\", line 9, in run\n  File \"<string>\", line 1, in <module>\nZeroDivisionError: division by zero";
        assert_eq!(
            parse(library, "import lib\nlib.run('1/0')\n").innermost_code_line(),
            Some(2)
        );
        // A method of class A (an earlier run) while this snippet has only B.__init__.
        let init = "Traceback (most recent call last):\n  File \"<string>\", line 5, in <module>\n  File \"<string>\", line 3, in __init__\nValueError: in A";
        let code = "class B:\n    def __init__(self):\n        pass\n\nA()\n";
        assert_eq!(parse(init, code).innermost_code_line(), Some(5));
        // B() itself is B.__init__.
        let code = "class B:\n    def __init__(self):\n        raise ValueError('in A')\n\nB()\n";
        assert_eq!(parse(init, code).innermost_code_line(), Some(3));
    }

    // F8: the error is the first line after the last frame block; the rest continues the message.
    #[test]
    fn multi_line_messages_and_notes_keep_the_exception_type() {
        let detail = "Traceback (most recent call last):\n  File \"<string>\", line 2, in <module>\npsycopg2.errors.UniqueViolation: duplicate key value violates unique constraint \"x\"\nDETAIL:  Key (id)=(1) already exists.\n";
        let f = parse(detail, "a = 1\ncur.execute(q)\n");
        assert_eq!(f.kind, "psycopg2.errors.UniqueViolation");
        assert_eq!(
            f.message,
            "duplicate key value violates unique constraint \"x\"\nDETAIL:  Key (id)=(1) already exists."
        );
        assert_eq!(f.innermost_code_line(), Some(2));
        let note = "Traceback (most recent call last):\n  File \"<string>\", line 2, in <module>\nValueError: bad value\nHint: check the input file";
        let f = parse(note, "a = 1\nraise e\n");
        assert_eq!(f.kind, "ValueError");
        assert_eq!(f.message, "bad value\nHint: check the input file");
        // IPython: the blank line and arrows before the error are part of the frame block.
        let f = parse(IPYTHON, &"x\n".repeat(5));
        assert_eq!(f.kind, "ZeroDivisionError");
        assert_eq!(f.message, "division by zero");
    }

    #[test]
    fn exception_groups_report_the_innermost_sub_exception() {
        let task_group = "  + Exception Group Traceback (most recent call last):\n  |   File \"<string>\", line 7, in <module>\n  |   File \"/usr/lib/python3.11/asyncio/runners.py\", line 190, in run\n  |     return runner.run(main)\n  |            ^^^^^^^^^^^^^^^^\n  |   File \"<string>\", line 5, in main\n  |   File \"/usr/lib/python3.11/asyncio/taskgroups.py\", line 145, in __aexit__\n  |     raise me from None\n  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)\n  +-+---------------- 1 ----------------\n    | Traceback (most recent call last):\n    |   File \"<string>\", line 3, in f\n    | ZeroDivisionError: division by zero\n    +------------------------------------\n";
        let code = "import asyncio\nasync def f():\n    1/0\nasync def main():\n    async with asyncio.TaskGroup() as tg:\n        tg.create_task(f())\nasyncio.run(main())\n";
        let f = parse(task_group, code);
        assert_eq!(f.kind, "ZeroDivisionError");
        assert_eq!(f.message, "division by zero");
        assert_eq!(f.innermost_code_line(), Some(3));
        let nested = "  + Exception Group Traceback (most recent call last):\n  |   File \"<string>\", line 2, in <module>\n  | ExceptionGroup: outer (2 sub-exceptions)\n  +-+---------------- 1 ----------------\n    | ValueError: a\n    +---------------- 2 ----------------\n    | ExceptionGroup: inner (1 sub-exception)\n    +-+---------------- 1 ----------------\n      | TypeError: b\n      +------------------------------------\n";
        let f = parse(nested, "x = 1\nraise g\n");
        assert_eq!((f.kind.as_str(), f.message.as_str()), ("TypeError", "b"));
        assert_eq!(f.innermost_code_line(), Some(2));
    }

    // F9: the error of the last stack block wins; earlier background output is skipped.
    #[test]
    fn node_takes_the_error_of_the_last_stack_block() {
        let code = "console.error('Error: retrying');\nconst a = 1;\nundefinedFn();\n";
        let stderr = "Error: retrying\nevalmachine.<anonymous>:3\nundefinedFn();\n^\n\nReferenceError: undefinedFn is not defined\n    at evalmachine.<anonymous>:3:1";
        let f = parse(stderr, code);
        assert_eq!(f.kind, "ReferenceError");
        assert_eq!(f.message, "undefinedFn is not defined");
        assert_eq!(f.innermost_code_line(), Some(3));
        let leftover = format!(
            "{}\nTypeError: Cannot read properties of null (reading 'boom')\n    at Timeout._onTimeout (<run-1>:1:31)\n    at listOnTimeout (node:internal/timers:573:17)\n{}\nReferenceError: undefinedFn is not defined\n    at <run-2>:3:1",
            crate::pool::EARLIER_OUTPUT_BEGIN,
            crate::pool::EARLIER_OUTPUT_END
        );
        let f = parse(&leftover, "a = 1;\nb = 2;\nundefinedFn();\n");
        assert_eq!(f.kind, "ReferenceError");
        assert_eq!(f.innermost_code_line(), Some(3));
        // The same for Python: a thread's traceback printed after the last run.
        let python = format!(
            "{}\nException in thread Thread-1:\nTraceback (most recent call last):\n  File \"<run-1>\", line 2, in work\nKeyError: 'k'\n{}\nTraceback (most recent call last):\n  File \"<run-2>\", line 1, in <module>\nNameError: name 'x' is not defined",
            crate::pool::EARLIER_OUTPUT_BEGIN,
            crate::pool::EARLIER_OUTPUT_END
        );
        let f = parse(&python, "x\n");
        assert_eq!(f.kind, "NameError");
        assert_eq!(f.innermost_code_line(), Some(1));
    }

    // F10: constructors and async functions of the snippet are its code.
    #[test]
    fn node_constructor_and_async_frames_count_when_defined_in_the_snippet() {
        let code = "class Foo {\n  constructor() { throw new Error('ctor'); }\n}\n\n\nnew Foo();\n";
        let stderr = "Error: ctor\n    at new Foo (evalmachine.<anonymous>:2:25)\n    at evalmachine.<anonymous>:6:1";
        assert_eq!(parse(stderr, code).innermost_code_line(), Some(2));
        let code = "async function f() {\n  await null;\n  throw new Error('async');\n}\nasync function g() { await f(); }\n(async () => { await g(); })();\n";
        let stderr = "Error: async\n    at f (evalmachine.<anonymous>:3:9)\n    at async g (evalmachine.<anonymous>:5:22)\n    at async evalmachine.<anonymous>:6:16";
        let f = parse(stderr, code);
        assert_eq!(f.innermost_code_line(), Some(3));
        assert!(
            f.frames.iter().any(|fr| fr.code_line == Some(5)),
            "{:?}",
            f.frames
        );
        // Not defined here: the call line.
        let other = "Error: ctor\n    at new Foo (evalmachine.<anonymous>:2:25)\n    at evalmachine.<anonymous>:1:1";
        assert_eq!(
            parse(other, "new Foo();\n// 2\n").innermost_code_line(),
            Some(1)
        );
    }

    // F18: the output before a timeout stays; the failure is the timeout.
    #[test]
    fn a_timeout_after_some_output_is_a_timeout() {
        let stderr = "err-before\nTraceback (most recent call last):\n  File \"<run-1>\", line 1, in <module>\nValueError: logged, not raised\nRequest timed out waiting for code execution to complete";
        let f = parse(stderr, "x\n");
        assert_eq!(f.kind, "Timeout");
        assert_eq!(
            f.message,
            "Request timed out waiting for code execution to complete"
        );
        assert!(f.frames.is_empty());
    }
}
