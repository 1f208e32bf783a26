//! `delete`: remove a stopped container (or, with force, stop and remove it).

use std::time::{Duration, Instant};

use super::Runtime;
use crate::error::{Error, Result};
use crate::state::{Status, init_alive};

/// Deletes container `id`. Teardown goes on past failures and reports all of them;
/// failed poststop hooks come back as warnings.
pub fn delete(rt: &Runtime, id: &str, force: bool) -> Result<Vec<Error>> {
    let c = match rt.load(id) {
        Ok(c) => c,
        // runc: deleting a missing container with --force is not an error.
        Err(Error::NotFound { .. }) if force => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let status = c.status();
    match status {
        Status::Stopped | Status::Creating => {}
        _ if force => {}
        _ => {
            return Err(c.bad_state(
                "delete it",
                "\nhint: stop it first (kill), or use `delete --force`",
            ));
        }
    }
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let cg = c.cgroup();
    if status != Status::Stopped {
        if let Ok(cg) = &cg {
            if let Err(e) = cg.kill_all(libc::SIGKILL) {
                errors.push(Error::from(e));
            }
            let _ = cg.thaw();
        }
        if c.saved.pid > 0 && init_alive(&c.saved) {
            // SAFETY: signalling the container's init.
            unsafe { libc::kill(c.saved.pid, libc::SIGKILL) };
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while init_alive(&c.saved) && Instant::now() < deadline {
            // Reap it if it is our child; otherwise its parent will.
            let _ = nix::sys::wait::waitpid(
                nix::unistd::Pid::from_raw(c.saved.pid),
                Some(nix::sys::wait::WaitPidFlag::WNOHANG),
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    if let Ok(cg) = &cg {
        match cg.destroy() {
            Ok(()) => remove_empty_parents(cg),
            Err(e) => errors.push(Error::from(e)),
        }
    }
    if let Ok(spec) = c.dir.load_spec()
        && let Some(h) = spec.hooks().as_ref().and_then(|h| h.poststop().as_ref())
    {
        let state = super::oci_state_of(&c.saved, Status::Stopped);
        // poststop failures are warnings: the removal goes on (runtime spec).
        warnings.extend(crate::hooks::run_all("poststop", h, &state));
    }
    if let Err(e) = fs_err::remove_dir_all(&c.dir.dir) {
        errors.push(Error::io("removing state", &c.dir.dir, e));
    }
    match errors.len() {
        0 => Ok(warnings),
        1 => Err(errors.remove(0)),
        _ => Err(Error::Many(errors)),
    }
}

/// Removes berth's own parents of a container's cgroup (`/berth` of `/berth/<id>`) once
/// they are empty, so no trace of berth stays in the cgroup tree. Only parents whose name
/// starts with `berth` are touched: others (`kubepods/…`) belong to whoever made them.
/// rmdir refuses a cgroup that still has children, so a sibling container is never
/// affected; a concurrent `create` that loses its fresh parent this way retries.
fn remove_empty_parents(cg: &berth_cgroups::Cgroup) {
    let Ok(dirs) = cg.dirs() else { return };
    let depth = cg.relative().components().count();
    for dir in dirs {
        let mut d = dir.as_path();
        for _ in 1..depth {
            let Some(parent) = d.parent() else { break };
            let ours = parent
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("berth"));
            if !ours || fs_err::remove_dir(parent).is_err() {
                break;
            }
            d = parent;
        }
    }
}
