//! Session identifiers: stable for a folder across restarts and editors, different for every
//! user and machine. An identifier is HMAC-SHA256(per-user secret, folder key, reset count),
//! so nobody can guess another user's session, and a reset is remembered across restarts.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET_FILE: &str = "user-secret";
const RESETS_FILE: &str = "resets.json";

/// The per-user state directory: `$XDG_STATE_HOME` or `~/.local/state` on Linux,
/// `~/Library/Application Support` on macOS, `%LOCALAPPDATA%` on Windows, with
/// `azure-sessions-lsp` appended (see `platform::dirs`).
pub fn default_state_dir() -> PathBuf {
    crate::platform::dirs::Dirs::current().state
}

/// A folder or file as it enters identifiers: symlinks resolved (as the CLI's current directory
/// is), without the trailing separator, and spelled and case-folded by the platform's rules
/// (Windows and macOS ignore case: `C:\Proj` and `c:\proj` get one session).
pub fn path_identity(path: &Path) -> String {
    let resolved = fs::canonicalize(path).unwrap_or_else(|_| path.components().collect());
    fold_path(&resolved)
}

/// [`path_identity`] of a path already resolved.
pub fn fold_path(resolved: &Path) -> String {
    crate::platform::paths::identity_text(
        &resolved.to_string_lossy(),
        crate::platform::Os::current(),
    )
}

/// What an identifier is derived from: the pool (its normalized endpoint and api) and the
/// folder or file. The same folder gets a different session on every pool, so an identifier
/// given to the local pool or a test endpoint is never the one used on a real pool.
pub fn session_key(endpoint_identity: &str, api: &str, scope_key: &str) -> String {
    format!("{endpoint_identity} {api}\n{scope_key}")
}

#[derive(Debug)]
pub struct IdentityStore {
    dir: PathBuf,
    secret: Vec<u8>,
    /// The resets file as last read, with its modification time and length: identifiers are
    /// checked before every run (another editor may have reset one), so the file is read again
    /// only when it changed.
    resets_seen: std::sync::Mutex<Option<(FileStamp, BTreeMap<String, u64>)>>,
}

type FileStamp = (Option<std::time::SystemTime>, u64);

impl IdentityStore {
    /// Opens (creating if needed, 0700 dir and 0600 files) the state directory.
    pub fn open(dir: &Path) -> std::io::Result<IdentityStore> {
        crate::platform::create_private_dir(dir, true)?;
        let _ = crate::platform::make_private(dir, true);
        let secret_path = dir.join(SECRET_FILE);
        let secret = match fs::read_to_string(&secret_path) {
            Ok(text) if text.trim().len() >= 32 => text.trim().as_bytes().to_vec(),
            _ => create_secret(&secret_path)?,
        };
        // Tighten permissions of a secret created by someone else or an older version.
        let _ = crate::platform::make_private(&secret_path, false);
        Ok(IdentityStore {
            dir: dir.to_owned(),
            secret,
            resets_seen: std::sync::Mutex::new(None),
        })
    }

    /// The identifier for a key (a workspace folder or a file URI).
    pub fn identifier(&self, key: &str) -> String {
        let generation = self.resets().get(key).copied().unwrap_or(0);
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(key.as_bytes());
        mac.update(b"\0");
        mac.update(generation.to_string().as_bytes());
        let digest = mac.finalize().into_bytes();
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("azs-{hex}")
    }

    /// Moves the key to a new identifier, now and after restarts.
    pub fn reset(&self, key: &str) -> std::io::Result<String> {
        let mut resets = self.resets();
        *resets.entry(key.to_owned()).or_insert(0) += 1;
        let text = serde_json::to_string_pretty(&resets).map_err(std::io::Error::other)?;
        write_private(&self.dir.join(RESETS_FILE), text.as_bytes())?;
        Ok(self.identifier(key))
    }

    fn resets(&self) -> BTreeMap<String, u64> {
        let path = self.dir.join(RESETS_FILE);
        let stamp: FileStamp = match fs::metadata(&path) {
            Ok(meta) => (meta.modified().ok(), meta.len()),
            Err(_) => (None, 0),
        };
        let mut seen = self
            .resets_seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((known, resets)) = seen.as_ref()
            && *known == stamp
            && stamp.0.is_some()
        {
            return resets.clone();
        }
        let resets: BTreeMap<String, u64> = fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        *seen = Some((stamp, resets.clone()));
        resets
    }
}

fn create_secret(path: &Path) -> std::io::Result<Vec<u8>> {
    let random: String = (0..2)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect();
    match crate::platform::create_new_private(path) {
        Ok(mut file) => {
            file.write_all(random.as_bytes())?;
            file.sync_all()?;
            Ok(random.into_bytes())
        }
        // Another server created it at the same moment: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::thread::sleep(std::time::Duration::from_millis(20));
            let text = fs::read_to_string(path)?;
            if text.trim().len() >= 32 {
                Ok(text.trim().as_bytes().to_vec())
            } else {
                write_private(path, random.as_bytes())?;
                Ok(random.into_bytes())
            }
        }
        Err(e) => Err(e),
    }
}

/// Writes a 0600 file atomically (temp file and rename).
fn write_private(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    {
        let mut file = crate::platform::create_or_truncate_private(&tmp)?;
        file.write_all(content)?;
        file.sync_all()?;
    }
    fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_per_directory_and_different_across_directories() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let first = IdentityStore::open(a.path())
            .unwrap()
            .identifier("file:///w");
        let again = IdentityStore::open(a.path())
            .unwrap()
            .identifier("file:///w");
        let other_user = IdentityStore::open(b.path())
            .unwrap()
            .identifier("file:///w");
        assert_eq!(first, again);
        assert_ne!(first, other_user);
        assert!(first.len() >= 4 && first.len() <= 128);
        assert!(first.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }

    #[test]
    fn folders_differ_and_resets_persist() {
        let dir = tempfile::tempdir().unwrap();
        let store = IdentityStore::open(dir.path()).unwrap();
        let one = store.identifier("file:///one");
        assert_ne!(one, store.identifier("file:///two"));
        let reset = store.reset("file:///one").unwrap();
        assert_ne!(one, reset);
        assert_eq!(
            IdentityStore::open(dir.path())
                .unwrap()
                .identifier("file:///one"),
            reset
        );
    }

    #[test]
    #[cfg(unix)]
    fn secret_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        IdentityStore::open(dir.path()).unwrap();
        let mode = fs::metadata(dir.path().join(SECRET_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
