//! Waiting for a container's init to exit.

use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// Docker's convention: the exit status, or 128 + signal number.
pub fn exit_code_of(ws: WaitStatus) -> Option<i32> {
    match ws {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// Waits for our child `pid` and returns its exit code.
pub fn wait_for(pid: i32) -> Result<i32> {
    loop {
        match waitpid(Pid::from_raw(pid), None) {
            Ok(ws) => {
                if let Some(code) = exit_code_of(ws) {
                    return Ok(code);
                }
            }
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(Error::sys(format!("waiting for pid {pid}"), e)),
        }
    }
}
