//! The channel between the runtime and the container's init while it is being set up.
//!
//! A `SOCK_SEQPACKET` socketpair keeps message boundaries and can carry file descriptors
//! (the pty master). It is close-on-exec, so when init execs the user's program the
//! runtime reads end-of-file: that is how `run` knows the program started.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, SysContext};

/// Messages exchanged while creating a container.
#[derive(Debug, Serialize, Deserialize)]
pub enum Msg {
    /// Stage 1 → runtime: I made a user namespace; write my id maps.
    MapIds,
    /// Runtime → stage 1: maps written.
    MapsDone,
    /// Stage 1 → runtime: the container's init has this pid.
    Pid(i32),
    /// Init → runtime: mounts are done; run prestart and createRuntime hooks.
    RunHooks,
    /// Runtime → init: hooks ran; here is the state JSON for the container's own hooks.
    HooksDone(String),
    /// Init → runtime: a pty master follows (as SCM_RIGHTS) for the runtime to hold.
    Pty,
    /// Init → runtime: set up; waiting for start.
    Ready,
    /// Anything → runtime: setup failed.
    Failed(String),
    /// Init → runtime: the program cannot be executed (message, Docker's exit status).
    NoExec(String, i32),
}

/// One end of the channel.
#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
}

/// Creates a connected pair (parent end, child end).
pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .ctx(|| "creating the setup channel".into())?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    /// Raw descriptor (to keep it across a fork).
    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Sends a message.
    pub fn send(&self, msg: &Msg) -> Result<()> {
        self.send_with_fd(msg, None)
    }

    /// Sends a message with a file descriptor attached.
    pub fn send_with_fd(&self, msg: &Msg, fd: Option<RawFd>) -> Result<()> {
        let buf = serde_json::to_vec(msg).map_err(|e| Error::Init(e.to_string()))?;
        let iov = [IoSlice::new(&buf)];
        let fds;
        let cmsgs: &[ControlMessage] = match fd {
            Some(f) => {
                fds = [f];
                &[ControlMessage::ScmRights(&fds)]
            }
            None => &[],
        };
        sendmsg::<()>(self.fd.as_raw_fd(), &iov, cmsgs, MsgFlags::empty(), None)
            .ctx(|| "sending on the setup channel".into())?;
        Ok(())
    }

    /// Receives a message; `None` at end of file (the peer exec'd or exited).
    pub fn recv(&self) -> Result<Option<(Msg, Option<OwnedFd>)>> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut cbuf = nix::cmsg_space!([RawFd; 1]);
        let (len, fd) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut cbuf),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(r) => {
                    let mut fd = None;
                    for c in r
                        .cmsgs()
                        .map_err(|e| Error::sys("reading control data", e))?
                    {
                        if let ControlMessageOwned::ScmRights(fds) = c {
                            for f in fds {
                                // SAFETY: the kernel just gave us this descriptor.
                                let owned = unsafe { OwnedFd::from_raw_fd(f) };
                                fd.get_or_insert(owned);
                            }
                        }
                    }
                    break (r.bytes, fd);
                }
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(Error::sys("reading the setup channel", e)),
            }
        };
        if len == 0 {
            return Ok(None);
        }
        let msg = serde_json::from_slice(&buf[..len])
            .map_err(|e| Error::Init(format!("bad message on the setup channel: {e}")))?;
        Ok(Some((msg, fd)))
    }

    /// Receives and expects one particular message; turns `Failed` into an error.
    pub fn expect(&self, what: &str, want: impl Fn(&Msg) -> bool) -> Result<Msg> {
        match self.recv()? {
            Some((m, _)) if want(&m) => Ok(m),
            Some((Msg::Failed(e), _)) => Err(Error::Init(e)),
            Some((Msg::NoExec(message, status), _)) => Err(Error::Exec { message, status }),
            Some((m, _)) => Err(Error::Init(format!(
                "container setup: expected {what}, got {m:?}"
            ))),
            None => Err(Error::Init(format!(
                "container setup: the container's init exited before {what}"
            ))),
        }
    }
}
