//! The crate's error type and its warnings.

use std::fmt;
use std::path::PathBuf;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while finding, loading, validating or planning a project.
///
/// `file` fields hold the file name as the user would recognise it (relative where the user
/// gave a relative path); `path` fields are key paths such as `services.web.ports[1]`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading a file failed; the message names the path (fs-err).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// No Compose file in the directory or any parent.
    #[error(
        "no compose file found in {dir} or any parent directory\nhint: create compose.yaml there or pass -f FILE"
    )]
    NotFound {
        /// Where the search started.
        dir: PathBuf,
    },
    /// The YAML itself does not parse.
    #[error("{file}:{line}:{column}: {message}")]
    Yaml {
        /// The Compose file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the YAML parser expected.
        message: String,
    },
    /// A value has the wrong shape or a reference is broken (message may carry a `hint:` line).
    #[error("{file}: {path}: {message}")]
    Invalid {
        /// The Compose file(s).
        file: String,
        /// The key path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// `${VAR:?err}` / `${VAR?err}` with the variable missing.
    #[error(
        "{file}: {path}: required variable {var} is missing a value{}\nhint: set {var} in the environment or in the .env file",
        detail_suffix(detail)
    )]
    MissingVariable {
        /// The Compose file.
        file: String,
        /// The key path of the value being interpolated.
        path: String,
        /// The variable.
        var: String,
        /// The error text written after `?`.
        detail: String,
    },
    /// A `$` that starts no valid substitution.
    #[error(
        "{file}: {path}: invalid interpolation format in {value:?}\nhint: write a literal $ as $$"
    )]
    BadInterpolation {
        /// The Compose file.
        file: String,
        /// The key path.
        path: String,
        /// The whole string value.
        value: String,
    },
    /// A line of an env file does not parse.
    #[error("{file}:{line}: {message}")]
    EnvFile {
        /// The env file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// `-p`, `COMPOSE_PROJECT_NAME` or `name:` is not a valid project name.
    #[error(
        "invalid project name {name:?} (from {origin})\nhint: use lowercase letters, digits, dashes and underscores, starting with a letter or digit"
    )]
    ProjectName {
        /// The name given.
        name: String,
        /// Where it came from (`-p`, `COMPOSE_PROJECT_NAME`, the file).
        origin: String,
    },
    /// The engine failed (image, container, network or volume); its message names the object.
    #[error(transparent)]
    Engine(#[from] berth_engine::Error),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] berth_store::Error),
    /// Building a service's image failed.
    #[error("building service {service}: {source}")]
    Build {
        /// The service.
        service: String,
        /// What the builder said.
        #[source]
        source: Box<berth_build::Error>,
    },
    /// A `.dockerignore` of a build context does not parse.
    #[error(transparent)]
    Dockerfile(#[from] berth_dockerfile::Error),
    /// A dependency did not reach the condition a dependant waits for.
    #[error("dependency failed to start: {message}\nhint: see `berth compose logs {dependency}`")]
    Dependency {
        /// The dependency.
        dependency: String,
        /// What happened (unhealthy, exited with code N …).
        message: String,
    },
    /// A command needs a container of a service and there is none.
    #[error(
        "service {service:?} has no {what} container\nhint: start it with `berth compose up -d {service}`"
    )]
    NoContainer {
        /// The service.
        service: String,
        /// `running`, or empty for any.
        what: String,
    },
    /// A service can neither be pulled nor built.
    #[error("service {service:?} has neither an image nor a build section")]
    NoImage {
        /// The service.
        service: String,
    },
    /// `--wait` or a dependency wait took too long.
    #[error("timed out after {seconds}s waiting for {what}")]
    Timeout {
        /// What was waited for.
        what: String,
        /// The limit.
        seconds: u64,
    },
    /// A `--scale`/selection option names a service the project lacks.
    #[error("no such service: {service}\nhint: defined services: {known}")]
    NoSuchService {
        /// The name given.
        service: String,
        /// Comma-separated defined services.
        known: String,
    },
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

/// A problem that does not stop loading (unknown key, unset variable, obsolete field).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// The file the warning is about.
    pub file: String,
    /// The key path (`services.web.foo`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.path, self.message)
    }
}
