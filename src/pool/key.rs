//! The local pool's key: random per start, required on every request, printed by `pool`,
//! and kept in a 0600 file of a 0700 per-user directory so that `run` and the language server
//! find it by port without any setting (`AZURE_SESSIONS_POOL_KEY` overrides the lookup).

use std::io::Write;
use std::path::{Path, PathBuf};

use reqwest::Url;

use crate::private;

/// Overrides the key looked up for a loopback endpoint.
pub const KEY_ENV: &str = "AZURE_SESSIONS_POOL_KEY";

/// `pool-PORT.key` in the runtime directory (`$XDG_RUNTIME_DIR/azure-sessions-lsp`, macOS's
/// `$TMPDIR/azure-sessions-lsp`), else in the state directory (on Windows, `%LOCALAPPDATA%`).
pub fn default_key_path(port: u16) -> PathBuf {
    private::runtime_dir_or(crate::identity::default_state_dir()).join(format!("pool-{port}.key"))
}

/// A key file that is removed when the pool stops (if it still holds this pool's key).
#[derive(Debug)]
pub struct KeyFile {
    path: PathBuf,
    key: String,
}

impl KeyFile {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        if read_own_file(&self.path).as_deref() == Some(self.key.as_str()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes the key to `path` (0600, never through a symlink). A stale key file of ours (a pool
/// that was killed) is replaced; anything else in the way is refused.
pub fn write_key_file(path: &Path, key: &str) -> Result<KeyFile, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if path.starts_with(private::runtime_dir_or(crate::identity::default_state_dir())) {
            private::ensure_private_dir(dir)?;
        } else if !dir.is_dir() {
            return Err(format!("{} is not a directory", dir.display()));
        }
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_file() && crate::platform::is_own(&meta) {
            std::fs::remove_file(path)
                .map_err(|e| format!("cannot replace the stale {}: {e}", path.display()))?;
        } else {
            return Err(format!(
                "{} exists and is not a key file of this user; remove it or choose another --key-file",
                path.display()
            ));
        }
    }
    let mut file = private::create_new_private(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(format!("{key}\n").as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(KeyFile {
        path: path.to_owned(),
        key: key.to_owned(),
    })
}

/// The key to send to a plain-http loopback endpoint: `AZURE_SESSIONS_POOL_KEY`, else the key
/// file of the pool on that port. `None` for any other endpoint.
pub fn find_key(endpoint: &Url) -> Option<String> {
    let loopback = endpoint.scheme() == "http"
        && endpoint
            .host_str()
            .is_some_and(crate::sessions::is_loopback_host);
    if !loopback {
        return None;
    }
    if let Some(key) = std::env::var(KEY_ENV)
        .ok()
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
    {
        return Some(key);
    }
    read_own_file(&default_key_path(endpoint.port_or_known_default()?))
}

/// The trimmed text of a regular file owned by this user (not a symlink, not someone else's).
fn read_own_file(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() || !crate::platform::is_own(&meta) {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    Some(text.trim().to_owned()).filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_private_and_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pool-1.key");
        let file = write_key_file(&path, "abc").unwrap();
        assert_eq!(read_own_file(&path).as_deref(), Some("abc"));
        if cfg!(unix) {
            let meta = std::fs::metadata(&path).unwrap();
            assert_eq!(crate::platform::mode_bits(&meta), Some(0o600));
        }
        drop(file);
        assert!(!path.exists());
    }

    #[test]
    #[cfg(unix)]
    fn a_symlink_in_the_way_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let path = dir.path().join("pool-2.key");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        assert!(write_key_file(&path, "abc").is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    }

    #[test]
    fn only_plain_http_loopback_endpoints_get_a_key() {
        for url in [
            "https://127.0.0.1:1",
            "http://pool.example:1",
            "https://x.dynamicsessions.io",
        ] {
            assert_eq!(find_key(&Url::parse(url).unwrap()), None, "{url}");
        }
    }
}
