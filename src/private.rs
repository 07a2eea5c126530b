//! Per-user private places on disk: the directory for files the server writes (large outputs,
//! images) and for the local pool's key files. A directory is used only when it is ours (owned
//! by this user, not a symlink, no access for others); files are created new (`O_EXCL`), never
//! through a symlink (`O_NOFOLLOW`), mode 0600, under random names. Anything else is refused
//! with a reason, and callers keep their data in memory instead of writing through it.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const APP: &str = "azure-sessions-lsp";

/// `$XDG_RUNTIME_DIR/azure-sessions-lsp` when the session has one (per-user, 0700, cleared at
/// logout), else `fallback`.
pub fn runtime_dir_or(fallback: PathBuf) -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .map(|p| p.join(APP))
        .unwrap_or(fallback)
}

/// Where the server writes large outputs and images: the runtime directory, else
/// `$XDG_CACHE_HOME/azure-sessions-lsp` (`~/.cache/azure-sessions-lsp`).
pub fn output_dir() -> PathBuf {
    runtime_dir_or(cache_dir())
}

fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| home().join(".cache"))
        .join(APP)
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(std::env::temp_dir)
}

/// The effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Creates `dir` (and missing parents) as 0700, or checks an existing one: a real directory
/// (not a symlink), owned by this user, with no access for group or others. A directory of ours
/// with looser modes is tightened; one of someone else's is refused.
pub fn ensure_private_dir(dir: &Path) -> Result<(), String> {
    if let Some(parent) = dir.parent()
        && !parent.as_os_str().is_empty()
        && !parent.exists()
    {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
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
    if meta.uid() != euid() {
        return Err(format!(
            "{} belongs to another user (uid {})",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make {} private: {e}", dir.display()))?;
    }
    Ok(())
}

/// Opens a new 0600 file at `path`: never an existing file, never through a symlink.
pub fn create_new_private(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn keys_are_256_bits_and_differ() {
        let (a, b) = (random_key(), random_key());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
