//! The runtime's error type: every variant names what failed and the value involved.

use std::path::PathBuf;

/// Errors from berth's OCI runtime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// config.json could not be read.
    #[error("reading {path}: {source}")]
    ReadConfig {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// config.json is not valid JSON or has a field of the wrong shape.
    #[error("{path}: invalid field `{field}`: {message}")]
    InvalidConfig {
        path: PathBuf,
        field: String,
        message: String,
    },
    /// config.json is well formed but asks for something berth cannot do.
    #[error("config field `{field}`: {message}")]
    Unsupported { field: String, message: String },
    /// A container id is not valid.
    #[error(
        "invalid container id {id:?}: {reason}\nhint: use letters, digits, `_`, `-`, `.` and `+`, at most 1024 characters"
    )]
    InvalidId { id: String, reason: &'static str },
    /// A container with this id already exists in the state root.
    #[error(
        "container {id:?} already exists\nhint: delete it first with `delete {id}`, or pick another id"
    )]
    AlreadyExists { id: String },
    /// No container with this id exists.
    #[error("container {id:?} does not exist")]
    NotFound { id: String },
    /// The container is in a state that does not allow the operation.
    #[error("container {id:?} is {status}: cannot {op}{hint}")]
    BadState {
        id: String,
        status: String,
        op: &'static str,
        hint: &'static str,
    },
    /// A filesystem operation failed; names the path.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A system call failed.
    #[error("{op}: {source}")]
    Sys {
        op: String,
        #[source]
        source: nix::Error,
    },
    /// A path from the config escapes its root.
    #[error("path {path:?} escapes the container root {root}")]
    PathEscape { path: String, root: PathBuf },
    /// Failure reported by the container's init process while it set itself up.
    #[error("{0}")]
    Init(String),
    /// The container's program cannot be executed.
    #[error("{message}")]
    Exec { message: String, status: i32 },
    /// A hook failed.
    #[error("{kind} hook {path}: {message}")]
    Hook {
        kind: &'static str,
        path: PathBuf,
        message: String,
    },
    /// A cgroup operation failed.
    #[error(transparent)]
    Cgroup(#[from] berth_cgroups::Error),
    /// A seccomp profile could not be built or loaded.
    #[error("seccomp: {0}")]
    Seccomp(String),
    /// The state file of a container is damaged.
    #[error("state of container {id:?} at {path} is unreadable: {message}")]
    CorruptState {
        id: String,
        path: PathBuf,
        message: String,
    },
    /// Several errors met during a teardown that continued past the first one.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Many(Vec<Error>),
}

/// Shorthand for the runtime's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A system call error with the operation's description.
    pub fn sys(op: impl Into<String>, source: nix::Error) -> Self {
        Error::Sys {
            op: op.into(),
            source,
        }
    }

    /// A filesystem error naming its path.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Adds the operation to a nix error.
pub(crate) trait SysContext<T> {
    fn ctx(self, op: impl FnOnce() -> String) -> Result<T>;
}

impl<T> SysContext<T> for nix::Result<T> {
    fn ctx(self, op: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::sys(op(), e))
    }
}
