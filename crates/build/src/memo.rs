//! Content hashes of context files, remembered by (path, size, mode, owner, mtime,
//! inode) so a rebuild does not re-read unchanged large files. The memo only saves
//! work: cache keys use the content hash, never the mtime.

use std::collections::HashMap;
use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    size: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime_ns: i64,
    ino: u64,
    dev: u64,
}

impl Stamp {
    fn of(m: &std::fs::Metadata) -> Stamp {
        Stamp {
            size: m.size(),
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
            mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            ino: m.ino(),
            dev: m.dev(),
        }
    }
}

/// The memo, loaded from and saved to one JSON file.
#[derive(Debug, Default)]
pub struct HashMemo {
    file: PathBuf,
    entries: HashMap<String, (Stamp, String)>,
    dirty: bool,
}

impl HashMemo {
    /// Loads the memo at `file` (a missing or unreadable memo is empty).
    pub fn load(file: &Path) -> HashMemo {
        let entries = fs_err::read(file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        HashMemo {
            file: file.to_owned(),
            entries,
            dirty: false,
        }
    }

    /// The sha256 (hex) of the file at `path` whose metadata is `meta`.
    pub fn hash(&mut self, path: &Path, meta: &std::fs::Metadata) -> Result<String> {
        let key = path.to_string_lossy().into_owned();
        let stamp = Stamp::of(meta);
        // A file modified within the same clock tick as our read could change
        // unnoticed; such recent stamps are not trusted (as git's racy-clean check).
        if let Some((s, h)) = self.entries.get(&key)
            && *s == stamp
        {
            return Ok(h.clone());
        }
        let mut f = fs_err::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let h = hex::encode(hasher.finalize());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        if now - stamp.mtime_ns > 100_000_000 {
            self.entries.insert(key, (stamp, h.clone()));
            self.dirty = true;
        }
        Ok(h)
    }

    /// Writes the memo back if it changed (atomically; a failure only costs speed).
    pub fn save(&self) {
        if !self.dirty {
            return;
        }
        let Some(dir) = self.file.parent() else {
            return;
        };
        let Ok(bytes) = serde_json::to_vec(&self.entries) else {
            return;
        };
        if let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir)
            && std::io::Write::write_all(&mut tmp, &bytes).is_ok()
        {
            let _ = tmp.persist(&self.file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rehashes_when_the_file_changes() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        fs_err::write(&f, "one").unwrap();
        let mut m = HashMemo::load(&d.path().join("memo.json"));
        let a = m.hash(&f, &fs_err::metadata(&f).unwrap()).unwrap();
        fs_err::write(&f, "two").unwrap();
        let b = m.hash(&f, &fs_err::metadata(&f).unwrap()).unwrap();
        assert_ne!(a, b);
        assert_eq!(b, hex::encode(Sha256::digest(b"two")));
    }
}
