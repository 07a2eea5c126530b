//! Per-user directories, by each platform's conventions:
//!
//! | | state (identity secret, resets) | runtime (pool keys, large outputs) | cache |
//! | --- | --- | --- | --- |
//! | Linux | `$XDG_STATE_HOME` or `~/.local/state` | `$XDG_RUNTIME_DIR` | `$XDG_CACHE_HOME` or `~/.cache` |
//! | macOS | `~/Library/Application Support` | `$TMPDIR` (per-user under `/var/folders`) | `~/Library/Caches` |
//! | Windows | `%LOCALAPPDATA%` | none: the state directory is used | `%LOCALAPPDATA%\…\cache` |
//!
//! each with `azure-sessions-lsp` appended. An XDG variable that is set to an absolute path wins
//! on every platform (users who want XDG places get them, and tests isolate themselves that way).

use std::ffi::OsString;
use std::path::PathBuf;

use super::Os;

pub const APP: &str = "azure-sessions-lsp";

/// The per-user directories of one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    pub state: PathBuf,
    /// `None` where the platform has no per-user runtime directory (callers use `state`).
    pub runtime: Option<PathBuf>,
    pub cache: PathBuf,
}

impl Dirs {
    /// This process's directories, from its environment.
    pub fn current() -> Dirs {
        Dirs::for_os(Os::current(), &|name| std::env::var_os(name))
    }

    /// The directories of `os` given an environment (a lookup of variables).
    pub fn for_os(os: Os, env: &dyn Fn(&str) -> Option<OsString>) -> Dirs {
        let absolute = |name: &str| {
            env(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .filter(|p| is_absolute_for(os, p))
        };
        let home = || {
            let var = if os == Os::Windows {
                "USERPROFILE"
            } else {
                "HOME"
            };
            absolute(var).unwrap_or_else(std::env::temp_dir)
        };
        let local_app_data =
            || absolute("LOCALAPPDATA").unwrap_or_else(|| home().join("AppData").join("Local"));
        let state = absolute("XDG_STATE_HOME").unwrap_or_else(|| match os {
            Os::Linux => home().join(".local").join("state"),
            Os::MacOs => home().join("Library").join("Application Support"),
            Os::Windows => local_app_data(),
        });
        let runtime = absolute("XDG_RUNTIME_DIR").or_else(|| match os {
            Os::Linux => None,
            // macOS's $TMPDIR is per user (/var/folders/xx/…/T/, mode 0700), unlike /tmp.
            Os::MacOs => absolute("TMPDIR"),
            Os::Windows => None,
        });
        let cache = absolute("XDG_CACHE_HOME").unwrap_or_else(|| match os {
            Os::Linux => home().join(".cache"),
            Os::MacOs => home().join("Library").join("Caches"),
            Os::Windows => local_app_data().join(APP).join("cache"),
        });
        let cache = if os == Os::Windows && env("XDG_CACHE_HOME").is_none() {
            cache
        } else {
            cache.join(APP)
        };
        Dirs {
            state: state.join(APP),
            runtime: runtime.map(|r| r.join(APP)),
            cache,
        }
    }
}

/// Whether `path` is absolute by `os`'s rules (checked as text, so it works for any `os`).
fn is_absolute_for(os: Os, path: &std::path::Path) -> bool {
    let text = path.to_string_lossy();
    match os {
        Os::Windows => {
            let b = text.as_bytes();
            (b.len() >= 3
                && b[0].is_ascii_alphabetic()
                && b[1] == b':'
                && matches!(b[2], b'\\' | b'/'))
                || text.starts_with("\\\\")
                || text.starts_with("//")
        }
        _ => text.starts_with('/'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn dirs(os: Os, vars: &[(&str, &str)]) -> Dirs {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        Dirs::for_os(os, &move |name| map.get(name).cloned())
    }

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn linux_uses_xdg_places() {
        let d = dirs(
            Os::Linux,
            &[("HOME", "/home/ann"), ("XDG_RUNTIME_DIR", "/run/user/1000")],
        );
        assert_eq!(d.state, p("/home/ann/.local/state").join(APP));
        assert_eq!(d.runtime, Some(p("/run/user/1000").join(APP)));
        assert_eq!(d.cache, p("/home/ann/.cache").join(APP));
        let bare = dirs(Os::Linux, &[("HOME", "/home/ann")]);
        assert_eq!(bare.runtime, None);
        let relative = dirs(
            Os::Linux,
            &[("HOME", "/home/ann"), ("XDG_STATE_HOME", "rel/state")],
        );
        assert_eq!(relative.state, p("/home/ann/.local/state").join(APP));
    }

    #[test]
    fn macos_uses_library_and_tmpdir() {
        let d = dirs(
            Os::MacOs,
            &[("HOME", "/Users/ann"), ("TMPDIR", "/var/folders/xy/abc/T/")],
        );
        assert_eq!(
            d.state,
            p("/Users/ann/Library/Application Support").join(APP)
        );
        assert_eq!(d.runtime, Some(p("/var/folders/xy/abc/T/").join(APP)));
        assert_eq!(d.cache, p("/Users/ann/Library/Caches").join(APP));
    }

    #[test]
    fn windows_uses_local_app_data() {
        let d = dirs(
            Os::Windows,
            &[
                ("USERPROFILE", r"C:\Users\Ann"),
                ("LOCALAPPDATA", r"C:\Users\Ann\AppData\Local"),
            ],
        );
        assert_eq!(d.state, p(r"C:\Users\Ann\AppData\Local").join(APP));
        assert_eq!(d.runtime, None);
        assert_eq!(
            d.cache,
            p(r"C:\Users\Ann\AppData\Local").join(APP).join("cache")
        );
        // Without LOCALAPPDATA, the profile's AppData\Local.
        let bare = dirs(Os::Windows, &[("USERPROFILE", r"C:\Users\Ann")]);
        assert_eq!(
            bare.state,
            p(r"C:\Users\Ann").join("AppData").join("Local").join(APP)
        );
        // A Unix-looking value is not an absolute Windows path.
        let odd = dirs(
            Os::Windows,
            &[("USERPROFILE", r"C:\Users\Ann"), ("LOCALAPPDATA", "/tmp")],
        );
        assert_eq!(
            odd.state,
            p(r"C:\Users\Ann").join("AppData").join("Local").join(APP)
        );
    }

    #[test]
    fn an_xdg_variable_wins_everywhere() {
        for os in [Os::Linux, Os::MacOs] {
            let d = dirs(
                os,
                &[
                    ("HOME", "/h"),
                    ("XDG_STATE_HOME", "/x/state"),
                    ("XDG_CACHE_HOME", "/x/cache"),
                ],
            );
            assert_eq!(d.state, p("/x/state").join(APP));
            assert_eq!(d.cache, p("/x/cache").join(APP));
        }
        let w = dirs(
            Os::Windows,
            &[("LOCALAPPDATA", r"C:\L"), ("XDG_STATE_HOME", r"D:\x\state")],
        );
        assert_eq!(w.state, p(r"D:\x\state").join(APP));
    }
}
