//! `rmi` and `image prune`: rows go in one transaction, then the snapshots
//! and blobs nothing references any more.

use rusqlite::Connection;

use crate::Store;
use crate::db::exists;
use crate::digest::short_id;
use crate::error::{Error, Result};
use crate::images::{image_layers, image_users, resolve};

/// What [`Store::remove_image`] did, in Docker's `Untagged:` / `Deleted:` terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoveImageReport {
    /// Tags removed.
    pub untagged: Vec<String>,
    /// Image ids deleted.
    pub deleted: Vec<String>,
    /// Snapshot chain ids deleted with them.
    pub removed_snapshots: Vec<String>,
}

/// What [`Store::prune_images`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Tags removed (only with `all`).
    pub untagged: Vec<String>,
    /// Image ids deleted.
    pub deleted: Vec<String>,
    /// Snapshot chain ids deleted.
    pub removed_snapshots: Vec<String>,
    /// Bytes freed (snapshots and blobs).
    pub reclaimed: u64,
}

struct Deleted {
    id: String,
    chains: Vec<String>,
    blobs: Vec<String>,
}

fn tags_of(conn: &Connection, id: &str) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached("SELECT name FROM tags WHERE image_id = ?1 ORDER BY name")?;
    let rows = st.query_map([id], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn has_children(conn: &Connection, id: &str) -> Result<bool> {
    exists(conn, "SELECT 1 FROM images WHERE parent = ?1", [id])
}

/// Deletes an image's rows; returns what its files are, for cleanup.
fn delete_rows(tx: &Connection, id: &str) -> Result<Deleted> {
    let layers = image_layers(tx, id)?;
    let mut blobs = vec![id.to_owned()];
    let mut st = tx.prepare_cached("SELECT digest FROM image_manifests WHERE image_id = ?1")?;
    for d in st.query_map([id], |r| r.get::<_, String>(0))? {
        blobs.push(d?);
    }
    blobs.extend(layers.iter().filter_map(|l| l.blob_digest.clone()));
    tx.execute("DELETE FROM images WHERE id = ?1", [id])?;
    Ok(Deleted {
        id: id.to_owned(),
        chains: layers.into_iter().map(|l| l.chain_id).collect(),
        blobs,
    })
}

impl Store {
    /// Removes an image by tag, id or id prefix, as `docker rmi` does: a tag
    /// of an image with other tags is only untagged; the last tag or an id
    /// deletes the image. Refused while containers use the image, unless
    /// `force` (the image then stays, untagged, for those containers).
    pub fn remove_image(&self, name: &str, force: bool) -> Result<RemoveImageReport> {
        let mut report = RemoveImageReport::default();
        let deleted = self.write(|tx| {
            let by_tag = exists(tx, "SELECT 1 FROM tags WHERE name = ?1", [name])?;
            let id = resolve(tx, name)?;
            let tags = tags_of(tx, &id)?;
            let users = image_users(tx, &id)?;
            let in_use = || Error::ImageInUse {
                image: name.to_owned(),
                containers: users.iter().map(|u| short_id(u)).collect(),
            };
            if by_tag {
                if tags.len() > 1 {
                    tx.execute("DELETE FROM tags WHERE name = ?1", [name])?;
                    report.untagged.push(name.to_owned());
                    return Ok(None);
                }
                if !users.is_empty() && !force {
                    return Err(in_use());
                }
            } else {
                if tags.len() > 1 && !force {
                    return Err(Error::ImageHasTags {
                        image: name.to_owned(),
                        tags,
                    });
                }
                if !users.is_empty() && !force {
                    return Err(in_use());
                }
            }
            tx.execute("DELETE FROM tags WHERE image_id = ?1", [&id])?;
            report.untagged.extend(tags);
            if users.is_empty() && !has_children(tx, &id)? {
                return Ok(Some(delete_rows(tx, &id)?));
            }
            Ok(None)
        })?;
        if let Some(d) = deleted {
            report.deleted.push(d.id.clone());
            let (snaps, _) = self.cleanup_after_delete(&[d])?;
            report.removed_snapshots = snaps;
        }
        Ok(report)
    }

    /// `image prune`: deletes dangling images no container uses; with `all`,
    /// every image no container uses (untagging it first).
    pub fn prune_images(&self, all: bool) -> Result<PruneReport> {
        let mut report = PruneReport::default();
        let mut deleted = Vec::new();
        loop {
            let round = self.write(|tx| {
                let mut sql = String::from(
                    "SELECT id FROM images i
                     WHERE NOT EXISTS (SELECT 1 FROM containers c WHERE c.image_id = i.id)
                       AND NOT EXISTS (SELECT 1 FROM images k WHERE k.parent = i.id)",
                );
                if !all {
                    sql.push_str(" AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.image_id = i.id)");
                }
                let ids = {
                    let mut st = tx.prepare(&sql)?;
                    st.query_map([], |r| r.get::<_, String>(0))?
                        .collect::<rusqlite::Result<Vec<_>>>()?
                };
                let mut round = Vec::new();
                for id in ids {
                    let tags = tags_of(tx, &id)?;
                    tx.execute("DELETE FROM tags WHERE image_id = ?1", [&id])?;
                    report.untagged.extend(tags);
                    round.push(delete_rows(tx, &id)?);
                }
                Ok(round)
            })?;
            if round.is_empty() {
                break;
            }
            deleted.extend(round);
        }
        report.deleted = deleted.iter().map(|d| d.id.clone()).collect();
        let (snaps, bytes) = self.cleanup_after_delete(&deleted)?;
        report.removed_snapshots = snaps;
        report.reclaimed = bytes;
        Ok(report)
    }

    /// Records `new` (a compressed copy made for a push) as the blob of every
    /// layer stored as blob `old`, with its media type, and deletes `old` once
    /// nothing else refers to it. Returns how many layer rows changed.
    pub fn replace_layer_blob(&self, old: &str, new: &str, media_type: &str) -> Result<usize> {
        if !self.has_blob(new)? {
            return Err(Error::BlobNotFound(new.to_owned()));
        }
        let changed = self.write(|tx| {
            Ok(tx.execute(
                "UPDATE image_layers SET blob_digest = ?2, media_type = ?3 WHERE blob_digest = ?1",
                [old, new, media_type],
            )?)
        })?;
        let used = self.read(|c| {
            Ok(exists(c, "SELECT 1 FROM images WHERE id = ?1", [old])?
                || exists(c, "SELECT 1 FROM image_manifests WHERE digest = ?1", [old])?
                || exists(
                    c,
                    "SELECT 1 FROM image_layers WHERE blob_digest = ?1",
                    [old],
                )?)
        })?;
        if !used {
            self.delete_blob(old)?;
        }
        Ok(changed)
    }

    /// Removes the snapshots (top layer first) and blobs of deleted images
    /// that nothing references any more. Returns removed chain ids and bytes.
    fn cleanup_after_delete(&self, deleted: &[Deleted]) -> Result<(Vec<String>, u64)> {
        let mut removed = Vec::new();
        let mut bytes = 0u64;
        for d in deleted {
            for chain in d.chains.iter().rev() {
                let size = self.get_snapshot(chain)?.map(|s| s.size).unwrap_or(0);
                match self.remove_snapshot(chain) {
                    Ok(()) => {
                        removed.push(chain.clone());
                        bytes += size;
                    }
                    Err(Error::SnapshotInUse { .. } | Error::SnapshotNotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            for blob in &d.blobs {
                let used = self.read(|c| {
                    Ok(exists(c, "SELECT 1 FROM images WHERE id = ?1", [blob])?
                        || exists(c, "SELECT 1 FROM image_manifests WHERE digest = ?1", [blob])?
                        || exists(
                            c,
                            "SELECT 1 FROM image_layers WHERE blob_digest = ?1",
                            [blob],
                        )?)
                })?;
                if !used {
                    let size = self.blob_size(blob).unwrap_or(0);
                    if self.delete_blob(blob)? {
                        bytes += size;
                    }
                }
            }
        }
        Ok((removed, bytes))
    }
}
