//! flock(2)-based locks between berth processes.
//!
//! SQLite serialises metadata; these locks serialise longer file work, e.g.
//! two pulls of the same layer: one unpacks, the other waits and then finds
//! the snapshot committed. flock locks die with the process, so a crash never
//! leaves a lock behind. Lock files are never deleted: deleting one while
//! another process waits on it would let a third process lock a new inode.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::Store;
use crate::error::{Error, Result};

/// How to lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockMode {
    Shared,
    Exclusive,
}

/// Applies flock to `file`; `Ok(false)` when `wait` is false and another
/// process holds a conflicting lock.
pub(crate) fn flock(file: &impl AsRawFd, mode: LockMode, wait: bool) -> std::io::Result<bool> {
    let mut op = match mode {
        LockMode::Shared => libc::LOCK_SH,
        LockMode::Exclusive => libc::LOCK_EX,
    };
    if !wait {
        op |= libc::LOCK_NB;
    }
    loop {
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(true);
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if !wait => return Ok(false),
            _ => return Err(err),
        }
    }
}

/// Opens (creating) `path` and locks it.
pub(crate) fn lock_file(path: &Path, mode: LockMode, wait: bool) -> Result<Option<fs_err::File>> {
    let file = fs_err::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    match flock(&file, mode, wait) {
        Ok(true) => Ok(Some(file)),
        Ok(false) => Ok(None),
        Err(e) => Err(Error::path("lock", path, e)),
    }
}

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct LockGuard {
    _file: fs_err::File,
    path: PathBuf,
}

impl LockGuard {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn valid_lock_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

impl Store {
    fn lock_path(&self, name: &str) -> Result<PathBuf> {
        if !valid_lock_name(name) {
            return Err(Error::InvalidLockName(name.to_owned()));
        }
        Ok(self.root().join("locks").join(format!("{name}.lock")))
    }

    /// Takes the exclusive lock `name` (e.g. `image-sha256:…`), waiting for
    /// other processes that hold it.
    ///
    /// ```no_run
    /// # fn main() -> berth_store::Result<()> {
    /// let store = berth_store::Store::open(std::path::Path::new("/var/lib/berth"))?;
    /// let _guard = store.lock("layer-1234")?;
    /// // ... unpack, commit; other processes wait here
    /// # Ok(()) }
    /// ```
    pub fn lock(&self, name: &str) -> Result<LockGuard> {
        let path = self.lock_path(name)?;
        match lock_file(&path, LockMode::Exclusive, true)? {
            Some(file) => Ok(LockGuard { _file: file, path }),
            // Blocking flock only returns once it holds the lock.
            None => Err(Error::path(
                "lock",
                path,
                std::io::Error::from(std::io::ErrorKind::WouldBlock),
            )),
        }
    }

    /// Takes the lock `name` shared, waiting while a process holds it exclusively;
    /// any number of processes may hold it shared at once.
    pub fn lock_shared(&self, name: &str) -> Result<LockGuard> {
        let path = self.lock_path(name)?;
        match lock_file(&path, LockMode::Shared, true)? {
            Some(file) => Ok(LockGuard { _file: file, path }),
            None => Err(Error::path(
                "lock",
                path,
                std::io::Error::from(std::io::ErrorKind::WouldBlock),
            )),
        }
    }

    /// Takes the lock `name` if nobody holds it; `None` otherwise.
    pub fn try_lock(&self, name: &str) -> Result<Option<LockGuard>> {
        let path = self.lock_path(name)?;
        Ok(lock_file(&path, LockMode::Exclusive, false)?
            .map(|file| LockGuard { _file: file, path }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_names() {
        assert!(valid_lock_name("image-sha256:abc"));
        assert!(!valid_lock_name("../x"));
        assert!(!valid_lock_name("a/b"));
        assert!(!valid_lock_name(""));
    }

    #[test]
    fn second_exclusive_lock_is_refused_until_release() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = lock_file(&path, LockMode::Exclusive, false).unwrap();
        assert!(first.is_some());
        // A separate open file description conflicts even within one process.
        assert!(
            lock_file(&path, LockMode::Exclusive, false)
                .unwrap()
                .is_none()
        );
        assert!(lock_file(&path, LockMode::Shared, false).unwrap().is_none());
        drop(first);
        assert!(lock_file(&path, LockMode::Shared, false).unwrap().is_some());
    }
}
