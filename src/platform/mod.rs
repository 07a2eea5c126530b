//! What differs between operating systems, in one place: where per-user files go, how they are
//! kept private, how a process tree is stopped, whether a process still runs, the "please stop"
//! signal, and how paths and `file:` URIs are spelled.
//!
//! The rest of the crate calls these functions and never tests `cfg(windows)` itself. The parts
//! that are plain text processing (directory choice, URI and path parsing, case folding) are
//! pure functions of an [`Os`] and take the environment as an argument, so the Windows and macOS
//! rules are unit-tested on every platform.

pub mod channel;
pub mod dirs;
pub mod paths;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

/// The operating-system families whose rules differ here. Other Unix systems follow Linux.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
}

impl Os {
    /// The system this binary was built for.
    pub const fn current() -> Os {
        if cfg!(windows) {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else {
            Os::Linux
        }
    }

    /// Whether this system's usual file systems ignore case in names (NTFS and APFS as
    /// installed by default), so that `C:\Proj` and `c:\proj` are one folder.
    pub const fn case_insensitive_paths(self) -> bool {
        matches!(self, Os::Windows | Os::MacOs)
    }
}

/// The Python 3 interpreter's usual name: `python` on Windows (where `python3` is at best the
/// Store's alias), `python3` elsewhere.
pub const DEFAULT_PYTHON: &str = if cfg!(windows) { "python" } else { "python3" };
