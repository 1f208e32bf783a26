//! berth's local state: one SQLite database for images, tags, layers,
//! containers, volumes and networks; content-addressed blobs; layer
//! snapshots unpacked once and stacked with overlayfs (or copied where
//! overlayfs is missing) into container root filesystems; locks between
//! concurrent berth processes.
//!
//! The main type is [`Store`]. Its data root looks like this:
//!
//! ```text
//! root/berth.db                      SQLite, WAL mode
//! root/blobs/sha256/<hex>            verified blobs (manifests, configs, layers)
//! root/snapshots/<chain-hex>/fs      one unpacked layer each
//! root/containers/<id>/{upper,work,merged}
//! root/volumes/<name>/_data
//! root/tmp/                          staging: same file system, so publishing is a rename
//! root/locks/                        flock files
//! ```
//!
//! # The invariant that keeps data safe
//!
//! Files are published by `rename(2)` from `tmp/`, and the database and the
//! file tree are changed in an order that a crash at any point can only leave
//! one of these leftovers, which [`Store::recover`] (run by [`Store::open`]
//! when no other berth process is using the root and one ended without
//! closing it since the last recovery, or the machine rebooted) cleans up:
//!
//! - an entry in `tmp/` that no process holds an flock on: deleted;
//! - a snapshot row in state `pending` (written before the rename): marked
//!   `ready` if its directory exists (a rename is all or nothing), dropped
//!   if not;
//! - a `ready` snapshot row whose directory vanished: marked `missing`, so
//!   the next pull unpacks it again;
//! - a snapshot or container directory with no row (the row is deleted
//!   first when removing): moved to `tmp/` and deleted.
//!
//! Volume directories are never deleted by recovery, even without a row:
//! they may hold user data, and creating the volume again reuses them.
//!
//! Commits are synced (`synchronous=FULL`) except container state updates
//! and the row insert that the engine's synced config update follows: a
//! power loss can then lose only a suffix of state updates, never a row's
//! creation or deletion that recovery's decisions depend on.
//!
//! # Example
//!
//! ```no_run
//! # fn main() -> berth_store::Result<()> {
//! use berth_store::{ContainerFilter, Store};
//! let store = Store::open(std::path::Path::new("/var/lib/berth"))?;
//! for c in store.list_containers(&ContainerFilter::default())? {
//!     println!("{} {} {:?}", &c.id[..12], c.name, c.state.status);
//! }
//! # Ok(()) }
//! ```

mod activity;
mod blobs;
mod containers;
mod copy;
mod db;
mod diff;
pub mod digest;
mod du;
mod error;
mod image_remove;
mod images;
mod lock;
mod networks;
mod overlay;
mod recovery;
mod rootfs;
mod snapshots;
mod tmp;
mod volumes;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use blobs::BlobWriter;
pub use containers::{
    ContainerFilter, ContainerRecord, ContainerState, ContainerStatus, NewContainer,
};
pub use db::{SqlTracer, schema_version};
pub use diff::{Change, ChangeKind};
pub use du::tree_size;
pub use error::{Error, Result};
pub use image_remove::{PruneReport, RemoveImageReport};
pub use images::{ImageFilter, ImageLayer, ImageRecord, NewImage, NewImageLayer};
pub use lock::LockGuard;
pub use networks::{NetworkFilter, NetworkRecord, NewNetwork};
pub use recovery::RecoveryReport;
pub use rootfs::RootfsMode;
pub use snapshots::{SnapshotRecord, StagingDir};
pub use volumes::{NewVolume, VolumeFilter, VolumeRecord};

/// A `key` or `key=value` label filter (`--filter label=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelFilter {
    /// The label key.
    pub key: String,
    /// The value to match; `None` matches any value.
    pub value: Option<String>,
}

impl LabelFilter {
    /// Parses `key` or `key=value`.
    pub fn parse(s: &str) -> Self {
        match s.split_once('=') {
            Some((k, v)) => LabelFilter {
                key: k.to_owned(),
                value: Some(v.to_owned()),
            },
            None => LabelFilter {
                key: s.to_owned(),
                value: None,
            },
        }
    }
}

/// Options for [`Store::open_with`].
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// How container root filesystems are made.
    pub rootfs_mode: RootfsMode,
    /// Mount overlays with the classic mount(2) (as on kernels before 6.8,
    /// with `l/` short links for deep images) instead of trying the new
    /// mount API first. For tests of that path.
    pub classic_mount: bool,
}

/// berth's local store under one data root. Cheap to share between threads
/// (`&Store` is enough); separate processes may open the same root at once.
pub struct Store {
    root: PathBuf,
    /// `None` while [`Store::release_memory`] has it closed.
    conn: Mutex<Option<rusqlite::Connection>>,
    options: StoreOptions,
    /// This process's marker in `locks/active/` (see `activity`): removed on
    /// drop, left behind by a crash so the next lone process recovers.
    marker: activity::Marker,
    /// Shared flock on `locks/store.lock` for the Store's lifetime; recovery
    /// needs it exclusively, i.e. no other process in this root. Declared
    /// last: dropped after the marker is gone.
    root_lock: fs_err::File,
}

impl Drop for Store {
    fn drop(&mut self) {
        self.marker.remove();
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

const SUBDIRS: &[&str] = &[
    "blobs/sha256",
    "snapshots",
    "containers",
    "volumes",
    "tmp",
    "locks",
    activity::ACTIVE_DIR,
    "l",
];

impl Store {
    /// Opens (creating if needed) the store under `root` with default options.
    pub fn open(root: &Path) -> Result<Store> {
        Store::open_with(root, StoreOptions::default())
    }

    /// Opens the store under `root`. If no other berth process uses the
    /// root, runs [`Store::recover`] first.
    pub fn open_with(root: &Path, options: StoreOptions) -> Result<Store> {
        for sub in SUBDIRS {
            fs_err::create_dir_all(root.join(sub))?;
        }
        tmp::mark_topdir(&root.join("tmp"));
        let root = fs_err::canonicalize(root)?;
        let lock_path = root.join("locks/store.lock");
        let (root_lock, alone) =
            match lock::lock_file(&lock_path, lock::LockMode::Exclusive, false)? {
                Some(file) => (file, true),
                None => {
                    let file = lock::lock_file(&lock_path, lock::LockMode::Shared, true)?;
                    // A blocking lock returns only once held.
                    let file = file.ok_or_else(|| {
                        Error::path("lock", &lock_path, std::io::ErrorKind::WouldBlock.into())
                    })?;
                    (file, false)
                }
            };
        let conn = db::open(&root.join(db::DB_FILE))?;
        // Checked before this process's own marker exists.
        let clean = alone && activity::clean(&root);
        let marker = activity::Marker::create(&root)?;
        let store = Store {
            root,
            conn: Mutex::new(Some(conn)),
            options,
            marker,
            root_lock,
        };
        if clean {
            // Nobody crashed since the last recovery: only what normal work
            // left in tmp/ to retry (cheap: tmp/ is nearly always empty).
            store.gc_tmp(std::time::Duration::ZERO)?;
        } else if alone {
            store.recover_locked()?;
        }
        if alone {
            lock::flock(&store.root_lock, lock::LockMode::Shared, true)
                .map_err(|e| Error::path("lock", &lock_path, e))?;
        } else {
            store.gc_tmp(tmp::BUSY_GC_AGE)?;
        }
        Ok(store)
    }

    /// The data root (canonical path).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }
}
