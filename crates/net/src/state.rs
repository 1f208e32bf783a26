//! Small JSON state files shared by concurrent berth processes: each one is
//! read and rewritten under an exclusive `flock` on a sibling lock file, and
//! published by `rename` so no reader ever sees half a file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::fcntl::{Flock, FlockArg};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// An exclusive lock, released on drop (closing the descriptor unlocks it).
pub(crate) struct Lock {
    _held: Flock<std::fs::File>,
}

/// Takes the exclusive lock `path` (created if missing), waiting for others.
///
/// Every call opens the file anew, so two threads of one process exclude each
/// other as well as two processes do (flock locks belong to the open file).
pub(crate) fn lock(path: &Path) -> Result<Lock> {
    lock_as(path, FlockArg::LockExclusive)
}

/// Takes `path` as a shared lock: many holders at once, none while someone
/// holds it exclusively.
pub(crate) fn lock_shared(path: &Path) -> Result<Lock> {
    lock_as(path, FlockArg::LockShared)
}

fn lock_as(path: &Path, how: FlockArg) -> Result<Lock> {
    if let Some(dir) = path.parent() {
        fs_err::create_dir_all(dir)?;
    }
    let file = fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)?
        .into_file();
    let held = Flock::lock(file, how)
        .map_err(|(_, e)| Error::sys(format!("flock {}", path.display()), e))?;
    Ok(Lock { _held: held })
}

/// Reads a JSON file, or the default value when it does not exist.
pub(crate) fn read_json<T: DeserializeOwned + Default>(path: &Path) -> Result<T> {
    match fs_err::read(path) {
        Ok(bytes) if bytes.is_empty() => Ok(T::default()),
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| Error::State {
            path: path.to_path_buf(),
            source,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(e.into()),
    }
}

/// Writes `bytes` to `path` atomically: a temporary sibling, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs_err::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(
        ".{name}.tmp.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = fs_err::File::create(&tmp)?;
        file.write_all(bytes)?;
        // No fsync: readers never see a partial file (rename is atomic), a
        // crashed berth process loses nothing (the page cache survives it),
        // and after a power loss the containers these records describe are
        // gone too; `cleanup_stale` reconciles. An fsync here cost ~7 ms per
        // update on this machine's disk, twice per container start.
        fs_err::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs_err::remove_file(&tmp);
    }
    result
}

/// Writes a value as pretty JSON, atomically.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| Error::State {
        path: path.to_path_buf(),
        source,
    })?;
    write_atomic(path, &bytes)
}

/// Read-modify-write of one JSON file under its lock (`<file>.lock`).
pub(crate) fn update<T, R>(path: &Path, f: impl FnOnce(&mut T) -> Result<R>) -> Result<R>
where
    T: DeserializeOwned + Serialize + Default,
{
    let _lock = lock(&lock_path(path))?;
    let mut value: T = read_json(path)?;
    let out = f(&mut value)?;
    write_json(path, &value)?;
    Ok(out)
}

/// The lock file that guards `path`.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_roundtrips_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        update(&path, |v: &mut Vec<u32>| {
            v.push(7);
            Ok(())
        })
        .unwrap();
        let n = update(&path, |v: &mut Vec<u32>| {
            v.push(8);
            Ok(v.len())
        })
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(read_json::<Vec<u32>>(&path).unwrap(), vec![7, 8]);
        let names: Vec<_> = fs_err::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp.")), "{names:?}");
    }

    #[test]
    fn corrupt_file_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.json");
        fs_err::write(&path, b"{nope").unwrap();
        let err = read_json::<Vec<u32>>(&path).unwrap_err().to_string();
        assert!(err.contains("bad.json"), "{err}");
    }
}
