//! The store's one error type.

use std::path::PathBuf;

/// Result with the store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the store. Each variant names the
/// offending value: the path, id, name, digest or chain id.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file system operation failed; `fs_err` puts the path in the message.
    #[error(transparent)]
    Io(#[from] std::io::Error),

    /// A file system operation failed on a path the message names.
    #[error("{op} {path}: {source}")]
    Path {
        /// What was being done (`mount overlay on`, `copy`, ...).
        op: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },

    /// SQLite reported an error.
    #[error("store database: {0}")]
    Db(#[from] rusqlite::Error),

    /// The database was written by a newer berth.
    #[error(
        "store database {path} has schema version {found}, this berth knows up to {supported}\nhint: upgrade berth, or use another --root"
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// Version found in the file.
        found: i64,
        /// Highest version this build understands.
        supported: i64,
    },

    /// A JSON column or value could not be encoded or decoded.
    #[error("{what}: invalid JSON: {source}")]
    Json {
        /// Which record (e.g. `state of container 3f2a…`).
        what: String,
        /// The cause.
        source: serde_json::Error,
    },

    /// A digest is not `sha256:<64 lowercase hex>`.
    #[error("invalid digest {0:?}\nhint: digests look like sha256:<64 lowercase hex digits>")]
    InvalidDigest(String),

    /// Content did not hash to the digest it was announced with.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The digest the caller announced.
        expected: String,
        /// The digest of the bytes actually written.
        actual: String,
    },

    /// No blob with this digest in the store.
    #[error("blob {0} not found in the store")]
    BlobNotFound(String),

    /// No image matches the reference or id.
    #[error("no such image: {0}")]
    ImageNotFound(String),

    /// An id prefix or name matches more than one object.
    #[error("{kind} {prefix:?} is ambiguous: it matches {}\nhint: give more characters of the id", .matches.join(", "))]
    Ambiguous {
        /// `container`, `image`, `network`.
        kind: &'static str,
        /// What the user gave.
        prefix: String,
        /// The ids it matches (short form).
        matches: Vec<String>,
    },

    /// An image is used by containers and removal was not forced.
    #[error(
        "unable to remove image {image}: it is in use by container{} {}\nhint: remove the containers first, or force the removal with -f", if .containers.len() == 1 { "" } else { "s" }, .containers.join(", ")
    )]
    ImageInUse {
        /// The image (id or reference as given).
        image: String,
        /// Short ids of the containers using it.
        containers: Vec<String>,
    },

    /// Removing an image by id that has several tags needs force.
    #[error(
        "unable to delete image {image}: it is referenced by several tags ({})\nhint: remove the tags one by one, or force the removal with -f", .tags.join(", ")
    )]
    ImageHasTags {
        /// The image id as given.
        image: String,
        /// Its tags.
        tags: Vec<String>,
    },

    /// An image names a layer snapshot the store does not hold.
    #[error("snapshot {0} not found in the store")]
    SnapshotNotFound(String),

    /// A snapshot is still referenced by images, containers or children.
    #[error("snapshot {chain_id} is in use by {}", .users.join(", "))]
    SnapshotInUse {
        /// The snapshot's chain id.
        chain_id: String,
        /// Who uses it (`image sha256:…`, `container 3f2a…`, `snapshot sha256:…`).
        users: Vec<String>,
    },

    /// A name (container, volume, network) is malformed.
    #[error("invalid {kind} name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName {
        /// `container`, `volume`, `network`.
        kind: &'static str,
        /// The name given.
        name: String,
    },

    /// An id is not 64 lowercase hex digits.
    #[error("invalid {kind} id {id:?}: expected 64 lowercase hex digits")]
    InvalidId {
        /// `container`, `network`.
        kind: &'static str,
        /// The id given.
        id: String,
    },

    /// A container name is taken.
    #[error(
        "the container name \"/{name}\" is already in use by container {id}\nhint: remove or rename that container, or choose another name"
    )]
    ContainerNameInUse {
        /// The conflicting name.
        name: String,
        /// The container that holds it (full id).
        id: String,
    },

    /// A container id is taken.
    #[error("container id {0} already exists")]
    ContainerIdInUse(String),

    /// No container matches.
    #[error("no such container: {0}")]
    ContainerNotFound(String),

    /// No volume of that name.
    #[error("no such volume: {0}")]
    VolumeNotFound(String),

    /// A volume exists with another driver.
    #[error("volume {name} already exists with driver {existing}, not {requested}")]
    VolumeDriverConflict {
        /// The volume name.
        name: String,
        /// Its driver.
        existing: String,
        /// The driver asked for.
        requested: String,
    },

    /// A volume is mounted by containers.
    #[error(
        "unable to remove volume {name}: volume is in use by container{} {}\nhint: remove the containers first", if .containers.len() == 1 { "" } else { "s" }, .containers.join(", ")
    )]
    VolumeInUse {
        /// The volume.
        name: String,
        /// Short ids of the containers.
        containers: Vec<String>,
    },

    /// No network matches.
    #[error("no such network: {0}")]
    NetworkNotFound(String),

    /// A network name is taken.
    #[error("network with name {name} already exists (id {id})")]
    NetworkNameInUse {
        /// The name.
        name: String,
        /// The network holding it.
        id: String,
    },

    /// A network id is taken.
    #[error("network id {0} already exists")]
    NetworkIdInUse(String),

    /// A lock name is not a plain file name.
    #[error("invalid lock name {0:?}: use letters, digits, '-', '_', '.' and ':'")]
    InvalidLockName(String),

    /// Mounting or unmounting failed.
    #[error("{op} {path}: {source}")]
    Mount {
        /// `mount overlay on`, `unmount`.
        op: &'static str,
        /// The mount point.
        path: PathBuf,
        /// The kernel's answer.
        source: nix::Error,
    },

    /// A system call on a path failed.
    #[error("{op} {path}: {source}")]
    Sys {
        /// `mknod`, `set times of`.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The kernel's answer.
        source: nix::Error,
    },

    /// The lowerdir list does not fit in one mount(2) data page.
    #[error(
        "overlay options for {path} are {len} bytes, over the kernel's limit of {limit}\nhint: a kernel >= 6.8 lifts this limit; or flatten the image"
    )]
    MountOptionsTooLong {
        /// The mount point.
        path: PathBuf,
        /// Length of the options.
        len: usize,
        /// The limit.
        limit: usize,
    },
}

impl Error {
    pub(crate) fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        Error::Json {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn path(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Path {
            op,
            path: path.into(),
            source,
        }
    }
}
