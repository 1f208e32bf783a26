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
}

/// Shorthand for engine results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
