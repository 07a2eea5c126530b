//! Unix (Linux, macOS): 0700 directories and 0600 files owned by the effective user, process
//! groups killed with SIGKILL, SIGTERM as the stop signal, and the worker's protocol socket
//! handed over as fd 3.

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::Mutex;

/// The effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Creates `path` as a 0700 directory (its missing parents too, when `recursive`).
pub fn create_private_dir(path: &Path, recursive: bool) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(recursive)
        .mode(0o700)
        .create(path)
}

/// Checks an existing real directory: owned by this user, no access for group or others (a
/// directory of ours with looser modes is tightened).
pub fn check_private_dir(dir: &Path, meta: &fs::Metadata) -> Result<(), String> {
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

/// Whether a file (not followed through a symlink) belongs to this user.
pub fn is_own(meta: &fs::Metadata) -> bool {
    meta.uid() == euid()
}

/// Opens a new 0600 file at `path`: never an existing file, never through a symlink.
pub fn create_new_private(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Opens `path` for writing from the start, created 0600 if missing.
pub fn create_or_truncate_private(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// Makes a file (0600) or a directory (0700) private; errors are the caller's to ignore.
pub fn make_private(path: &Path, is_dir: bool) -> io::Result<()> {
    let mode = if is_dir { 0o700 } else { 0o600 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// The mode bits of a file, for tests and the doctor (`None` on platforms without them).
pub fn mode_bits(meta: &fs::Metadata) -> Option<u32> {
    Some(meta.mode() & 0o777)
}

/// Whether a process runs; a zombie (dead, not yet reaped) does not.
pub fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        return match fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
            Err(_) => false,
        };
    }
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Resolves when the process is asked to stop (SIGTERM).
pub async fn terminated() -> io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    term.recv().await;
    Ok(())
}

/// The signal that ended a process, if one did.
pub fn exit_signal(status: &std::process::ExitStatus) -> Option<i32> {
    status.signal()
}

/// The signal number of a kill by the pool (SIGKILL).
pub const KILL_SIGNAL: i32 = libc::SIGKILL;

/// How a group's leader ended.
#[derive(Debug, Clone, Copy)]
pub struct LeaderExit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// User plus system CPU time of the leader and its reaped children.
    pub cpu_millis: Option<u64>,
}

/// A process and everything it starts: a process group that the child leads. Its leader is
/// reaped by [`ProcessGroup::wait_leader`] only under `reaped`'s lock, so a kill never reaches
/// a group whose number was reused.
#[derive(Debug)]
pub struct ProcessGroup {
    pgid: i32,
    reaped: Mutex<bool>,
}

impl ProcessGroup {
    /// Makes a command's child lead a new group (call before spawning).
    pub fn isolate(cmd: &mut tokio::process::Command) {
        cmd.process_group(0);
    }

    /// [`ProcessGroup::isolate`] for a std command.
    pub fn isolate_std(cmd: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }

    /// The group of a child spawned after `isolate` (`None` if it has already been reaped).
    pub fn of_tokio(child: &tokio::process::Child) -> Option<ProcessGroup> {
        Self::of_pid(child.id()?)
    }

    pub fn of_std(child: &std::process::Child) -> Option<ProcessGroup> {
        Self::of_pid(child.id())
    }

    fn of_pid(pid: u32) -> Option<ProcessGroup> {
        let pgid = i32::try_from(pid).ok().filter(|p| *p > 1)?;
        Some(ProcessGroup {
            pgid,
            reaped: Mutex::new(false),
        })
    }

    /// A number that names the group while it runs.
    pub fn id(&self) -> u64 {
        self.pgid as u64
    }

    /// Kills every process of the group.
    pub fn kill(&self) {
        let reaped = self.reaped.lock().unwrap_or_else(|p| p.into_inner());
        if !*reaped {
            // SAFETY: kill(2) has no memory preconditions; the leader is not reaped by us.
            unsafe {
                libc::kill(-self.pgid, libc::SIGKILL);
            }
        }
    }

    /// Blocks until the leader (spawned by std, never waited for by it) ends, kills what is
    /// left of its group, then reaps the leader: its exit and CPU time (its own and its reaped
    /// children's: a compiler driver's CPU time includes its compiler's).
    pub fn wait_leader(&self) -> Option<LeaderExit> {
        loop {
            // SAFETY: a zeroed siginfo_t is a valid out-buffer for waitid(2).
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: `info` is a valid, writable siginfo_t. WNOWAIT leaves the leader a zombie,
            // which keeps its pid (and the group's number) from being reused.
            let r = unsafe {
                libc::waitid(
                    libc::P_PID,
                    self.pgid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if r == 0 {
                break;
            }
            if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return None;
            }
        }
        let mut reaped = self.reaped.lock().unwrap_or_else(|p| p.into_inner());
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid out-buffer for wait4(2).
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: kill(2) has no memory preconditions; the leader is an unreaped zombie, so
        // the group number is still this group's.
        unsafe {
            libc::kill(-self.pgid, libc::SIGKILL);
        }
        loop {
            // SAFETY: `status` and `usage` are valid, writable out-buffers.
            let r = unsafe { libc::wait4(self.pgid, &mut status, 0, &mut usage) };
            if r == self.pgid {
                break;
            }
            if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return None;
            }
        }
        *reaped = true;
        let ended = std::process::ExitStatus::from_raw(status);
        let ms = |t: libc::timeval| {
            u64::try_from(t.tv_sec).unwrap_or(0) * 1000
                + u64::try_from(t.tv_usec).unwrap_or(0) / 1000
        };
        Some(LeaderExit {
            code: ended.code(),
            signal: ended.signal(),
            cpu_millis: Some(ms(usage.ru_utime) + ms(usage.ru_stime)),
        })
    }
}

/// The fd on which the worker finds its protocol socket (worker.py and worker.js agree).
const PROTOCOL_FD: i32 = 3;

/// Hands the worker its end of a socket pair as fd 3; the returned stream is the pool's end.
/// The command owns the child's end until it is dropped: drop it right after spawning, or the
/// pool never sees EOF.
pub fn inherited_worker_channel(
    cmd: &mut tokio::process::Command,
) -> io::Result<tokio::net::UnixStream> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
    ours.set_nonblocking(true)?;
    let ours = tokio::net::UnixStream::from_std(ours)?;
    // dup2 onto itself would keep close-on-exec: make sure the socket is not fd 3 already.
    let theirs = if theirs.as_raw_fd() == PROTOCOL_FD {
        theirs.try_clone()?
    } else {
        theirs
    };
    let theirs = OwnedFd::from(theirs);
    // SAFETY: only dup2(2), which is async-signal-safe, runs between fork and exec. The
    // closure owns the socket, so dropping the command closes the parent's copy.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(theirs.as_raw_fd(), PROTOCOL_FD) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(ours)
}

/// stdin and stdout as non-blocking pipes, when both are pipes (not a file or a terminal):
/// tokio's stdin/stdout hand every read and write to a blocking thread.
pub fn stdio_pipes() -> Option<(
    tokio::net::unix::pipe::Receiver,
    tokio::net::unix::pipe::Sender,
)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;
    let is_fifo = |fd: std::os::fd::BorrowedFd<'_>| {
        fd.try_clone_to_owned()
            .ok()
            .map(fs::File::from)
            .and_then(|f| f.metadata().ok())
            .is_some_and(|m| m.file_type().is_fifo())
    };
    let (stdin, stdout) = (io::stdin(), io::stdout());
    if !is_fifo(stdin.as_fd()) || !is_fifo(stdout.as_fd()) {
        return None;
    }
    let input =
        tokio::net::unix::pipe::Receiver::from_owned_fd(stdin.as_fd().try_clone_to_owned().ok()?)
            .ok()?;
    let output =
        tokio::net::unix::pipe::Sender::from_owned_fd(stdout.as_fd().try_clone_to_owned().ok()?)
            .ok()?;
    Some((input, output))
}
