//! Which language a pool is asked to run: the editor's language id mapped to the pool's name.
//!
//! The defaults are Piston's canonical names (the engine most custom containers put behind an
//! adapter), so `cpp` goes out as `c++` and `shellscript` as `bash`; `azureSessions.languages`
//! overrides any of them. Code-interpreter pools run Python or JavaScript only (and Shell pools
//! bash): any other language fails before a request, naming the setting.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::sessions::Api;

/// Editor language id → Piston's canonical name (`peers-and-demand.md` §6.9).
const DEFAULTS: &[(&str, &str)] = &[
    ("python", "python"),
    ("jupyter", "python"),
    ("javascript", "javascript"),
    ("javascriptreact", "javascript"),
    ("typescript", "typescript"),
    ("typescriptreact", "typescript"),
    ("shellscript", "bash"),
    // Neovim sends its filetype as the language id.
    ("sh", "bash"),
    ("bash", "bash"),
    ("cs", "csharp.net"),
    ("ps1", "powershell"),
    ("lisp", "lisp"),
    ("coffee", "coffeescript"),
    ("powershell", "powershell"),
    ("c", "c"),
    ("cpp", "c++"),
    ("cuda-cpp", "c++"),
    ("csharp", "csharp.net"),
    ("fsharp", "fsharp.net"),
    ("vb", "basic.net"),
    ("java", "java"),
    ("kotlin", "kotlin"),
    ("scala", "scala"),
    ("groovy", "groovy"),
    ("rust", "rust"),
    ("go", "go"),
    ("ruby", "ruby"),
    ("php", "php"),
    ("perl", "perl"),
    ("lua", "lua"),
    ("r", "rscript"),
    ("julia", "julia"),
    ("haskell", "haskell"),
    ("ocaml", "ocaml"),
    ("elixir", "elixir"),
    ("erlang", "erlang"),
    ("clojure", "clojure"),
    ("dart", "dart"),
    ("swift", "swift"),
    ("sql", "sqlite3"),
    ("fortran", "fortran"),
    ("fortran-modern", "fortran"),
    ("fortran_fixed-form", "fortran"),
    ("racket", "racket"),
    ("commonlisp", "lisp"),
    ("coffeescript", "coffeescript"),
    ("matlab", "octave"),
    ("octave", "octave"),
    ("verilog", "iverilog"),
    ("nim", "nim"),
    ("zig", "zig"),
    ("crystal", "crystal"),
    ("d", "d"),
    ("pascal", "pascal"),
    ("cobol", "cobol"),
    ("prolog", "prolog"),
    ("awk", "awk"),
];

/// File extension → editor language id, for files run from disk (no language id sent).
const EXTENSIONS: &[(&str, &str)] = &[
    ("py", "python"),
    ("pyw", "python"),
    ("ipy", "python"),
    ("js", "javascript"),
    ("mjs", "javascript"),
    ("cjs", "javascript"),
    ("jsx", "javascriptreact"),
    ("ts", "typescript"),
    ("mts", "typescript"),
    ("tsx", "typescriptreact"),
    ("sh", "shellscript"),
    ("bash", "shellscript"),
    ("ps1", "powershell"),
    ("c", "c"),
    ("h", "c"),
    ("cpp", "cpp"),
    ("cc", "cpp"),
    ("cxx", "cpp"),
    ("hpp", "cpp"),
    ("cs", "csharp"),
    ("fs", "fsharp"),
    ("vb", "vb"),
    ("java", "java"),
    ("kt", "kotlin"),
    ("scala", "scala"),
    ("groovy", "groovy"),
    ("rs", "rust"),
    ("go", "go"),
    ("rb", "ruby"),
    ("php", "php"),
    ("pl", "perl"),
    ("lua", "lua"),
    ("r", "r"),
    ("jl", "julia"),
    ("hs", "haskell"),
    ("ml", "ocaml"),
    ("ex", "elixir"),
    ("exs", "elixir"),
    ("erl", "erlang"),
    ("clj", "clojure"),
    ("dart", "dart"),
    ("swift", "swift"),
    ("sql", "sql"),
    ("f90", "fortran"),
    ("rkt", "racket"),
    ("lisp", "commonlisp"),
    ("coffee", "coffeescript"),
    ("nim", "nim"),
    ("zig", "zig"),
    ("cr", "crystal"),
    ("d", "d"),
    ("pas", "pascal"),
    ("awk", "awk"),
];

/// The user's `azureSessions.languages`: editor language id → pool language name.
pub type Overrides = BTreeMap<String, String>;

/// The editor language id of a document: the one the editor sent, else guessed from the file's
/// extension (a file run from disk), else Python.
pub fn language_id<'a>(sent: &'a str, uri: &str) -> &'a str {
    if !sent.is_empty() {
        return sent;
    }
    let name = uri.rsplit('/').next().unwrap_or_default();
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    EXTENSIONS
        .iter()
        .find(|(e, _)| *e == extension)
        .map_or("python", |(_, id)| id)
}

/// The name the pool is asked to run: the user's mapping, else Piston's name, else the id.
pub fn pool_language(language_id: &str, overrides: &Overrides) -> String {
    if let Some(name) = overrides.get(language_id) {
        return name.clone();
    }
    DEFAULTS
        .iter()
        .find(|(id, _)| *id == language_id)
        .map_or(language_id, |(_, name)| name)
        .to_owned()
}

/// What a code-interpreter pool can run, by the pool name it was mapped to.
fn interpreter_runs(api: Api, language: &str) -> bool {
    match language {
        "python" | "javascript" => true,
        // A Shell pool (executions api only) runs bash.
        _ => api == Api::Executions && crate::sessions::request_body::is_shell(language),
    }
}

/// Whether the pool can run `language` (the mapped name): custom containers decide for
/// themselves; code-interpreter pools run Python and JavaScript (and bash on a Shell pool).
/// The error names the document's language and the setting that changes the mapping.
/// The local pool that serves a document of `language` on this api. A custom pool's language
/// travels in the path, so any local pool serves it; the others run their own language.
pub fn local_pool_language(api: Api, language: &str) -> Result<crate::pool::Language, String> {
    match api {
        Api::Custom => Ok(crate::pool::Language::Python),
        _ => language.parse().map_err(|_| {
            format!("the local pool runs python, javascript and shell; this document is {language}")
        }),
    }
}

pub fn check_runnable(api: Api, language_id: &str, language: &str) -> Result<(), String> {
    if api == Api::Custom || interpreter_runs(api, language) {
        return Ok(());
    }
    Err(format!(
        "a {language_id} document cannot run on a code-interpreter pool (Python or Node, \
         api \"{}\"): it runs python and javascript{}. Use a custom-container pool \
         (azureSessions.api \"custom\") for {language}, or map {language_id} to a language the \
         pool runs with azureSessions.languages",
        api.name(),
        if api == Api::Executions {
            ", and bash on a Shell pool"
        } else {
            ""
        }
    ))
}

/// Reads `azureSessions.languages`: an object of strings. Bad entries are reported and skipped.
pub fn parse_overrides(value: &Value) -> (Overrides, Vec<String>) {
    let mut overrides = Overrides::new();
    let mut errors = Vec::new();
    let Value::Object(map) = value else {
        errors.push(format!(
            "expected an object from editor language id to pool language, got {value}; using the defaults"
        ));
        return (overrides, errors);
    };
    for (id, name) in map {
        match name.as_str().map(str::trim) {
            Some(name) if !name.is_empty() && !name.contains(['/', '?', '#']) => {
                overrides.insert(id.clone(), name.to_owned());
            }
            _ => errors.push(format!(
                "{id}: expected a language name (a non-empty string without '/', '?' or '#'), got {name}; using the default"
            )),
        }
    }
    (overrides, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn piston_names_by_default_and_the_users_mapping_first() {
        let none = Overrides::new();
        assert_eq!(pool_language("cpp", &none), "c++");
        assert_eq!(pool_language("shellscript", &none), "bash");
        assert_eq!(pool_language("typescriptreact", &none), "typescript");
        assert_eq!(pool_language("rust", &none), "rust");
        assert_eq!(pool_language("brainfuck", &none), "brainfuck");
        let (mine, errors) = parse_overrides(&json!({"cpp": "cpp17", "csharp": "csharp"}));
        assert!(errors.is_empty());
        assert_eq!(pool_language("cpp", &mine), "cpp17");
        assert_eq!(pool_language("csharp", &mine), "csharp");
        assert_eq!(pool_language("go", &mine), "go");
    }

    #[test]
    fn files_from_disk_get_their_language_from_the_extension() {
        assert_eq!(language_id("", "file:///w/main.cpp"), "cpp");
        assert_eq!(language_id("", "file:///w/Main.JAVA"), "java");
        assert_eq!(language_id("", "file:///w/a.b/noext"), "python");
        assert_eq!(language_id("", "file:///w/x.mjs"), "javascript");
        assert_eq!(language_id("rust", "file:///w/x.py"), "rust");
    }

    #[test]
    fn code_interpreters_run_python_and_javascript_only() {
        assert!(check_runnable(Api::Executions, "python", "python").is_ok());
        assert!(check_runnable(Api::Legacy, "javascriptreact", "javascript").is_ok());
        assert!(check_runnable(Api::Executions, "shellscript", "bash").is_ok());
        assert!(check_runnable(Api::Legacy, "shellscript", "bash").is_err());
        assert!(check_runnable(Api::Custom, "cpp", "c++").is_ok());
        let error = check_runnable(Api::Executions, "cpp", "c++").unwrap_err();
        assert!(error.contains("azureSessions.languages"), "{error}");
        assert!(error.contains("cpp document"), "{error}");
    }

    #[test]
    fn bad_entries_are_reported_and_skipped() {
        let (map, errors) =
            parse_overrides(&json!({"cpp": "c++", "go": 3, "rust": "", "c": "a/b"}));
        assert_eq!(map.len(), 1);
        assert_eq!(errors.len(), 3, "{errors:?}");
        let (map, errors) = parse_overrides(&json!(["cpp"]));
        assert!(map.is_empty());
        assert_eq!(errors.len(), 1);
    }
}
