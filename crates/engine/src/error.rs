//! The engine's error type.

use std::path::PathBuf;

/// Errors from the engine; each names the thing it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The local store refused or failed.
    #[error(transparent)]
    Store(#[from] berth_store::Error),
    /// The image layer (references, registry, layers, archives) failed.
    #[error(transparent)]
    Image(#[from] berth_image::Error),
    /// The OCI runtime failed.
    #[error(transparent)]
    Runtime(#[from] berth_runtime::Error),
    /// A `--change` instruction that `import` cannot apply.
    #[error(
        "invalid --change {change:?}: {reason}\nhint: supported: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL"
    )]
    InvalidChange {
        /// The instruction as given.
        change: String,
        /// What is wrong with it.
        reason: String,
    },
    /// berth's configuration file cannot be used.
    #[error("invalid configuration file {path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An image whose stored metadata is unusable (config without diff_ids, …).
    #[error("image {image}: {reason}")]
    BadImage {
        /// The image id or name.
        image: String,
        /// What is wrong.
        reason: String,
    },
    /// Downloading a URL (for `import`) failed.
    #[error("downloading {url}: {reason}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A background task of an image operation failed to run.
    #[error("internal task failed: {0}")]
    Task(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Shorthand for engine results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
