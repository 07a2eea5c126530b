//! Name heuristics for pools that compile every run under one shared file name (`<string>` in
//! CPython, `evalmachine.<anonymous>` in Node), where a frame's file can't tell this run from an
//! earlier one or from eval/exec: the frame counts only if the snippet has what it runs.

use std::sync::LazyLock;

use regex::Regex;

static EVAL_CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:eval|exec|compile)\s*\(").expect("valid"));
static CLASS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*class\s+([A-Za-z_]\w*)").expect("valid"));

/// Whether a Python frame in `function` at `line` of the shared file is code of this snippet.
/// `caller` is the line of the frame that called it, when that frame is this run's too.
pub fn python_function_is_ours(code: &str, function: &str, line: u32, caller: Option<u32>) -> bool {
    let code = python_code_only(code);
    match function {
        "<lambda>" => has_word(&code, "lambda"),
        "<genexpr>" => has_comprehension(&code, '('),
        "<listcomp>" => has_comprehension(&code, '['),
        "<setcomp>" | "<dictcomp>" => has_comprehension(&code, '{'),
        name if name.starts_with('<') => true,
        name => defined_around(&code, name, line, caller),
    }
}

/// Whether line `line` of the snippet calls eval, exec or compile (whose code is `<string>` too).
pub fn calls_eval(code: &str, line: u32) -> bool {
    let code = python_code_only(code);
    line.checked_sub(1)
        .and_then(|i| code.split('\n').nth(i as usize))
        .is_some_and(|text| EVAL_CALL.is_match(text))
}

/// Whether the snippet defines `name` so that `line` lies in it. A method counts only when the
/// caller (if it is this run's code) names it or its class: a method of the same name in another
/// class of the snippet is not the one an earlier run's object ran.
fn defined_around(code: &str, name: &str, line: u32, caller: Option<u32>) -> bool {
    let Ok(def) = Regex::new(&format!(
        r"^(\s*)(?:async\s+)?def\s+{}\b",
        regex::escape(name)
    )) else {
        return false;
    };
    let lines: Vec<&str> = code.split('\n').collect();
    let Some(at) = (line as usize).checked_sub(1) else {
        return false;
    };
    lines.iter().enumerate().any(|(i, text)| {
        let Some(c) = def.captures(text) else {
            return false;
        };
        let indent = c[1].len();
        let (first, last) = span(&lines, i, indent);
        if !(first..=last).contains(&at) {
            return false;
        }
        match enclosing_class(&lines, i, indent) {
            None => true,
            Some(class) => method_reached(&lines, name, class, caller),
        }
    })
}

/// The lines of a definition: its decorators, the `def` line and its indented body.
fn span(lines: &[&str], def: usize, indent: usize) -> (usize, usize) {
    let mut first = def;
    while first > 0
        && indent_of(lines[first - 1]) == indent
        && lines[first - 1].trim_start().starts_with('@')
    {
        first -= 1;
    }
    let mut last = def;
    for (j, text) in lines.iter().enumerate().skip(def + 1) {
        if text.trim().is_empty() {
            continue;
        }
        // A closing bracket at the def's indentation still belongs to a long signature.
        let closes = text.trim_start().starts_with([')', ']', '}']);
        if indent_of(text) <= indent && !closes {
            break;
        }
        last = j;
    }
    (first, last)
}

/// The class a `def` at `indent` sits directly in, if any.
fn enclosing_class<'a>(lines: &[&'a str], def: usize, indent: usize) -> Option<&'a str> {
    let parent = lines[..def]
        .iter()
        .rev()
        .find(|t| !t.trim().is_empty() && indent_of(t) < indent)?;
    CLASS
        .captures(parent)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str())
}

fn method_reached(lines: &[&str], name: &str, class: &str, caller: Option<u32>) -> bool {
    // Called from a library (or the caller is not this run's): nothing to compare with.
    let Some(text) = caller
        .and_then(|c| c.checked_sub(1))
        .and_then(|i| lines.get(i as usize))
    else {
        return true;
    };
    if has_word(text, name) || has_word(text, class) {
        return true;
    }
    match name {
        // A constructor runs for the class or a subclass the snippet defines (`C()` with `class C(B)`).
        "__init__" | "__new__" => lines
            .iter()
            .filter_map(|l| CLASS.captures(l))
            .any(|c| has_word(text, &c[1])),
        // Other special methods run for operators and builtins, which don't name them.
        _ => name.starts_with("__") && name.ends_with("__"),
    }
}

fn indent_of(text: &str) -> usize {
    text.len() - text.trim_start().len()
}

fn has_word(text: &str, word: &str) -> bool {
    Regex::new(&format!(r"\b{}\b", regex::escape(word))).is_ok_and(|re| re.is_match(text))
}

/// Whether the code has a comprehension in `open` brackets: a `for` inside them.
fn has_comprehension(code: &str, open: char) -> bool {
    let mut stack = Vec::new();
    let mut word = String::new();
    for c in code.chars().chain(std::iter::once(' ')) {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if word == "for" && stack.last() == Some(&open) {
            return true;
        }
        word.clear();
        match c {
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                stack.pop();
            }
            _ => {}
        }
    }
    false
}

/// Python code with the insides of strings and comments blanked, newlines and columns kept, so
/// that code in strings (`eval("lambda: 0")`, `exec("def f(): …")`) is not taken for the snippet's.
fn python_code_only(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '"' || c == '\'' {
            let triple = chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c);
            let quotes = if triple { 3 } else { 1 };
            let closes = |at: usize| (0..quotes).all(|k| chars.get(at + k) == Some(&c));
            out.extend(std::iter::repeat_n(c, quotes));
            i += quotes;
            while i < chars.len() {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    out.push(' ');
                    out.push(blank(chars[i + 1]));
                    i += 2;
                } else if closes(i) {
                    out.extend(std::iter::repeat_n(c, quotes));
                    i += quotes;
                    break;
                } else if chars[i] == '\n' && !triple {
                    // An unterminated one-line string ends with its line.
                    break;
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Whether a Node frame's function (`f`, `Foo.bar`, `new Foo`, `async f`) is defined by the
/// snippet. Anonymous and top-level frames always are.
pub fn js_function_is_ours(code: &str, function: &str) -> bool {
    let mut name = function.trim();
    if let Some(at) = name.find(" [as ") {
        name = &name[..at];
    }
    let name = name.strip_prefix("async ").unwrap_or(name);
    let name = name.strip_prefix("new ").unwrap_or(name);
    let name = name
        .trim_end_matches("()")
        .rsplit('.')
        .next()
        .unwrap_or(name)
        .trim();
    if name.is_empty() || name.starts_with('<') || name == "Object" || name.contains("<anonymous>")
    {
        return true;
    }
    let name = regex::escape(name);
    let pattern = format!(
        r"(?m)(\bclass\s+{name}\b|function\*?\s+{name}\b|\b{name}\s*[=:]\s*(async\s*)?(function|class\b|\(|[A-Za-z_$][\w$]*\s*=>)|^\s*(static\s+)?(async\s+)?{name}\s*\([^)]*\)\s*\{{)"
    );
    Regex::new(&pattern).is_ok_and(|re| re.is_match(code))
}
