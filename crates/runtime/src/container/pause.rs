//! `pause`, `resume` and `update`: acting on a container's cgroup.

use oci_spec::runtime::LinuxResources;

use super::Runtime;
use crate::error::Result;
use crate::state::Status;

/// Freezes every process of container `id`.
pub fn pause(rt: &Runtime, id: &str) -> Result<()> {
    let c = rt.load(id)?;
    if c.status() != Status::Running {
        return Err(c.bad_state("pause it", "\nhint: only a running container can be paused"));
    }
    Ok(c.cgroup()?.freeze()?)
}

/// Thaws a paused container.
pub fn resume(rt: &Runtime, id: &str) -> Result<()> {
    let c = rt.load(id)?;
    if c.status() != Status::Paused {
        return Err(c.bad_state(
            "resume it",
            "\nhint: only a paused container can be resumed",
        ));
    }
    Ok(c.cgroup()?.thaw()?)
}

/// Changes the resource limits of a live container.
pub fn update(rt: &Runtime, id: &str, res: &LinuxResources) -> Result<()> {
    let c = rt.load(id)?;
    if c.status() == Status::Stopped {
        return Err(c.bad_state("update it", ""));
    }
    Ok(c.cgroup()?.apply(res)?)
}
