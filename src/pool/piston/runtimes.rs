//! The runtimes of the Piston-like custom API: Piston's language names and aliases (from its
//! packages' `metadata.json`), and which of their toolchains this machine has.
//!
//! Detection runs each toolchain's version command once, when a runtime is first asked for (or,
//! for `azure-sessions-lsp pool`, all of them in the background after the address and key are
//! printed), so starting a pool costs nothing.

use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use tokio::sync::OnceCell;

/// How long one version command may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// How a runtime compiles and runs `file0.code` (mirroring Piston's package scripts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Python,
    JavaScript,
    TypeScript,
    Bash,
    C,
    Cpp,
    Rust,
    Go,
    Java,
    Ruby,
    Php,
}

/// One language as Piston names it.
#[derive(Debug)]
pub struct Spec {
    /// Piston's canonical name (what the answer's `language` says).
    pub language: &'static str,
    pub aliases: &'static [&'static str],
    pub kind: Kind,
}

/// Piston's names and aliases for the toolchains the local pool knows how to run (`c++` is
/// provided by Piston's gcc package, `javascript` by its node package).
pub const SPECS: &[Spec] = &[
    Spec {
        language: "python",
        aliases: &["py", "py3", "python3"],
        kind: Kind::Python,
    },
    Spec {
        language: "javascript",
        aliases: &["node-javascript", "node-js", "js"],
        kind: Kind::JavaScript,
    },
    Spec {
        language: "typescript",
        aliases: &["ts", "node-ts", "tsc", "typescript5", "ts5"],
        kind: Kind::TypeScript,
    },
    Spec {
        language: "bash",
        aliases: &["sh"],
        kind: Kind::Bash,
    },
    Spec {
        language: "c",
        aliases: &["gcc"],
        kind: Kind::C,
    },
    Spec {
        language: "c++",
        aliases: &["cpp", "g++"],
        kind: Kind::Cpp,
    },
    Spec {
        language: "rust",
        aliases: &["rs"],
        kind: Kind::Rust,
    },
    Spec {
        language: "go",
        aliases: &["golang"],
        kind: Kind::Go,
    },
    Spec {
        language: "java",
        aliases: &[],
        kind: Kind::Java,
    },
    Spec {
        language: "ruby",
        aliases: &["ruby3", "rb"],
        kind: Kind::Ruby,
    },
    Spec {
        language: "php",
        aliases: &["php8"],
        kind: Kind::Php,
    },
];

/// The spec a language name or alias names (compared exactly, as Piston does).
pub fn find(name: &str) -> Option<(usize, &'static Spec)> {
    SPECS
        .iter()
        .enumerate()
        .find(|(_, spec)| spec.language == name || spec.aliases.contains(&name))
}

/// A toolchain found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The version its version command printed (`3.11.2`, `12.2.0`, `17.0.15`).
    pub version: String,
    /// The programs a job runs: the compiler or interpreter first, then any other it needs
    /// (TypeScript: `tsc`, then `node`).
    pub programs: Vec<String>,
}

/// The runtimes of one pool, each detected once, on first use.
pub struct Runtimes {
    python: String,
    node: String,
    found: Vec<OnceCell<Option<Installed>>>,
}

impl Runtimes {
    /// `python` and `node`: the programs the pool's interpreters use (they follow
    /// `AZURE_SESSIONS_PYTHON` and `AZURE_SESSIONS_NODE`).
    pub fn new(python: &str, node: &str) -> Arc<Self> {
        Arc::new(Self {
            python: python.to_owned(),
            node: node.to_owned(),
            found: SPECS.iter().map(|_| OnceCell::new()).collect(),
        })
    }

    /// The toolchain of `SPECS[index]`, detected on the first call; `None` when it is absent.
    pub async fn installed(&self, index: usize) -> Option<Installed> {
        let spec = SPECS.get(index)?;
        self.found
            .get(index)?
            // A version command that timed out (a loaded machine) is not an answer: the next
            // request asks again. Absent or failing toolchains are remembered.
            .get_or_try_init(|| self.detect(spec))
            .await
            .ok()?
            .clone()
    }

    /// Every runtime present, in table order: `(language, version)`.
    pub async fn all(&self) -> Vec<(&'static str, String)> {
        let found = futures::future::join_all((0..SPECS.len()).map(|i| self.installed(i))).await;
        SPECS
            .iter()
            .zip(found)
            .filter_map(|(spec, installed)| installed.map(|i| (spec.language, i.version)))
            .collect()
    }

    /// The line `azure-sessions-lsp pool` prints: `runtimes: python 3.11.2, c++ 12.2.0, …`.
    pub async fn summary(&self) -> String {
        let all = self.all().await;
        if all.is_empty() {
            return "runtimes: none".to_owned();
        }
        let list: Vec<String> = all
            .iter()
            .map(|(language, version)| format!("{language} {version}"))
            .collect();
        format!("runtimes: {}", list.join(", "))
    }

    /// `Err` when a version command timed out.
    async fn detect(&self, spec: &Spec) -> Result<Option<Installed>, TimedOut> {
        let (program, args): (&str, &[&str]) = match spec.kind {
            Kind::Python => (&self.python, &["--version"]),
            Kind::JavaScript => (&self.node, &["--version"]),
            Kind::TypeScript => ("tsc", &["--version"]),
            Kind::Bash => ("bash", &["--version"]),
            Kind::C => ("gcc", &["--version"]),
            Kind::Cpp => ("g++", &["--version"]),
            Kind::Rust => ("rustc", &["--version"]),
            Kind::Go => ("go", &["version"]),
            Kind::Java => ("java", &["-version"]),
            Kind::Ruby => ("ruby", &["--version"]),
            Kind::Php => ("php", &["--version"]),
        };
        // TypeScript's compiled JavaScript runs on node (Piston: `node file0.code.js`).
        let others: Vec<&str> = match spec.kind {
            Kind::TypeScript => vec![self.node.as_str()],
            _ => Vec::new(),
        };
        let Some(text) = probe(program, args).await? else {
            return Ok(None);
        };
        let Some(version) = parse_version(spec.kind, &text) else {
            return Ok(None);
        };
        // Piston's java package runs the source file itself (`java file0.code.java`), which
        // needs Java 11 or later.
        if spec.kind == Kind::Java && major(&version).is_none_or(|m| m < 11) {
            return Ok(None);
        }
        for other in &others {
            if probe(other, &["--version"]).await?.is_none() {
                return Ok(None);
            }
        }
        let mut programs = vec![program.to_owned()];
        programs.extend(others.iter().map(|o| (*o).to_owned()));
        Ok(Some(Installed { version, programs }))
    }
}

/// A version command that did not answer within [`PROBE_TIMEOUT`].
#[derive(Debug)]
struct TimedOut;

/// Runs a version command: its stdout and stderr together, or `None` when it is absent or fails.
async fn probe(program: &str, args: &[&str]) -> Result<Option<String>, TimedOut> {
    let run = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let Ok(out) = tokio::time::timeout(PROBE_TIMEOUT, run)
        .await
        .map_err(|_| TimedOut)?
    else {
        return Ok(None);
    };
    if !out.status.success() {
        return Ok(None);
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push('\n');
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok(Some(text))
}

/// The version in a version command's output: Java's quoted one (`openjdk version "21"`),
/// else the first dotted number (`Python 3.11.2`, `v20.11.1`, `go1.22.1`, `5.2.15(1)-release`).
fn parse_version(kind: Kind, text: &str) -> Option<String> {
    let pattern = match kind {
        Kind::Java => r#"version "([0-9][^"]*)""#,
        _ => r"([0-9]+(?:\.[0-9]+)+)",
    };
    let re = Regex::new(pattern).ok()?;
    let version = re.captures(text)?.get(1)?.as_str().to_owned();
    Some(version)
}

fn major(version: &str) -> Option<u32> {
    let mut parts = version.split('.');
    let first: u32 = parts.next()?.parse().ok()?;
    // Java 8 and earlier call themselves 1.8, 1.7, …
    if first == 1 {
        return parts.next()?.parse().ok();
    }
    Some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_are_pistons() {
        assert_eq!(find("cpp").map(|(_, s)| s.language), Some("c++"));
        assert_eq!(find("g++").map(|(_, s)| s.language), Some("c++"));
        assert_eq!(find("py3").map(|(_, s)| s.language), Some("python"));
        assert_eq!(find("node-js").map(|(_, s)| s.language), Some("javascript"));
        assert_eq!(find("golang").map(|(_, s)| s.language), Some("go"));
        assert_eq!(find("sh").map(|(_, s)| s.language), Some("bash"));
        // Exact names, as Piston matches them.
        assert!(find("Python").is_none());
        assert!(find("cobol").is_none());
        let mut names: Vec<&str> = SPECS
            .iter()
            .flat_map(|s| std::iter::once(s.language).chain(s.aliases.iter().copied()))
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "no name is claimed twice");
    }

    #[test]
    fn versions_from_version_commands() {
        let v = |kind, text| parse_version(kind, text);
        assert_eq!(v(Kind::Python, "Python 3.11.2\n"), Some("3.11.2".into()));
        assert_eq!(v(Kind::JavaScript, "v20.11.1\n"), Some("20.11.1".into()));
        assert_eq!(
            v(Kind::Cpp, "g++ (Debian 12.2.0-14) 12.2.0\nCopyright"),
            Some("12.2.0".into())
        );
        assert_eq!(
            v(Kind::Rust, "rustc 1.85.0 (4d91de4e4 2025-02-17)"),
            Some("1.85.0".into())
        );
        assert_eq!(
            v(Kind::Go, "go version go1.22.1 linux/amd64"),
            Some("1.22.1".into())
        );
        assert_eq!(
            v(Kind::Bash, "GNU bash, version 5.2.15(1)-release"),
            Some("5.2.15".into())
        );
        assert_eq!(
            v(
                Kind::Java,
                "openjdk version \"21\" 2023-09-19\nOpenJDK Runtime"
            ),
            Some("21".into())
        );
        assert_eq!(
            v(Kind::Java, "openjdk version \"17.0.15\" 2025-04-15"),
            Some("17.0.15".into())
        );
        assert_eq!(
            v(Kind::Ruby, "ruby 3.0.1p64 (2021-04-05)"),
            Some("3.0.1".into())
        );
        assert_eq!(major("1.8.0_392"), Some(8));
        assert_eq!(major("21"), Some(21));
    }
}
