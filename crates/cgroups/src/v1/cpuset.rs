//! v1 cpuset controller: cpus and mems, and filling in empty parents.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::{Error, file};

/// Whether the spec pins CPUs or memory nodes.
pub(crate) fn wanted(c: &LinuxCpu) -> bool {
    c.cpus().as_deref().is_some_and(|s| !s.is_empty())
        || c.mems().as_deref().is_some_and(|s| !s.is_empty())
}

/// Writes cpuset.cpus and cpuset.mems.
pub(crate) fn apply(dir: &Path, c: &LinuxCpu) -> Result<(), Error> {
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        file::write(&dir.join("cpuset.cpus"), cpus)?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        file::write(&dir.join("cpuset.mems"), mems)?;
    }
    Ok(())
}

/// Creates `rel` under the cpuset hierarchy `root` one level at a time, copying cpuset.cpus
/// and cpuset.mems from the parent into every new level: a v1 cpuset cgroup starts with both
/// empty, and the kernel refuses to move a task into it until they are set.
pub(crate) fn create(root: &Path, rel: &Path) -> Result<(), Error> {
    let mut parent = root.to_path_buf();
    for comp in rel.components() {
        let dir = parent.join(comp);
        crate::cgroup::mkdir(&dir)?;
        for name in ["cpuset.cpus", "cpuset.mems"] {
            let own = dir.join(name);
            if file::read(&own)?.trim().is_empty() {
                let inherited = file::read(&parent.join(name))?;
                let inherited = inherited.trim();
                if !inherited.is_empty() {
                    file::write(&own, inherited)?;
                }
            }
        }
        parent = dir;
    }
    Ok(())
}
