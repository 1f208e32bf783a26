//! The forks that make a container's processes: raw `clone`/`clone3` without a new stack,
//! which behave like fork(2), with two extras fork(2) lacks: a sibling (`CLONE_PARENT`, so
//! the runtime that started the caller can wait for the child) and a child born into a
//! cgroup (`CLONE_INTO_CGROUP`, see [`berth_cgroups::Joiner`]).
//!
//! Callers are single-threaded (design.md, "threads and fork"), so the child may allocate
//! and use std as a fork(2) child would.

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::sched::CloneFlags;

use crate::error::{Error, Result};

/// `CLONE_INTO_CGROUP` (Linux 5.7), a `clone3`-only flag.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` up to `cgroup` (`CLONE_ARGS_SIZE_VER2`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Which side of a fork this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forked {
    /// The child; `in_cgroup`: it was born into the cgroup asked for.
    Child {
        /// True when `CLONE_INTO_CGROUP` placed it.
        in_cgroup: bool,
    },
    /// The caller, with the child's pid.
    Parent(i32),
}

/// Forks; with `sibling` the child's parent is the caller's parent; `namespaces` (`CLONE_NEW*`
/// flags) are created for the child. With `into` (a cgroup2 directory) the child is cloned
/// into that cgroup when the kernel allows it; when it does not (before Linux 5.7, or a user
/// namespace without write access to the cgroup), the child is forked where the caller is
/// and learns so from [`Forked::Child`].
///
/// A new pid namespace belongs in `namespaces`, not in an earlier unshare(2): a refused clone
/// into the cgroup has then allocated no pid in it, while the first pid of an unshared
/// namespace, once freed, leaves the namespace unable to take any other (ENOMEM).
pub fn fork(
    what: &str,
    sibling: bool,
    namespaces: CloneFlags,
    into: Option<BorrowedFd<'_>>,
) -> Result<Forked> {
    let flags = namespaces.bits() | if sibling { libc::CLONE_PARENT } else { 0 };
    if let Some(cgroup) = into.and_then(|fd| u64::try_from(fd.as_raw_fd()).ok()) {
        let mut args = CloneArgs {
            flags: CLONE_INTO_CGROUP | u64::try_from(flags).unwrap_or(0),
            // clone3 refuses an exit signal with CLONE_PARENT: the sibling gets the
            // caller's own, as with clone(2).
            exit_signal: if sibling {
                0
            } else {
                u64::try_from(libc::SIGCHLD).unwrap_or(17)
            },
            cgroup,
            ..CloneArgs::default()
        };
        // SAFETY: clone3 with no stack behaves like fork; `args` outlives the call and
        // its size is passed; the caller is single-threaded.
        let pid = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                std::ptr::from_mut(&mut args),
                std::mem::size_of::<CloneArgs>(),
            )
        };
        match pid {
            0 => return Ok(Forked::Child { in_cgroup: true }),
            p if p > 0 => return Ok(Forked::Parent(i32::try_from(p).unwrap_or(-1))),
            // Refused: fork plainly; the child then joins by writing.
            _ => {}
        }
    }
    // SAFETY: a raw clone without a new stack behaves like fork; the caller is
    // single-threaded.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags | libc::SIGCHLD,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match pid {
        -1 => Err(Error::sys(format!("cloning {what}"), nix::Error::last())),
        0 => Ok(Forked::Child { in_cgroup: false }),
        pid => Ok(Forked::Parent(i32::try_from(pid).unwrap_or(-1))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exit status of a child that checks, with raw syscalls only (the test process has
    /// threads, and a raw clone runs no fork handlers), that its unified-hierarchy line in
    /// /proc/self/cgroup ends with `want`. 0: yes; 1: not born into the cgroup; 2: wrong line.
    fn child_checks(in_cgroup: bool, want: &[u8]) -> ! {
        let code = if !in_cgroup {
            1
        } else {
            let mut buf = [0u8; 4096];
            // SAFETY: a NUL-terminated path, a buffer of the size given.
            let n = unsafe {
                let fd = libc::open(c"/proc/self/cgroup".as_ptr(), libc::O_RDONLY);
                let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
                libc::close(fd);
                n
            };
            let text = &buf[..usize::try_from(n).unwrap_or(0)];
            let line = text.split(|b| *b == b'\n').find(|l| l.starts_with(b"0::"));
            if line.is_some_and(|l| l.ends_with(want)) {
                0
            } else {
                2
            }
        };
        // SAFETY: leaving the forked child.
        unsafe { libc::_exit(code) }
    }

    #[test]
    fn a_child_is_born_into_the_unified_cgroup() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: making cgroups needs root");
            return;
        }
        let Ok(h) = berth_cgroups::Hierarchies::detect() else {
            eprintln!("skipped: no cgroup filesystem");
            return;
        };
        if h.unified.is_none() {
            eprintln!("skipped: no unified hierarchy");
            return;
        }
        let path = format!("/berth-test-fork-{}", std::process::id());
        let cg = berth_cgroups::Cgroup::new(&path).unwrap();
        cg.create().unwrap();
        struct Gone<'a>(&'a berth_cgroups::Cgroup);
        impl Drop for Gone<'_> {
            fn drop(&mut self) {
                let _ = self.0.kill_all(libc::SIGKILL);
                let _ = self.0.destroy();
            }
        }
        let _gone = Gone(&cg);
        let joiner = cg.joiner().unwrap();
        let pid = match fork(
            "a test child",
            false,
            CloneFlags::empty(),
            joiner.clone_target(),
        )
        .unwrap()
        {
            Forked::Child { in_cgroup } => child_checks(in_cgroup, path.as_bytes()),
            Forked::Parent(pid) => pid,
        };
        let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).unwrap();
        assert_eq!(
            status,
            nix::sys::wait::WaitStatus::Exited(nix::unistd::Pid::from_raw(pid), 0)
        );
    }
}
