//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while driving cgroups.
///
/// Each variant carries the offending value: the path, the value written, the spec field.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem error from fs-err (its message names the path).
    #[error(transparent)]
    Io(#[from] io::Error),

    /// `linux.cgroupsPath` is not usable.
    #[error("invalid cgroupsPath {path:?}: {reason}")]
    InvalidPath {
        /// The path as given in the spec.
        path: String,
        /// Why it was refused, possibly followed by a `hint:` line.
        reason: String,
    },

    /// /proc/self/mountinfo could not be understood.
    #[error("cannot parse line {line} of {path}: {content:?}")]
    Mountinfo {
        /// The mountinfo file that was read.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The offending line.
        content: String,
    },

    /// Neither a cgroup v1 nor a cgroup v2 filesystem is mounted.
    #[error(
        "no cgroup filesystem is mounted (looked in {path})\nhint: mount cgroup2 at /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup)"
    )]
    NoCgroupFs {
        /// The mountinfo file that was read.
        path: PathBuf,
    },

    /// The spec asks to limit something whose controller the host does not have.
    #[error("cgroup controller {controller} is not available on this host (needed for {field})")]
    ControllerMissing {
        /// Controller name (`hugetlb`, `memory`, `net_cls` ...).
        controller: String,
        /// The spec field that needs it (`linux.resources.hugepageLimits`).
        field: String,
    },

    /// A spec field that this host or cgroup version cannot apply.
    #[error("{field} is not supported: {reason}")]
    Unsupported {
        /// The spec field.
        field: String,
        /// Why, possibly followed by a `hint:` line.
        reason: String,
    },

    /// A spec value that no cgroup file accepts.
    #[error("invalid value {value:?} for {field}: {reason}")]
    InvalidValue {
        /// The spec field.
        field: String,
        /// The value as given.
        value: String,
        /// What is expected instead.
        reason: String,
    },

    /// Writing a cgroup control file failed.
    #[error("cannot write {value:?} to {path}: {source}")]
    Write {
        /// The control file.
        path: PathBuf,
        /// What was written.
        value: String,
        /// The kernel's answer.
        source: io::Error,
    },

    /// Reading a cgroup control file or directory failed.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The kernel's answer.
        source: io::Error,
    },

    /// Creating or removing a cgroup directory failed.
    #[error("cannot {op} cgroup directory {path}: {source}")]
    Dir {
        /// `create` or `remove`.
        op: &'static str,
        /// The directory.
        path: PathBuf,
        /// The kernel's answer.
        source: io::Error,
    },

    /// A control file held something we could not parse.
    #[error("unexpected content in {path}: {content:?}")]
    Parse {
        /// The control file.
        path: PathBuf,
        /// What it held (possibly one line of it).
        content: String,
    },

    /// The freezer did not reach the requested state in time.
    #[error("cgroup {path} did not become {state} within {millis} ms")]
    FreezeTimeout {
        /// The cgroup directory.
        path: PathBuf,
        /// `FROZEN` or `THAWED`.
        state: &'static str,
        /// How long we waited.
        millis: u64,
    },

    /// Sending a signal to a process of the cgroup failed.
    #[error("cannot send signal {signal} to process {pid}: {source}")]
    Signal {
        /// Target process.
        pid: i32,
        /// Signal number.
        signal: i32,
        /// The kernel's answer.
        source: nix::errno::Errno,
    },

    /// A bpf(2) call for the v2 device filter failed.
    #[error("bpf({op}) failed for {path}: {source}{log}")]
    Bpf {
        /// `BPF_PROG_LOAD`, `BPF_PROG_ATTACH` ...
        op: &'static str,
        /// The cgroup directory.
        path: PathBuf,
        /// The kernel's answer.
        source: io::Error,
        /// The verifier log (empty or starting with a newline).
        log: String,
    },

    /// Removing the cgroup failed in one or more hierarchies; every failure is listed.
    #[error("cannot remove cgroup {path}:\n{}", list(.errors))]
    Destroy {
        /// The cgroupsPath.
        path: String,
        /// One error per hierarchy that failed.
        errors: Vec<Error>,
    },
}

fn list(errors: &[Error]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    /// The raw OS error number behind this error, if any (`EBUSY`, `ENOENT` ...).
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Write { source, .. }
            | Error::Read { source, .. }
            | Error::Dir { source, .. }
            | Error::Bpf { source, .. } => source.raw_os_error(),
            Error::Io(e) => e.raw_os_error(),
            Error::Signal { source, .. } => Some(*source as i32),
            _ => None,
        }
    }
}
