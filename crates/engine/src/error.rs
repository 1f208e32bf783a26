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
    /// Networking (bridges, addresses, ports, DNS) failed.
    #[error(transparent)]
    Net(#[from] berth_net::Error),
    /// A network still has containers.
    #[error(
        "error while removing network: network {name} has active endpoints ({containers})\nhint: stop and remove those containers, or disconnect them first"
    )]
    NetworkInUse {
        /// The network.
        name: String,
        /// Names of the containers using it.
        containers: String,
    },
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
    // container and volume errors
    /// A flag or argument has a value berth cannot use.
    #[error("invalid {flag} value {value:?}\nhint: {hint}")]
    Invalid {
        /// The flag (`--memory`).
        flag: &'static str,
        /// What the user gave.
        value: String,
        /// What to do instead.
        hint: String,
    },
    /// JSON that berth wrote or was given does not parse.
    #[error("{what}: {source}")]
    Json {
        /// What was being read.
        what: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The container's state does not allow the operation.
    #[error("container {name} is {status}: cannot {op}{hint}")]
    ContainerState {
        /// Container name.
        name: String,
        /// Its status.
        status: String,
        /// What was asked.
        op: &'static str,
        /// `\nhint: …` or empty.
        hint: String,
    },
    /// A system call failed.
    #[error("{what}: {source}")]
    Sys {
        /// What berth was doing.
        what: String,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// No local image by that name.
    #[error(
        "no such image: {reference}\nhint: pull it first (berth pull {reference}), or load/import it"
    )]
    ImageMissing {
        /// The name the user gave.
        reference: String,
    },
    /// A request Docker's daemon refuses too, worded as Docker words it (scripts match
    /// these messages), possibly followed by a `hint:` line.
    #[error("{message}")]
    Refused {
        /// The message.
        message: String,
    },
    /// The container's monitor failed to start it.
    #[error("{0}")]
    Monitor(String),
    /// The container's program could not be executed (126) or found (127).
    #[error("{message}")]
    Exec {
        /// The runtime's explanation.
        message: String,
        /// 126 or 127.
        status: i32,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The exit status Docker uses for this error: 126/127 when the program could not
    /// run, 125 for everything else.
    pub fn exit_status(&self) -> i32 {
        match self {
            Error::Exec { status, .. }
            | Error::Runtime(berth_runtime::Error::Exec { status, .. }) => *status,
            _ => 125,
        }
    }
}

/// Shorthand for engine results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
