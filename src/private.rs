//! Per-user private places on disk: the directory for files the server writes (large outputs,
//! images) and for the local pool's key files. A directory is used only when it is ours (owned
//! by this user, not a symlink, no access for others); files are created new (`O_EXCL`), never
//! through a symlink (`O_NOFOLLOW`), mode 0600 on Unix, under random names. Anything else is refused
//! with a reason, and callers keep their data in memory instead of writing through it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::platform::{self, dirs::Dirs};

/// The platform's per-user runtime directory (`$XDG_RUNTIME_DIR`, macOS's `$TMPDIR`) with
/// `azure-sessions-lsp` appended, when there is one, else `fallback` (see `platform::dirs`).
pub fn runtime_dir_or(fallback: PathBuf) -> PathBuf {
    Dirs::current().runtime.unwrap_or(fallback)
}

/// Where the server writes large outputs and images: the runtime directory, else the cache
/// directory (`~/.cache/azure-sessions-lsp`, `~/Library/Caches/…`, `%LOCALAPPDATA%\…\cache`).
pub fn output_dir() -> PathBuf {
    let dirs = Dirs::current();
    dirs.runtime.unwrap_or(dirs.cache)
}

/// The effective user id (0 on Windows, which has none).
pub fn euid() -> u32 {
    platform::euid()
}

/// Creates `dir` (and missing parents) private to this user, or checks an existing one: a real
/// directory (not a symlink), and on Unix owned by this user with no access for group or others
/// (a directory of ours with looser modes is tightened; one of someone else's is refused). On
/// Windows, privacy comes from `%LOCALAPPDATA%`'s ACL (see `platform::windows`).
pub fn ensure_private_dir(dir: &Path) -> Result<(), String> {
    if let Some(parent) = dir.parent()
        && !parent.as_os_str().is_empty()
        && !parent.exists()
    {
        platform::create_private_dir(parent, true)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    match platform::create_private_dir(dir, false) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
    }
    let meta =
        fs::symlink_metadata(dir).map_err(|e| format!("cannot inspect {}: {e}", dir.display()))?;
    if meta.file_type().is_symlink() {
        return Err(format!("{} is a symbolic link", dir.display()));
    }
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    platform::check_private_dir(dir, &meta)
}

/// Opens a new private file (0600 on Unix) at `path`: never an existing file, never through a
/// symlink.
pub fn create_new_private(path: &Path) -> std::io::Result<fs::File> {
    platform::create_new_private(path)
}

/// Writes `content` to a new private file named `{prefix}-{random}.{extension}` in `dir` (which
/// must pass [`ensure_private_dir`]) and returns its path.
pub fn write_new(
    dir: &Path,
    prefix: &str,
    extension: &str,
    content: &[u8],
) -> Result<PathBuf, String> {
    ensure_private_dir(dir)?;
    let name = format!(
        "{prefix}-{}.{extension}",
        uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .get(..16)
            .unwrap_or("0")
    );
    let path = dir.join(name);
    let mut file =
        create_new_private(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(content)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// 256 random bits as 64 hex digits, from the operating system's generator.
pub fn random_key() -> String {
    let mut bytes = [0u8; 32];
    if getrandom::fill(&mut bytes).is_err() {
        // Not seen on supported systems; v4 UUIDs reach the same source another way.
        for chunk in bytes.chunks_mut(16) {
            chunk.copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(all(test, unix))]
mod unix_tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn creates_private_dirs_and_files() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("a").join("b");
        ensure_private_dir(&dir).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        let path = write_new(&dir, "out", "txt", b"hello").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"hello");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        let again = write_new(&dir, "out", "txt", b"x").unwrap();
        assert_ne!(path, again, "names are random");
    }

    #[test]
    fn loose_modes_of_our_own_dir_are_tightened() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("open");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        ensure_private_dir(&dir).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    }

    #[test]
    fn a_symlinked_dir_is_refused() {
        let base = tempfile::tempdir().unwrap();
        let target = base.path().join("elsewhere");
        fs::create_dir(&target).unwrap();
        let link = base.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let error = ensure_private_dir(&link).unwrap_err();
        assert!(error.contains("symbolic link"), "{error}");
        assert!(write_new(&link, "out", "txt", b"x").is_err());
        assert_eq!(fs::read_dir(&target).unwrap().count(), 0);
    }

    #[test]
    fn a_planted_symlink_is_never_written_through() {
        let base = tempfile::tempdir().unwrap();
        let victim = base.path().join("victim");
        fs::write(&victim, b"original").unwrap();
        let planted = base.path().join("planted");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        assert!(create_new_private(&planted).is_err());
        assert_eq!(fs::read(&victim).unwrap(), b"original");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_256_bits_and_differ() {
        let (a, b) = (random_key(), random_key());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn private_files_are_new_and_dirs_are_made() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("a").join("b");
        ensure_private_dir(&dir).unwrap();
        ensure_private_dir(&dir).unwrap();
        let path = write_new(&dir, "out", "txt", b"hello").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"hello");
        assert!(create_new_private(&path).is_err(), "never an existing file");
        let file = base.path().join("file");
        fs::write(&file, b"x").unwrap();
        assert!(ensure_private_dir(&file).is_err(), "not a directory");
    }
}
