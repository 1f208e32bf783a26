//! The build cache: one JSON file per step under `<data>/build-cache/`, named by the
//! sha256 of the step's inputs (parent state, expanded instruction, build args in use,
//! content of the files it reads) and holding the resulting [`State`]. Shared by every
//! build on the machine and kept across runs; an entry whose layers have since been
//! removed from the store is a miss.

use std::path::{Path, PathBuf};

use berth_engine::Engine;
use berth_engine::build_support::BuiltLayer;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// A layer of an image being built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// Uncompressed digest.
    pub diff_id: String,
    /// Snapshot chain id.
    pub chain_id: String,
    /// Blob digest, when the store holds the tar.
    pub blob: Option<String>,
    /// Unpacked size.
    pub size: u64,
}

impl From<BuiltLayer> for Layer {
    fn from(l: BuiltLayer) -> Layer {
        Layer {
            diff_id: l.diff_id,
            chain_id: l.chain_id,
            blob: l.blob_digest,
            size: l.size,
        }
    }
}

impl From<&Layer> for BuiltLayer {
    fn from(l: &Layer) -> BuiltLayer {
        BuiltLayer {
            diff_id: l.diff_id.clone(),
            chain_id: l.chain_id.clone(),
            blob_digest: l.blob.clone(),
            size: l.size,
        }
    }
}

/// An image under construction: the cache key that produced it, its config and layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Identifies this state for the next step's key.
    pub key: String,
    /// The full image config (`architecture`, `os`, `config`, `rootfs`, `history`).
    pub config: Value,
    /// Layers, base first.
    pub layers: Vec<Layer>,
}

impl State {
    /// The config's bytes as stored (and hashed for the image id).
    pub fn config_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(&self.config).map_err(|e| Error::Json {
            what: "image config".into(),
            source: e,
        })
    }

    /// The would-be image id.
    pub fn id(&self) -> Result<String> {
        Ok(format!(
            "sha256:{}",
            hex::encode(Sha256::digest(self.config_bytes()?))
        ))
    }
}

/// Builds a cache key from labelled parts.
#[derive(Debug, Default, Clone)]
pub struct KeyBuilder {
    h: Sha256,
}

impl KeyBuilder {
    /// Starts a key (versioned, so a format change invalidates old entries).
    pub fn new(parent: &str) -> KeyBuilder {
        let mut k = KeyBuilder { h: Sha256::new() };
        k.add("v1", "berth-build");
        k.add("parent", parent);
        k
    }

    /// Adds one labelled part (length-prefixed so parts cannot run together).
    pub fn add(&mut self, label: &str, value: &str) {
        for s in [label, value] {
            self.h.update((s.len() as u64).to_le_bytes());
            self.h.update(s.as_bytes());
        }
    }

    /// The key so far (hex), leaving the builder usable.
    pub fn peek(&self) -> String {
        self.clone().finish()
    }

    /// The key (hex).
    pub fn finish(self) -> String {
        hex::encode(self.h.finalize())
    }
}

/// The name of the store lock a build holds shared and a cache prune exclusively, so
/// a prune never removes a snapshot a running build stands on.
const GC_LOCK: &str = "build-gc";

/// Holds off cache pruning while a build runs (shared with other builds).
pub fn hold_off_prune(engine: &Engine) -> Result<berth_store::LockGuard> {
    engine
        .store()
        .lock_shared(GC_LOCK)
        .map_err(|e| berth_engine::Error::from(e).into())
}

/// What the build cache holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheUsage {
    /// Cache entries (one per build step).
    pub entries: usize,
    /// Layers the cache keeps that no image or container uses.
    pub layers: usize,
    /// Bytes of those layers plus the entries themselves.
    pub size: u64,
}

/// What a cache prune removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CachePruned {
    /// Entries removed.
    pub entries: usize,
    /// Chain ids of the layers removed.
    pub layers: Vec<String>,
    /// Bytes freed.
    pub reclaimed: u64,
}

/// The cache directory of a store.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// Opens (creating) `<data>/build-cache`.
    pub fn open(data: &Path) -> Result<Cache> {
        let dir = data.join("build-cache");
        fs_err::create_dir_all(&dir).map_err(|e| Error::io(dir.clone(), e))?;
        Ok(Cache { dir })
    }

    /// The directory (also home of the hash memo).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The state stored under `key`, if every layer it names is still in the store.
    pub fn get(&self, engine: &Engine, key: &str) -> Option<State> {
        let bytes = fs_err::read(self.dir.join(format!("{key}.json"))).ok()?;
        let state: State = serde_json::from_slice(&bytes).ok()?;
        let store = engine.store();
        for l in &state.layers {
            if !store.has_snapshot(&l.chain_id).unwrap_or(false) {
                return None;
            }
            if let Some(b) = &l.blob
                && !store.has_blob(b).unwrap_or(false)
            {
                return None;
            }
        }
        Some(state)
    }

    /// Entry files (`<key>.json`) with their sizes.
    fn entries(&self) -> Result<Vec<(PathBuf, u64)>> {
        let rd = fs_err::read_dir(&self.dir).map_err(|e| Error::io(self.dir.clone(), e))?;
        Ok(rd
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".json"))
                    .is_some_and(|k| k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit()))
            })
            .map(|e| (e.path(), e.metadata().map_or(0, |m| m.len())))
            .collect())
    }

    /// What the cache holds now.
    pub fn usage(&self, engine: &Engine) -> Result<CacheUsage> {
        let entries = self.entries()?;
        let layers = engine
            .store()
            .unused_snapshots()
            .map_err(berth_engine::Error::from)?;
        Ok(CacheUsage {
            entries: entries.len(),
            layers: layers.len(),
            size: entries.iter().map(|(_, n)| n).sum::<u64>()
                + layers.iter().map(|(_, n)| n).sum::<u64>(),
        })
    }

    /// `builder prune`: removes the layers no image or container uses and the entries
    /// that named them; with `all`, every entry too (the next build runs every step).
    /// Refused while a build runs (it may stand on those layers).
    pub fn prune(&self, engine: &Engine, all: bool) -> Result<CachePruned> {
        let store = engine.store();
        let Some(_guard) = store.try_lock(GC_LOCK).map_err(berth_engine::Error::from)? else {
            return Err(Error::Invalid {
                what: "builder prune",
                value: "build cache".into(),
                hint: "a build is running; prune the build cache once it has finished".into(),
            });
        };
        let (layers, mut reclaimed) = store.prune_snapshots().map_err(berth_engine::Error::from)?;
        let mut entries = 0;
        for (path, size) in self.entries()? {
            let key = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            if all || self.get(engine, &key).is_none() {
                fs_err::remove_file(&path).map_err(|e| Error::io(path.clone(), e))?;
                entries += 1;
                reclaimed += size;
            }
        }
        Ok(CachePruned {
            entries,
            layers,
            reclaimed,
        })
    }

    /// Stores `state` under its key (atomically).
    pub fn put(&self, state: &State) -> Result<()> {
        let bytes = serde_json::to_vec(state).map_err(|e| Error::Json {
            what: "build cache entry".into(),
            source: e,
        })?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)
            .map_err(|e| Error::io(self.dir.clone(), e))?;
        std::io::Write::write_all(&mut tmp, &bytes).map_err(|e| Error::io(tmp.path(), e))?;
        let path = self.dir.join(format!("{}.json", state.key));
        tmp.persist(&path).map_err(|e| Error::io(path, e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_every_part_and_its_boundaries() {
        let k = |parts: &[(&str, &str)]| {
            let mut b = KeyBuilder::new("p");
            for (l, v) in parts {
                b.add(l, v);
            }
            b.finish()
        };
        assert_eq!(k(&[("a", "1")]), k(&[("a", "1")]));
        assert_ne!(k(&[("a", "1")]), k(&[("a", "2")]));
        assert_ne!(k(&[("a", "bc")]), k(&[("ab", "c")]));
        assert_ne!(KeyBuilder::new("p").finish(), KeyBuilder::new("q").finish());
    }
}
