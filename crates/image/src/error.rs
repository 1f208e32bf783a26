//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in `berth-image`. Each variant names the offending value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A reference that Docker's grammar rejects.
    #[error("invalid reference format: {reason}: {reference}")]
    InvalidReference {
        /// The text as the user gave it.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A digest string that is not `algorithm:hex` with a known algorithm.
    #[error("invalid digest {digest}: {reason}")]
    InvalidDigest {
        /// The digest text.
        digest: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Content whose hash is not the one it was fetched or stored under.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// What was being verified (a blob, a manifest, a layer).
        what: String,
        /// The digest the content should have had.
        expected: String,
        /// The digest the content really had.
        actual: String,
    },
    /// Content of another length than its descriptor says.
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The content's digest.
        digest: String,
        /// The size from the descriptor.
        expected: u64,
        /// The size read so far (at least).
        actual: u64,
    },
    /// A manifest, config or layer media type this crate does not handle.
    #[error("unsupported media type {media_type}")]
    UnsupportedMediaType {
        /// The media type as the registry or file gave it.
        media_type: String,
    },
    /// A manifest list or index with no entry for the wanted platform.
    #[error(
        "no image for platform {wanted} in the manifest list; available: {available}\nhint: pass --platform with one of the available platforms"
    )]
    NoMatchingPlatform {
        /// The platform asked for (`os/arch[/variant]`).
        wanted: String,
        /// The platforms the list offers, comma separated.
        available: String,
    },
    /// A platform string that is not `os/arch[/variant]`.
    #[error("invalid platform {platform}: expected os/arch[/variant]")]
    InvalidPlatform {
        /// The platform text.
        platform: String,
    },
    /// JSON that does not parse as what it claims to be.
    #[error("invalid {what}: {source}")]
    Json {
        /// What was parsed (e.g. `manifest sha256:…`, `/root/.docker/config.json`).
        what: String,
        /// The parser's error, with line and column.
        source: serde_json::Error,
    },
    /// A filesystem or stream error; `fs_err` errors name their path.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// An I/O error on a path this crate opened itself.
    #[error("{op} {path}: {source}")]
    Path {
        /// What was being done (`opening`, `creating`, …).
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A network error talking to a registry.
    #[error("request to {url} failed: {source}")]
    Http {
        /// The URL requested.
        url: String,
        /// reqwest's error.
        source: reqwest::Error,
    },
    /// A registry answered with an error status.
    #[error("{method} {url}: registry answered {status}: {message}")]
    RegistryStatus {
        /// The HTTP method.
        method: String,
        /// The URL requested.
        url: String,
        /// The status code.
        status: u16,
        /// The registry's error message (from its JSON `errors`, or the body).
        message: String,
    },
    /// The registry refused our credentials or wants some we do not have.
    #[error(
        "unauthorized: authentication required for {registry}: {message}\nhint: run `berth login {registry}`"
    )]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// The registry's message.
        message: String,
    },
    /// The manifest or blob does not exist in the repository.
    #[error("{what} not found in {repository}")]
    NotFound {
        /// What was asked for (a tag, a digest).
        what: String,
        /// The repository (`host/name`).
        repository: String,
    },
    /// A registry answer we cannot use (bad header, missing location …).
    #[error("bad answer from registry {registry}: {reason}")]
    Protocol {
        /// The registry host.
        registry: String,
        /// What was wrong.
        reason: String,
    },
    /// The v2 API has no search; only Docker Hub's own API has it.
    #[error(
        "search is not supported by this registry: {registry}\nhint: the registry API (v2) has no search; browse the registry's web site instead"
    )]
    SearchUnsupported {
        /// The registry host.
        registry: String,
    },
    /// A credentials file (`config.json`) that cannot be used.
    #[error("invalid credentials file {path}: {reason}")]
    AuthConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A Docker credential helper (`docker-credential-<name>`) that failed.
    #[error("credential helper {helper} {op}: {reason}")]
    CredentialHelper {
        /// The program.
        helper: String,
        /// `get`, `store` or `erase`.
        op: &'static str,
        /// What it said or why it could not run.
        reason: String,
    },
    /// A tar entry that would write outside the target or is otherwise unsafe.
    #[error("refusing layer entry {entry}: {reason}")]
    UnsafeEntry {
        /// The entry's path as it stands in the tar.
        entry: String,
        /// Why it was refused.
        reason: String,
    },
    /// A malformed tar stream or entry.
    #[error("invalid layer tar at entry {entry}: {source}")]
    Tar {
        /// The entry's path (or `<header>` before a path is known).
        entry: String,
        /// The cause.
        source: std::io::Error,
    },
    /// An image archive (docker-archive, OCI layout) that cannot be read.
    #[error("invalid image archive {path}: {reason}")]
    Archive {
        /// The archive or layout directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Short for `Result<T, berth_image::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Unwraps an `io::Error` from one of this crate's readers: a digest or size mismatch
    /// travels inside the `io::Error` a `read` returns and comes back out typed here.
    #[must_use]
    pub fn from_io(e: std::io::Error) -> Self {
        crate::digest::from_io(e)
    }

    pub(crate) fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        Self::Json {
            what: what.into(),
            source,
        }
    }
}
