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
pub fn start(rt: &Runtime, id: &str) -> Result<Container> {
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
    loop {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(50u16)) {
            Ok(0) | Err(nix::Error::EINTR) => {}
            Ok(_) => {
                let mut buf = [0u8; 1];
                match nix::unistd::read(&fd, &mut buf) {
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
    loop {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(50u16)) {
            Ok(0) | Err(nix::Error::EINTR) => {}
            Ok(_) => {
                let mut buf = [0u8; 16];
                match nix::unistd::read(&fd, &mut buf) {
                    Ok(0) => break,
                    Ok(_) | Err(nix::Error::EAGAIN) => {}
                    Err(_) => break,
                }
            }
            Err(e) => return Err(Error::sys("waiting for the container's program", e)),
        }
        if !init_alive(&c.saved) {
            break;
        }
    }
    let spec = c.dir.load_spec()?;
    if let Some(h) = spec.hooks().as_ref().and_then(|h| h.poststart().as_ref()) {
        // poststart failures are logged by the caller, not fatal (runtime spec).
        crate::hooks::run("poststart", h, &c.oci_state())?;
    }
    Ok(c)
}
