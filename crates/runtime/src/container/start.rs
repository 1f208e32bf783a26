//! `start`: let a created container run its program.

use std::os::fd::AsFd;

use nix::fcntl::{OFlag, open};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::stat::Mode;

use super::{Container, Runtime};
use crate::error::{Error, Result, SysContext};
use crate::state::{Status, init_alive};

/// Starts container `id`: opens the exec fifo, which releases its init, then runs the
/// poststart hooks.
pub fn start(rt: &Runtime, id: &str) -> Result<Started> {
    let c = rt.load(id)?;
    match c.status() {
        Status::Created => {}
        Status::Stopped => {
            return Err(c.bad_state(
                "start it",
                "\nhint: its init exited before start; see `delete` and create it again",
            ));
        }
        _ => {
            return Err(c.bad_state(
                "start it",
                "\nhint: only a created container can be started",
            ));
        }
    }
    let fifo = c.dir.fifo();
    // Open without blocking, then poll: if the init died, a blocking open would hang.
    let fd = open(
        &fifo,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("opening {}", fifo.display()))?;
    let mut n = 0;
    let mut first = [0u8; 1];
    loop {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(50u16)) {
            Ok(0) | Err(nix::Error::EINTR) => {}
            Ok(_) => {
                match nix::unistd::read(&fd, &mut first) {
                    Ok(k) => n = k,
                    Err(nix::Error::EAGAIN) => continue,
                    Err(e) => return Err(Error::sys(format!("reading {}", fifo.display()), e)),
                }
                break;
            }
            Err(e) => return Err(Error::sys("waiting for the container's init", e)),
        }
        if !init_alive(&c.saved) {
            break;
        }
    }
    let _ = fs_err::remove_file(&fifo);
    if n == 0 {
        return Err(Error::Init(format!(
            "container {id:?}: its init exited before it could start"
        )));
    }
    // Wait for end-of-file: the init's write end closes when it executes the program.
    // Anything written after an 'E' is the init's report of why it could not.
    let mut report = Vec::new();
    loop {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(50u16)) {
            Ok(0) | Err(nix::Error::EINTR) => {}
            Ok(_) => {
                let mut buf = [0u8; 4096];
                match nix::unistd::read(&fd, &mut buf) {
                    Ok(0) => break,
                    Ok(k) => report.extend_from_slice(&buf[..k]),
                    Err(nix::Error::EAGAIN) => {}
                    Err(_) => break,
                }
            }
            Err(e) => return Err(Error::sys("waiting for the container's program", e)),
        }
        if !init_alive(&c.saved) {
            break;
        }
    }
    if first[0] == b'E' {
        return Err(Error::Init(String::from_utf8_lossy(&report).into_owned()));
    }
    if let Some(msg) = report.strip_prefix(b"E") {
        // The program itself could not be executed.
        return Err(Error::Init(String::from_utf8_lossy(msg).into_owned()));
    }
    let spec = c.dir.load_spec()?;
    let mut warnings = Vec::new();
    if let Some(h) = spec.hooks().as_ref().and_then(|h| h.poststart().as_ref()) {
        // poststart failures are warnings, not errors (runtime spec); they see the
        // container as running even if its program already finished.
        let state = super::oci_state_of(&c.saved, Status::Running);
        warnings = crate::hooks::run_all("poststart", h, &state);
    }
    Ok(Started {
        container: c,
        warnings,
    })
}

/// A started container and the poststart hooks that failed (warnings).
pub struct Started {
    /// The container.
    pub container: Container,
    /// Failed poststart hooks.
    pub warnings: Vec<Error>,
}
