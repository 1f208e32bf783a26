//! Moving a new process into a cgroup without waiting for an RCU grace period.
//!
//! Writing a pid to `cgroup.procs` (v1 and v2 alike) takes the kernel's global
//! `cgroup_threadgroup_rwsem` for writing. A percpu rwsem's writer first switches every
//! reader to its slow path, and that waits for an RCU grace period: 5 to 13 ms measured
//! on a 2-CPU host, on the critical path of every `run` and `exec`. Two moves skip the lock:
//!
//! - on a v1 hierarchy, a single-threaded process writing `0` (itself) to `tasks`: a
//!   thread moving itself cannot exit or exec meanwhile, so the kernel leaves the lock
//!   alone (0.3 ms against 5 ms for `cgroup.procs` in the same test);
//! - on the unified hierarchy, a child cloned straight into the cgroup (`clone3` with
//!   `CLONE_INTO_CGROUP`, Linux 5.7), whose fork takes that lock only for reading.
//!
//! The runtime opens the files with [`Cgroup::joiner`] before it forks (the new process may
//! be in namespaces that no longer see them by path); the new process calls
//! [`Joiner::join_self`] first thing. Where a clone into the cgroup is refused (an older
//! kernel; a user namespace without write access to the cgroup), `join_self` writes `0` to
//! the unified `cgroup.procs`, which is slower but permitted by the descriptor the runtime
//! opened.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;

use crate::{Cgroup, Error};

/// The open control files a new process needs to join one cgroup in every hierarchy.
#[derive(Debug)]
pub struct Joiner {
    /// Each v1 hierarchy's `tasks`.
    v1: Vec<(PathBuf, OwnedFd)>,
    unified: Option<UnifiedJoin>,
}

#[derive(Debug)]
struct UnifiedJoin {
    /// The cgroup's directory, for `CLONE_INTO_CGROUP`.
    dir: OwnedFd,
    /// Its `cgroup.procs`, for the move by write.
    procs_path: PathBuf,
    procs: OwnedFd,
}

fn open_write(path: &Path) -> Result<OwnedFd, Error> {
    open(path, OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(|e| Error::Write {
        path: path.to_path_buf(),
        value: "0".into(),
        source: e.into(),
    })
}

impl Cgroup {
    /// Opens what [`Joiner::join_self`] writes to; the cgroup must exist ([`Cgroup::create`]).
    pub fn joiner(&self) -> Result<Joiner, Error> {
        let h = self.hierarchies()?;
        let v1 =
            h.v1.iter()
                .map(|v| {
                    let path = v.mount_point.join(&self.rel).join("tasks");
                    let fd = open_write(&path)?;
                    Ok((path, fd))
                })
                .collect::<Result<Vec<_>, Error>>()?;
        let unified = match self.unified_dir()? {
            None => None,
            Some(dir_path) => {
                let dir = open(
                    &dir_path,
                    OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| Error::Read {
                    path: dir_path.clone(),
                    source: e.into(),
                })?;
                let procs_path = dir_path.join("cgroup.procs");
                let procs = open_write(&procs_path)?;
                Some(UnifiedJoin {
                    dir,
                    procs_path,
                    procs,
                })
            }
        };
        Ok(Joiner { v1, unified })
    }
}

impl Joiner {
    /// The cgroup's directory on the unified hierarchy, to clone a child into
    /// (`clone3`'s `CLONE_INTO_CGROUP`); `None` without a unified hierarchy.
    pub fn clone_target(&self) -> Option<BorrowedFd<'_>> {
        self.unified.as_ref().map(|u| u.dir.as_fd())
    }

    /// Moves the calling process into the cgroup in every hierarchy. Call it only from a
    /// single-threaded process (a v1 `tasks` write moves one thread). `in_unified`: the
    /// process was cloned into the cgroup on the unified hierarchy already.
    pub fn join_self(&self, in_unified: bool) -> Result<(), Error> {
        for (path, fd) in &self.v1 {
            write_zero(path, fd)?;
        }
        if let Some(u) = &self.unified
            && !in_unified
        {
            write_zero(&u.procs_path, &u.procs)?;
        }
        Ok(())
    }
}

/// `0` names the writer itself.
fn write_zero(path: &Path, fd: &OwnedFd) -> Result<(), Error> {
    nix::unistd::write(fd, b"0")
        .map(drop)
        .map_err(|e| Error::Write {
            path: path.to_path_buf(),
            value: "0".into(),
            source: e.into(),
        })
}
