//! Priming the kernel's cgroup migration lock, so a container's first `cgroup.procs`
//! write does not wait a whole RCU grace period.
//!
//! Every migration into a cgroup (v1 and v2 alike) takes one global lock,
//! `cgroup_threadgroup_rwsem`, for writing. A percpu rwsem's writer first switches its
//! readers to their slow path, and that switch waits for an RCU grace period (10 to 20
//! ms measured on a 2-CPU host) unless another writer used the lock within about the
//! last grace period. A lone `berth run` therefore pays a grace period right where it
//! moves its container in. [`start`] makes this process migrate into the cgroup it is
//! already in (nothing changes) on a thread of its own, at once, so the grace period
//! runs while berth prepares the container; [`finish`] waits for that thread before the
//! process forks (the runtime forks only while single-threaded).

use std::path::PathBuf;
use std::sync::Mutex;
use std::thread::JoinHandle;

use crate::Hierarchies;

static PRIMER: Mutex<Option<JoinHandle<()>>> = Mutex::new(None);

/// Starts the primer thread (once per process; errors are ignored: priming only saves
/// time, and a host where it cannot write loses nothing).
pub fn start() {
    let Ok(mut slot) = PRIMER.lock() else {
        return;
    };
    if slot.is_some() {
        return;
    }
    *slot = std::thread::Builder::new()
        .name("cgroup-primer".into())
        .spawn(|| {
            if let Some(procs) = own_procs_file() {
                let _ = fs_err::write(procs, std::process::id().to_string());
            }
        })
        .ok();
}

/// Waits for the primer thread, if one was started (it ends within a grace period).
pub fn finish() {
    let handle = PRIMER.lock().ok().and_then(|mut s| s.take());
    if let Some(h) = handle {
        let _ = h.join();
    }
}

/// The `cgroup.procs` of the cgroup this process is in, on the unified hierarchy if it
/// is mounted, else on the first v1 hierarchy that lists it.
fn own_procs_file() -> Option<PathBuf> {
    let h = Hierarchies::detect().ok()?;
    let own = fs_err::read_to_string("/proc/self/cgroup").ok()?;
    own_procs_in(&h, &own)
}

fn own_procs_in(h: &Hierarchies, own: &str) -> Option<PathBuf> {
    let at = |mount: &std::path::Path, rel: &str| {
        mount.join(rel.trim_start_matches('/')).join("cgroup.procs")
    };
    let lines = || {
        own.lines().filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, ctrls, rel) = (parts.next()?, parts.next()?, parts.next()?);
            Some((ctrls, rel))
        })
    };
    if let Some(u) = &h.unified
        && let Some((_, rel)) = lines().find(|(ctrls, _)| ctrls.is_empty())
    {
        return Some(at(&u.mount_point, rel));
    }
    for (ctrls, rel) in lines().filter(|(ctrls, _)| !ctrls.is_empty()) {
        let names: Vec<&str> = ctrls.split(',').collect();
        let found = h.v1.iter().find(|v| {
            v.controllers.iter().any(|c| names.contains(&c.as_str()))
                || v.name
                    .as_deref()
                    .is_some_and(|n| names.contains(&format!("name={n}").as_str()))
        });
        if let Some(v) = found {
            return Some(at(&v.mount_point, rel));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw
31 25 0:27 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,pids
";

    #[test]
    fn the_unified_line_names_the_file_on_the_unified_mount() {
        let h = Hierarchies::parse(HYBRID, std::path::Path::new("mountinfo")).unwrap();
        let own = "8:pids:/user.slice\n0::/user.slice/session-1.scope\n";
        assert_eq!(
            own_procs_in(&h, own),
            Some(PathBuf::from(
                "/sys/fs/cgroup/unified/user.slice/session-1.scope/cgroup.procs"
            ))
        );
    }

    #[test]
    fn without_a_unified_mount_a_v1_hierarchy_is_used() {
        let v1 = "31 25 0:27 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
        let h = Hierarchies::parse(v1, std::path::Path::new("mountinfo")).unwrap();
        let own = "0::/\n8:pids:/a\n";
        assert_eq!(
            own_procs_in(&h, own),
            Some(PathBuf::from("/sys/fs/cgroup/pids/a/cgroup.procs"))
        );
    }

    #[test]
    fn finish_without_start_returns_and_finish_waits_for_the_primer_thread() {
        finish();
        start();
        finish();
        assert!(PRIMER.lock().unwrap().is_none());
        // The primer thread has ended: no task of this process carries its name.
        let names: Vec<String> = fs_err::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter_map(|t| fs_err::read_to_string(t.path().join("comm")).ok())
            .collect();
        assert!(
            !names.iter().any(|n| n.trim() == "cgroup-primer"),
            "{names:?}"
        );
    }
}
