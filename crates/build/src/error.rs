//! The builder's one error type.

use std::path::PathBuf;

/// Everything a build can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The Dockerfile is wrong (carries file:line:col).
    #[error(transparent)]
    Dockerfile(#[from] berth_dockerfile::Error),
    /// The engine failed (images, containers, store).
    #[error(transparent)]
    Engine(#[from] berth_engine::Error),
    /// A `RUN` step exited with a non-zero code.
    #[error(
        "process \"{command}\" did not complete successfully: exit code: {code}{}",
        if tail.is_empty() { String::new() } else { format!("\nlast output lines:\n{tail}") }
    )]
    RunFailed {
        /// The command as written.
        command: String,
        /// Its exit code.
        code: i32,
        /// Its last output lines.
        tail: String,
    },
    /// A `COPY`/`ADD` source is missing or outside the context.
    #[error("{instruction}: {source_path}: {reason}")]
    Source {
        /// `COPY` or `ADD`.
        instruction: &'static str,
        /// The source as written.
        source_path: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A flag or instruction value berth cannot use.
    #[error("{what}: {value}\nhint: {hint}")]
    Invalid {
        /// What was given.
        what: &'static str,
        /// The value.
        value: String,
        /// What to do instead.
        hint: String,
    },
    /// JSON of the cache or an image config.
    #[error("{what}: {source}")]
    Json {
        /// What was being read or written.
        what: String,
        /// The parser's message.
        source: serde_json::Error,
    },
    /// A stage built by a child process failed (its error, as the child rendered it).
    #[error("{message}")]
    Stage {
        /// The stage's name (`builder`, `stage-1`).
        stage: String,
        /// The child's error message.
        message: String,
    },
    /// Downloading an `ADD` URL.
    #[error("downloading {url}: {reason}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// The builder's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
