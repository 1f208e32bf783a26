//! Layer snapshots: each layer unpacked once into `snapshots/<chain-hex>/fs`.
//!
//! Publishing: the caller unpacks into a [`StagingDir`] under `tmp/`; commit
//! takes the per-chain flock, writes the row as `pending`, syncs the file
//! system, renames the staging directory into place and marks the row
//! `ready`. A second process committing the same chain id waits on the lock,
//! then finds `ready` and discards its own copy. Removal is the reverse:
//! the row goes first (only when no image, container or child snapshot
//! references it), then the directory is moved to `tmp/` and deleted.

use std::os::fd::AsRawFd as _;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension as _, params};

use crate::Store;
use crate::digest::{digest_hex, now_ns, short_id};
use crate::error::{Error, Result};

/// A temp directory to unpack one layer into; its `fs/` becomes the
/// snapshot. Dropped without [`Store::commit_snapshot`], it is deleted.
#[derive(Debug)]
pub struct StagingDir {
    lock: Option<fs_err::File>,
    path: PathBuf,
    /// Its files reached the disk ([`Store::sync_staging`]); commit need not sync again.
    synced: bool,
}

impl StagingDir {
    /// The directory to unpack the layer's files into.
    pub fn fs_path(&self) -> PathBuf {
        self.path.join("fs")
    }

    /// The staging directory itself (parent of [`StagingDir::fs_path`]).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        if self.lock.take().is_some() {
            // Best effort; gc_tmp collects it otherwise.
            let _ = crate::tmp::remove_any(&self.path);
        }
    }
}

/// A snapshot's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRecord {
    /// Chain id of the layer stack ending in this layer.
    pub chain_id: String,
    /// Chain id of the stack below, `None` for a base layer.
    pub parent: Option<String>,
    /// Digest of the uncompressed layer tar.
    pub diff_id: String,
    /// Unpacked size in bytes, as the caller measured it.
    pub size: u64,
    /// Creation time, ns since the epoch.
    pub created: i64,
    /// The unpacked files (`snapshots/<hex>/fs`).
    pub path: PathBuf,
}

const SNAPSHOT_COLS: &str = "chain_id, parent, diff_id, size, created, state";

impl Store {
    fn snapshot_dir(&self, hex: &str) -> PathBuf {
        self.root.join("snapshots").join(hex)
    }

    fn snapshot_row(
        &self,
        conn: &Connection,
        chain_id: &str,
    ) -> Result<Option<(SnapshotRecord, String)>> {
        let hex = digest_hex(chain_id)?;
        let dir = self.snapshot_dir(hex).join("fs");
        Ok(conn
            .query_row(
                &format!("SELECT {SNAPSHOT_COLS} FROM snapshots WHERE chain_id = ?1"),
                [chain_id],
                |r| {
                    Ok((
                        SnapshotRecord {
                            chain_id: r.get(0)?,
                            parent: r.get(1)?,
                            diff_id: r.get(2)?,
                            size: r.get::<_, i64>(3)?.try_into().unwrap_or(0),
                            created: r.get(4)?,
                            path: dir.clone(),
                        },
                        r.get::<_, String>(5)?,
                    ))
                },
            )
            .optional()?)
    }

    /// Makes a staging directory for unpacking the layer `chain_id`.
    pub fn prepare_snapshot(&self, chain_id: &str) -> Result<StagingDir> {
        let hex = digest_hex(chain_id)?;
        let (lock, path) = self.create_tmp_subdir(&format!("snap-{}", &hex[..12]))?;
        fs_err::create_dir(path.join("fs"))?;
        Ok(StagingDir {
            lock: Some(lock),
            path,
            synced: false,
        })
    }

    /// Publishes an unpacked layer. If the chain id is already committed
    /// (e.g. by a concurrent pull), `staging` is discarded and the existing
    /// snapshot returned.
    pub fn commit_snapshot(
        &self,
        mut staging: StagingDir,
        chain_id: &str,
        parent: Option<&str>,
        diff_id: &str,
        size: u64,
    ) -> Result<SnapshotRecord> {
        let hex = digest_hex(chain_id)?.to_owned();
        digest_hex(diff_id)?;
        if let Some(p) = parent {
            match self.read(|c| self.snapshot_row(c, p))? {
                Some((_, state)) if state == "ready" => {}
                _ => return Err(Error::SnapshotNotFound(p.to_owned())),
            }
        }
        let _guard = self.lock(&format!("snapshot-{hex}"))?;
        let target = self.snapshot_dir(&hex);
        let existing = self.read(|c| self.snapshot_row(c, chain_id))?;
        match existing {
            Some((rec, state)) if state == "ready" && target.is_dir() => return Ok(rec),
            Some((rec, state)) if state == "pending" && target.is_dir() => {
                // An earlier commit crashed after its rename: that copy is whole.
                self.write(|tx| {
                    tx.execute(
                        "UPDATE snapshots SET state = 'ready' WHERE chain_id = ?1",
                        [chain_id],
                    )?;
                    Ok(())
                })?;
                return Ok(rec);
            }
            _ => {}
        }
        let size_i = i64::try_from(size).unwrap_or(i64::MAX);
        self.write(|tx| {
            tx.execute(
                "INSERT INTO snapshots (chain_id, parent, diff_id, size, state, created)
                 VALUES (?1, ?2, ?3, ?4, 'pending', ?5)
                 ON CONFLICT(chain_id) DO UPDATE SET parent = ?2, diff_id = ?3, size = ?4,
                     state = 'pending', created = ?5",
                params![chain_id, parent, diff_id, size_i, now_ns()],
            )?;
            Ok(())
        })?;
        // A directory without a ready row is a leftover of a crashed removal.
        if fs_err::symlink_metadata(&target).is_ok() {
            self.trash(&target)?;
        }
        let lock = staging.lock.take();
        if let Some(fd) = lock.as_ref().filter(|_| !staging.synced) {
            // One syncfs instead of an fsync per unpacked file: after a crash a
            // ready snapshot must not contain truncated files.
            // SAFETY: syncfs on an fd we own.
            if unsafe { libc::syncfs(fd.as_raw_fd()) } != 0 {
                return Err(Error::path(
                    "sync",
                    &staging.path,
                    std::io::Error::last_os_error(),
                ));
            }
        }
        fs_err::rename(&staging.path, &target)?;
        fs_err::File::open(self.root.join("snapshots"))?.sync_all()?;
        drop(lock);
        self.write(|tx| {
            tx.execute(
                "UPDATE snapshots SET state = 'ready' WHERE chain_id = ?1",
                [chain_id],
            )?;
            Ok(())
        })?;
        Ok(SnapshotRecord {
            chain_id: chain_id.to_owned(),
            parent: parent.map(str::to_owned),
            diff_id: diff_id.to_owned(),
            size,
            created: now_ns(),
            path: target.join("fs"),
        })
    }

    /// Makes the files of several staged layers durable with one `syncfs` (the
    /// layers of one pull), so committing them does not sync once per layer.
    pub fn sync_staging<'a>(
        &self,
        dirs: impl IntoIterator<Item = &'a mut StagingDir>,
    ) -> Result<()> {
        let mut dirs: Vec<&mut StagingDir> = dirs.into_iter().collect();
        let Some(first) = dirs.first() else {
            return Ok(());
        };
        let f = fs_err::File::open(&first.path)?;
        // SAFETY: syncfs on an fd we own.
        if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
            return Err(Error::path(
                "sync",
                &first.path,
                std::io::Error::last_os_error(),
            ));
        }
        for d in &mut dirs {
            d.synced = true;
        }
        Ok(())
    }

    /// The snapshot's row, if it is committed and ready.
    pub fn get_snapshot(&self, chain_id: &str) -> Result<Option<SnapshotRecord>> {
        Ok(self
            .read(|c| self.snapshot_row(c, chain_id))?
            .filter(|(_, state)| state == "ready")
            .map(|(rec, _)| rec))
    }

    /// Whether the layer stack `chain_id` is unpacked and ready.
    pub fn has_snapshot(&self, chain_id: &str) -> Result<bool> {
        Ok(self.get_snapshot(chain_id)?.is_some())
    }

    /// The unpacked files of a ready snapshot.
    pub fn snapshot_path(&self, chain_id: &str) -> Result<PathBuf> {
        self.get_snapshot(chain_id)?
            .map(|r| r.path)
            .ok_or_else(|| Error::SnapshotNotFound(chain_id.to_owned()))
    }

    /// Who keeps a snapshot alive: `image …`, `container …`, `snapshot …`.
    pub fn snapshot_users(&self, chain_id: &str) -> Result<Vec<String>> {
        self.read(|c| snapshot_users(c, chain_id))
    }

    /// Removes a snapshot no image, container or child snapshot uses.
    pub fn remove_snapshot(&self, chain_id: &str) -> Result<()> {
        let hex = digest_hex(chain_id)?.to_owned();
        let _guard = self.lock(&format!("snapshot-{hex}"))?;
        self.write(|tx| {
            let users = snapshot_users(tx, chain_id)?;
            if !users.is_empty() {
                return Err(Error::SnapshotInUse {
                    chain_id: chain_id.to_owned(),
                    users,
                });
            }
            let n = tx.execute("DELETE FROM snapshots WHERE chain_id = ?1", [chain_id])?;
            if n == 0 {
                return Err(Error::SnapshotNotFound(chain_id.to_owned()));
            }
            Ok(())
        })?;
        self.trash(&self.snapshot_dir(&hex))
    }

    /// Ready snapshots no image and no container uses, with their sizes: what a
    /// build left behind (stages not in the final image) and [`Store::prune_snapshots`]
    /// would remove.
    pub fn unused_snapshots(&self) -> Result<Vec<(String, u64)>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT s.chain_id, s.size FROM snapshots s WHERE s.state != 'pending'
                   AND NOT EXISTS (SELECT 1 FROM image_layers l WHERE l.chain_id = s.chain_id)
                   AND NOT EXISTS (SELECT 1 FROM container_layers l WHERE l.chain_id = s.chain_id)",
            )?;
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            Ok(rows
                .map(|r| r.map(|(c, s)| (c, u64::try_from(s).unwrap_or(0))))
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Removes every snapshot nothing references (children before parents).
    /// Returns the chain ids removed and the bytes they held.
    pub fn prune_snapshots(&self) -> Result<(Vec<String>, u64)> {
        let mut removed = Vec::new();
        let mut bytes = 0u64;
        loop {
            let unused: Vec<(String, i64)> = self.read(|c| {
                let mut st = c.prepare(
                    "SELECT s.chain_id, s.size FROM snapshots s WHERE s.state != 'pending'
                       AND NOT EXISTS (SELECT 1 FROM image_layers l WHERE l.chain_id = s.chain_id)
                       AND NOT EXISTS (SELECT 1 FROM container_layers l WHERE l.chain_id = s.chain_id)
                       AND NOT EXISTS (SELECT 1 FROM snapshots k WHERE k.parent = s.chain_id)",
                )?;
                let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })?;
            if unused.is_empty() {
                break;
            }
            let mut progressed = false;
            for (chain_id, size) in unused {
                match self.remove_snapshot(&chain_id) {
                    Ok(()) => {
                        bytes += u64::try_from(size).unwrap_or(0);
                        removed.push(chain_id);
                        progressed = true;
                    }
                    // Someone started using it meanwhile: keep it.
                    Err(Error::SnapshotInUse { .. } | Error::SnapshotNotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            if !progressed {
                break;
            }
        }
        Ok((removed, bytes))
    }
}

pub(crate) fn snapshot_users(conn: &Connection, chain_id: &str) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT 'image ' || image_id FROM image_layers WHERE chain_id = ?1
         UNION SELECT 'container ' || container_id FROM container_layers WHERE chain_id = ?1
         UNION SELECT 'snapshot ' || chain_id FROM snapshots WHERE parent = ?1",
    )?;
    let rows = st.query_map([chain_id], |r| r.get::<_, String>(0))?;
    let mut users = Vec::new();
    for r in rows {
        let r = r?;
        // Shorten ids for the message.
        users.push(match r.split_once(' ') {
            Some((kind, id)) => format!("{kind} {}", short_id(id)),
            None => r,
        });
    }
    Ok(users)
}
