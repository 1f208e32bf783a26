//! Named network namespaces: a bind mount of a namespace file, as
//! `ip netns add` makes, without depending on iproute2.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;

use crate::error::{Error, Result};

/// The calling thread's own network namespace file. `/proc/self` would name
/// the thread-group leader's, which differs once a thread has moved.
pub(crate) const THREAD_NETNS: &str = "/proc/thread-self/ns/net";

/// Creates a new, empty network namespace and pins it at `path` (a new file;
/// its directory must exist).
///
/// Only the calling thread enters the new namespace, and only for the time
/// of the bind mount; it is back in its own before this returns. No process
/// is forked, so this is safe in multi-threaded callers too.
///
/// ```no_run
/// let p = std::path::Path::new("/run/berth/netns/c1");
/// berth_net::netns::create(p)?;
/// berth_net::netns::delete(p)?;
/// # Ok::<(), berth_net::Error>(())
/// ```
pub fn create(path: &Path) -> Result<()> {
    fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    let result = (|| {
        let home = open(Path::new(THREAD_NETNS))?;
        nix::sched::unshare(CloneFlags::CLONE_NEWNET)
            .map_err(|e| Error::sys("unshare(CLONE_NEWNET)", e))?;
        let mounted = nix::mount::mount(
            Some(THREAD_NETNS),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| Error::sys(format!("bind-mount netns on {}", path.display()), e));
        // Always go home, even when the mount failed: this thread must not
        // stay in the new namespace.
        nix::sched::setns(home.as_fd(), CloneFlags::CLONE_NEWNET)
            .map_err(|e| Error::sys("setns back to the host netns", e))?;
        mounted
    })();
    if result.is_err() {
        let _ = fs_err::remove_file(path);
    }
    result
}

/// Unpins and removes a namespace made by [`create`]. The namespace dies
/// when its last process leaves (veth ends inside it vanish with it).
pub fn delete(path: &Path) -> Result<()> {
    match nix::mount::umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
        Err(e) => return Err(Error::sys(format!("umount {}", path.display()), e)),
    }
    match fs_err::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Opens a namespace file (`/proc/PID/ns/net` or a pinned one).
pub fn open(path: &Path) -> Result<OwnedFd> {
    Ok(fs_err::File::open(path)?.into_file().into())
}

/// While alive, the calling thread is in another network namespace; drop
/// returns it home.
#[derive(Debug)]
pub struct Entered {
    home: OwnedFd,
    target: PathBuf,
}

/// Moves the calling thread into the namespace at `path` until the guard is
/// dropped. Sockets made meanwhile stay in that namespace for good.
pub fn enter(path: &Path) -> Result<Entered> {
    let home = open(Path::new(THREAD_NETNS))?;
    let target = open(path)?;
    nix::sched::setns(target.as_fd(), CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::sys(format!("setns {}", path.display()), e))?;
    Ok(Entered {
        home,
        target: path.to_path_buf(),
    })
}

impl Entered {
    /// The namespace file this guard entered.
    pub fn path(&self) -> &Path {
        &self.target
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        // Cannot fail for a namespace we came from; nothing to report to.
        let _ = nix::sched::setns(self.home.as_fd(), CloneFlags::CLONE_NEWNET);
    }
}

/// Runs `f` with the calling thread inside the namespace at `path`.
pub fn run_in<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let _guard = enter(path)?;
    f()
}
