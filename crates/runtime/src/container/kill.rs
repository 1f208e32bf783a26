//! `kill`: send a signal to a container's init, or to all its processes.

use nix::sys::signal::Signal;

use super::Runtime;
use crate::error::{Error, Result};
use crate::state::Status;

/// Parses `9`, `KILL` or `SIGKILL`.
pub fn parse_signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
    } else {
        let up = s.to_ascii_uppercase();
        let name = if up.starts_with("SIG") {
            up
        } else {
            format!("SIG{up}")
        };
        if let Ok(sig) = name.parse::<Signal>() {
            return Ok(sig as i32);
        }
        if let Some(rt) = name
            .strip_prefix("SIGRTMIN+")
            .and_then(|n| n.parse::<i32>().ok())
        {
            return Ok(libc::SIGRTMIN() + rt);
        }
    }
    Err(Error::Unsupported {
        field: "signal".into(),
        message: format!("{s:?} is not a signal\nhint: use a number (9) or a name (KILL, SIGTERM)"),
    })
}

/// Sends `signal` to container `id`'s init (or, with `all`, to every process in it).
pub fn kill(rt: &Runtime, id: &str, signal: i32, all: bool) -> Result<()> {
    let c = rt.load(id)?;
    let status = c.status();
    if matches!(status, Status::Stopped | Status::Creating) && !all {
        return Err(c.bad_state("signal it", "\nhint: the container is not running"));
    }
    if all {
        let cg = c.cgroup()?;
        if status == Status::Paused {
            // Frozen tasks do not act on signals until thawed; SIGKILL must still work.
            cg.kill_all(signal)?;
            let _ = cg.thaw();
            return Ok(());
        }
        return Ok(cg.kill_all(signal)?);
    }
    // SAFETY: a plain signal number from parse_signal; kill(2) rejects invalid ones.
    let r = unsafe { libc::kill(c.saved.pid, signal) };
    if r != 0 {
        return Err(Error::sys(
            format!("signalling container {id:?} (pid {})", c.saved.pid),
            nix::Error::last(),
        ));
    }
    Ok(())
}
