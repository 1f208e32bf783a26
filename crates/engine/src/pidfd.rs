//! Process file descriptors: a way to watch and signal a process that is not our child
//! (a container's init, its monitor, a network's resolver) without racing a reused pid,
//! and to learn the moment it ends. A pidfd is readable once the process has exited,
//! before anyone reaps it: a zombie waiting for a slow PID 1 already counts as gone,
//! which `kill(pid, 0)` would not tell.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// A pidfd of process `pid`, or `None` when it does not exist (or the kernel is older
/// than 5.3). The caller checks afterwards that the pid is still the process it means.
pub(crate) fn open(pid: i32) -> Option<OwnedFd> {
    let pid = rustix::process::Pid::from_raw(pid.max(0))?;
    rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()
}

/// Whether the process behind `fd` has ended, waiting at most `timeout` for it.
pub(crate) fn wait(fd: &OwnedFd, timeout: Duration) -> bool {
    let ms = timeout.as_millis().min(i32::MAX as u128);
    let ms = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    poll(&mut fds, ms).unwrap_or(0) > 0
}

/// Sends `sig` to the process behind `fd` (never to a process that reused its pid).
pub(crate) fn signal(fd: &OwnedFd, sig: rustix::process::Signal) -> bool {
    rustix::process::pidfd_send_signal(fd, sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pidfd_turns_readable_when_its_process_ends_before_it_is_reaped() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let pid = i32::try_from(child.id()).expect("pid");
        let fd = open(pid).expect("pidfd of a live child");
        assert!(!wait(&fd, Duration::from_millis(20)), "still running");
        assert!(signal(&fd, rustix::process::Signal::TERM));
        // Not reaped yet (a zombie): the pidfd already says it has ended.
        assert!(wait(&fd, Duration::from_secs(5)), "ended after SIGTERM");
        let _ = child.wait();
        assert!(open(-1).is_none());
    }
}
