//! Which processes had the store open, so that a root nobody crashed in since
//! the last recovery skips the scans that grow with the store.
//!
//! Every [`Store`](crate::Store) leaves a marker `locks/active/<pid>-<random>`
//! from just after taking its root lock until it is dropped, and recovery
//! writes the boot id to `locks/recovered` when it is done. A process that
//! finds itself alone (it holds the root lock exclusively, so every other
//! store is closed) and finds no marker, under the same boot, knows that every
//! process since the last recovery ended normally: nothing was left half made.
//! A crash (kill -9, abort, power loss) leaves a marker or a new boot id,
//! and the next lone process recovers in full. Only the temp directory is
//! still collected every time: entries that normal work left to retry later.

use std::path::{Path, PathBuf};

use crate::digest::random_id;
use crate::error::Result;

/// The directory of markers, relative to the root.
pub(crate) const ACTIVE_DIR: &str = "locks/active";

/// The stamp written after a full recovery.
const RECOVERED: &str = "locks/recovered";

/// The kernel's id of this boot; `None` where it cannot be read (then every
/// lone open recovers in full).
fn boot_id() -> Option<String> {
    fs_err::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// A marker for the calling process; removed by [`Marker::remove`] (the
/// store's drop) only in the process that made it, so a forked child that
/// drops its copy of the store does not remove its parent's marker.
#[derive(Debug)]
pub(crate) struct Marker {
    path: PathBuf,
    pid: u32,
}

impl Marker {
    /// Creates this process's marker under `root`.
    pub(crate) fn create(root: &Path) -> Result<Marker> {
        let pid = std::process::id();
        let id = random_id()?;
        let path = root.join(ACTIVE_DIR).join(format!("{pid}-{}", &id[..16]));
        fs_err::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok(Marker { path, pid })
    }

    /// The marker file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the marker if this is the process that made it.
    pub(crate) fn remove(&self) {
        if std::process::id() == self.pid {
            let _ = fs_err::remove_file(&self.path);
        }
    }
}

/// True when a full recovery ran in this boot and no store was left open by
/// a process that ended without closing it. The caller holds the root lock
/// exclusively and has not made its own marker yet.
pub(crate) fn clean(root: &Path) -> bool {
    let Some(boot) = boot_id() else {
        return false;
    };
    let stamped = fs_err::read_to_string(root.join(RECOVERED)).is_ok_and(|s| s.trim() == boot);
    stamped && fs_err::read_dir(root.join(ACTIVE_DIR)).is_ok_and(|mut d| d.next().is_none())
}

/// After a full recovery (root lock held exclusively): drops the markers of
/// processes that ended without closing the store (all but `own`) and stamps
/// the boot id.
pub(crate) fn mark_recovered(root: &Path, own: &Path) -> Result<()> {
    for entry in fs_err::read_dir(root.join(ACTIVE_DIR))? {
        let path = entry?.path();
        if path != own {
            let _ = fs_err::remove_file(path);
        }
    }
    let Some(boot) = boot_id() else {
        return Ok(());
    };
    // Written by rename: a torn stamp would only cost one more full recovery,
    // but a partial write must never look like a valid one.
    let tmp = root.join(format!("{RECOVERED}.tmp"));
    fs_err::write(&tmp, boot)?;
    fs_err::rename(&tmp, root.join(RECOVERED))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(dir.path().join(ACTIVE_DIR)).unwrap();
        dir
    }

    #[test]
    fn clean_needs_a_stamp_of_this_boot_and_no_marker() {
        let dir = root();
        assert!(!clean(dir.path()), "never recovered");
        mark_recovered(dir.path(), Path::new("/none")).unwrap();
        assert!(clean(dir.path()));
        let m = Marker::create(dir.path()).unwrap();
        assert!(!clean(dir.path()), "a store is (or was left) open");
        m.remove();
        assert!(clean(dir.path()));
        fs_err::write(dir.path().join(RECOVERED), "another-boot").unwrap();
        assert!(!clean(dir.path()), "a reboot (or power loss) since");
    }

    #[test]
    fn recovery_clears_markers_left_by_crashed_processes() {
        let dir = root();
        let left = Marker::create(dir.path()).unwrap();
        let own = Marker::create(dir.path()).unwrap();
        mark_recovered(dir.path(), own.path()).unwrap();
        assert!(!left.path.exists());
        assert!(
            own.path.exists(),
            "the recovering process's own marker stays"
        );
        own.remove();
        assert!(clean(dir.path()));
    }
}
