//! cgroup v2 (the unified hierarchy): one file per controller, written against the kernel's
//! Documentation/admin-guide/cgroup-v2.rst.

pub(crate) mod cpu;
pub(crate) mod cpuset;
pub mod devices;
pub(crate) mod freeze;
pub(crate) mod hugetlb;
pub(crate) mod io;
pub(crate) mod memory;
pub(crate) mod pids;

use std::path::Path;

use crate::{Error, file};

/// Controllers berth enables along the path, in the unified hierarchy's own names.
pub(crate) const CONTROLLERS: &[&str] = &[
    "cpu", "cpuset", "hugetlb", "io", "memory", "pids", "rdma", "misc",
];

/// Enables, in `cgroup.subtree_control` of `root` and of every directory on the way down to
/// (not including) `root/rel`, each controller of ours that the parent offers.
///
/// Each controller is enabled on its own: one the kernel refuses (cpu while a realtime task
/// sits in the root, for example) must not keep the others off. A refused controller shows
/// up later as a clear error if the spec actually asks to limit it.
pub(crate) fn enable_controllers(root: &Path, rel: &Path) -> Result<(), Error> {
    let mut dir = root.to_path_buf();
    let comps: Vec<_> = rel.components().collect();
    for (i, comp) in comps.iter().enumerate() {
        let available = file::read_words(&dir.join("cgroup.controllers"))?;
        let enabled = file::read_words(&dir.join("cgroup.subtree_control"))?;
        for c in CONTROLLERS {
            if available.iter().any(|a| a == c) && !enabled.iter().any(|e| e == c) {
                let _ = file::write(&dir.join("cgroup.subtree_control"), &format!("+{c}"));
            }
        }
        dir.push(comp);
        if i + 1 < comps.len() {
            crate::cgroup::mkdir(&dir)?;
        }
    }
    Ok(())
}
