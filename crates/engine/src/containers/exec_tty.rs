//! `exec -d -t`: a detached process with a terminal. The pty master must stay open
//! after `berth exec` returns, or the kernel hangs up the terminal and the process gets
//! SIGHUP; Docker's daemon holds it. berth leaves a tiny orphan that holds the master
//! and discards the output (as Docker does for a detached exec) until the process and
//! everything else on the terminal is gone.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::unistd::{ForkResult, fork};

use crate::{Error, Result};

/// Hands `pty` (a detached exec's master) to an orphaned drain process and returns.
/// Only call from a single-threaded process (design.md: threads and fork).
pub(crate) fn keep_draining(pty: OwnedFd) -> Result<()> {
    let sys = |e| Error::Sys {
        what: "forking the terminal holder of a detached exec".into(),
        source: e,
    };
    // SAFETY: single-threaded (the exec path already forked); the child only makes
    // system calls and leaves with _exit.
    match unsafe { fork() }.map_err(sys)? {
        ForkResult::Parent { child } => {
            drop(pty);
            // The first child exits at once; its child, the holder, goes to init.
            let _ = nix::sys::wait::waitpid(child, None);
            Ok(())
        }
        ForkResult::Child => {
            // SAFETY: as above; nothing here returns into the caller's code.
            unsafe {
                if libc::fork() != 0 {
                    libc::_exit(0);
                }
                libc::setsid();
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                for fd in 0..3 {
                    libc::dup2(null, fd);
                }
                let keep = pty.as_raw_fd();
                libc::dup2(keep, 3);
                libc::close_range(4, u32::MAX, 0);
                let mut buf = [0u8; 4096];
                // EIO once no process has the terminal open any more.
                while libc::read(3, buf.as_mut_ptr().cast(), buf.len()) > 0 {}
                libc::_exit(0)
            }
        }
    }
}
