//! Windows: files under `%LOCALAPPDATA%` (private by that folder's default ACL), process trees
//! in job objects, console close/shutdown as the stop signal, and the worker's protocol over a
//! loopback connection (see `channel`).
//!
//! Privacy: `%LOCALAPPDATA%` (`C:\Users\NAME\AppData\Local`) is created by Windows with an ACL
//! that grants access to the user, SYSTEM and Administrators only, and files and folders created
//! inside inherit it; the state directory, the pool's key files and the large-output files all
//! live there by default. No POSIX owner or mode exists to check, so the checks that remain are
//! the ones that matter without them: a directory is never a symbolic link or junction, and files
//! are created new, never opened through a reparse point.

use std::fs;
use std::io;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::{AsRawHandle, BorrowedHandle, OwnedHandle, RawHandle};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, STILL_ACTIVE};
use windows_sys::Win32::Storage::FileSystem::FILE_FLAG_OPEN_REPARSE_POINT;
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JobObjectBasicAccountingInformation, JobObjectExtendedLimitInformation,
    QueryInformationJobObject, SetInformationJobObject, TerminateJobObject,
};
use windows_sys::Win32::System::Threading::{
    CREATE_NO_WINDOW, GetExitCodeProcess, INFINITE, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
    WaitForSingleObject,
};

/// There is no user id to compare on Windows; 0 stands for "this user".
pub fn euid() -> u32 {
    0
}

/// Creates `path` as a directory (its missing parents too, when `recursive`); it inherits the
/// ACL of its parent (private under `%LOCALAPPDATA%`).
pub fn create_private_dir(path: &Path, recursive: bool) -> io::Result<()> {
    if recursive {
        fs::create_dir_all(path)
    } else {
        fs::create_dir(path)
    }
}

/// Nothing beyond the symlink check (done by the caller) can be checked without POSIX owners;
/// see the module's text.
pub fn check_private_dir(_dir: &Path, _meta: &fs::Metadata) -> Result<(), String> {
    Ok(())
}

/// Files found in our per-user directories are taken as ours (see the module's text).
pub fn is_own(_meta: &fs::Metadata) -> bool {
    true
}

/// Opens a new file at `path`: never an existing file, never through a reparse point.
pub fn create_new_private(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
}

/// Opens `path` for writing from the start, created if missing.
pub fn create_or_truncate_private(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}

/// Files inherit their folder's ACL; nothing to change.
pub fn make_private(_path: &Path, _is_dir: bool) -> io::Result<()> {
    Ok(())
}

/// Windows files have no mode bits.
pub fn mode_bits(_meta: &fs::Metadata) -> Option<u32> {
    None
}

/// Whether a process runs.
pub fn process_alive(pid: u32) -> bool {
    // SAFETY: OpenProcess takes no pointers; a null result means no such process (or no right
    // to ask, which the pool's own processes always give).
    let handle = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if handle.is_null() {
        return false;
    }
    let mut code = 0u32;
    // SAFETY: `handle` is a valid process handle and `code` a valid out-pointer.
    let ok = unsafe { GetExitCodeProcess(handle, &mut code) } != 0;
    // SAFETY: `handle` was opened above and is closed once.
    unsafe { CloseHandle(handle) };
    ok && code == STILL_ACTIVE as u32
}

/// Resolves when the console is closed or the system shuts down (Windows' SIGTERM).
pub async fn terminated() -> io::Result<()> {
    let mut close = tokio::signal::windows::ctrl_close()?;
    let mut shutdown = tokio::signal::windows::ctrl_shutdown()?;
    tokio::select! {
        _ = close.recv() => {}
        _ = shutdown.recv() => {}
    }
    Ok(())
}

/// Windows processes do not end by signals.
pub fn exit_signal(_status: &std::process::ExitStatus) -> Option<i32> {
    None
}

/// The number reported for a kill by the pool: SIGKILL's, as Piston reports it on every
/// platform.
pub const KILL_SIGNAL: i32 = 9;

/// How a job's first process ended.
#[derive(Debug, Clone, Copy)]
pub struct LeaderExit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// User plus kernel CPU time of every process the job held.
    pub cpu_millis: Option<u64>,
}

/// A process and everything it starts: a job object that kills all its processes when it is
/// terminated or its last handle closes (`JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`). A process the
/// child starts in the instant between its creation and its assignment to the job is outside
/// it; the pool's workers start nothing that early.
#[derive(Debug)]
pub struct ProcessGroup {
    job: OwnedHandle,
    process: OwnedHandle,
    id: u64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl ProcessGroup {
    /// No console window for the pool's children (call before spawning).
    pub fn isolate(cmd: &mut tokio::process::Command) {
        cmd.creation_flags(CREATE_NO_WINDOW);
    }

    pub fn isolate_std(cmd: &mut std::process::Command) {
        use std::os::windows::process::CommandExt;
        cmd.creation_flags(CREATE_NO_WINDOW);
    }

    /// Puts a spawned child in a new job.
    pub fn of_tokio(child: &tokio::process::Child) -> Option<ProcessGroup> {
        Self::of_handle(child.raw_handle()?)
    }

    pub fn of_std(child: &std::process::Child) -> Option<ProcessGroup> {
        Self::of_handle(child.as_raw_handle())
    }

    fn of_handle(process: RawHandle) -> Option<ProcessGroup> {
        // SAFETY: the child owns `process` and outlives this call; it is duplicated below.
        let process = unsafe { BorrowedHandle::borrow_raw(process) }
            .try_clone_to_owned()
            .ok()?;
        // SAFETY: null attributes and name are allowed.
        let job = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if job.is_null() {
            return None;
        }
        // SAFETY: `job` is a new, valid handle that nothing else owns.
        let job = unsafe { OwnedHandle::from_raw_handle_(job) };
        // SAFETY: a zeroed JOBOBJECT_EXTENDED_LIMIT_INFORMATION is valid (all plain integers).
        let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        // SAFETY: the pointer and size describe `limits`.
        let set = unsafe {
            SetInformationJobObject(
                job.as_raw_handle() as HANDLE,
                JobObjectExtendedLimitInformation,
                (&raw const limits).cast(),
                std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            )
        };
        // SAFETY: both handles are valid.
        let assigned = unsafe {
            AssignProcessToJobObject(
                job.as_raw_handle() as HANDLE,
                process.as_raw_handle() as HANDLE,
            )
        };
        if set == 0 || assigned == 0 {
            return None;
        }
        Some(ProcessGroup {
            job,
            process,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// Ends every process of the job.
    pub fn kill(&self) {
        // SAFETY: the job handle is valid while `self` lives.
        unsafe {
            TerminateJobObject(self.job.as_raw_handle() as HANDLE, 1);
        }
    }

    /// Blocks until the first process ends, ends the rest of the job, and says how it ended.
    pub fn wait_leader(&self) -> Option<LeaderExit> {
        let process = self.process.as_raw_handle() as HANDLE;
        // SAFETY: the process handle is valid while `self` lives.
        unsafe { WaitForSingleObject(process, INFINITE) };
        let mut code = 0u32;
        // SAFETY: valid handle and out-pointer.
        if unsafe { GetExitCodeProcess(process, &mut code) } == 0 {
            return None;
        }
        self.kill();
        // SAFETY: a zeroed accounting record is valid; the pointer and size describe it.
        let mut info: JOBOBJECT_BASIC_ACCOUNTING_INFORMATION = unsafe { std::mem::zeroed() };
        let queried = unsafe {
            QueryInformationJobObject(
                self.job.as_raw_handle() as HANDLE,
                JobObjectBasicAccountingInformation,
                (&raw mut info).cast(),
                std::mem::size_of::<JOBOBJECT_BASIC_ACCOUNTING_INFORMATION>() as u32,
                std::ptr::null_mut(),
            )
        } != 0;
        // 100-nanosecond units.
        let cpu = (info.TotalUserTime.max(0) as u64 + info.TotalKernelTime.max(0) as u64) / 10_000;
        Some(LeaderExit {
            code: Some(code as i32),
            signal: None,
            cpu_millis: queried.then_some(cpu),
        })
    }
}

trait FromRawHandle {
    /// # Safety
    /// `handle` must be valid and owned by nothing else.
    unsafe fn from_raw_handle_(handle: HANDLE) -> Self;
}

impl FromRawHandle for OwnedHandle {
    unsafe fn from_raw_handle_(handle: HANDLE) -> Self {
        // SAFETY: forwarded to the caller.
        unsafe { std::os::windows::io::FromRawHandle::from_raw_handle(handle as RawHandle) }
    }
}

/// Console pipes on Windows go through tokio's stdin/stdout.
pub fn stdio_pipes() -> Option<(tokio::io::Stdin, tokio::io::Stdout)> {
    None
}
