//! Terminals: the pty made inside the container, handed to whoever holds the console.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::fcntl::{OFlag, open};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, connect, socket};
use nix::sys::stat::Mode;

use crate::error::{Error, Result, SysContext};

/// A new pty inside the container: the master and the slave's path.
pub struct Pty {
    /// Master side, for the runtime or the console socket's listener.
    pub master: OwnedFd,
    /// Slave side, to become the process's stdio.
    pub slave: OwnedFd,
    /// `/dev/pts/N`.
    pub slave_path: String,
}

/// Opens a pty from the container's `/dev/ptmx` (call after pivot_root).
pub fn open_pty(size: Option<(u16, u16)>) -> Result<Pty> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .ctx(|| "opening /dev/ptmx in the container".into())?;
    grantpt(&master).ctx(|| "grantpt".into())?;
    unlockpt(&master).ctx(|| "unlockpt".into())?;
    let slave_path = ptsname_r(&master).ctx(|| "ptsname".into())?;
    let slave = open(
        Path::new(&slave_path),
        OFlag::O_RDWR | OFlag::O_NOCTTY,
        Mode::empty(),
    )
    .ctx(|| format!("opening {slave_path}"))?;
    if let Some((rows, cols)) = size {
        set_size(slave.as_raw_fd(), rows, cols);
    }
    let master = OwnedFd::from(master);
    Ok(Pty {
        master,
        slave,
        slave_path,
    })
}

/// Sets a terminal's window size.
pub fn set_size(fd: RawFd, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize struct we own.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
}

/// Makes `slave` the controlling terminal and stdio of this process.
pub fn become_stdio(slave: &OwnedFd) -> Result<()> {
    nix::unistd::setsid().ctx(|| "setsid".into())?;
    // SAFETY: TIOCSCTTY on a terminal fd we own.
    if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } != 0 {
        return Err(Error::Init(format!(
            "making the pty the controlling terminal: {}",
            std::io::Error::last_os_error()
        )));
    }
    for target in 0..=2 {
        // SAFETY: dup2 onto the standard descriptors.
        if unsafe { libc::dup2(slave.as_raw_fd(), target) } < 0 {
            return Err(Error::Init(format!(
                "dup2 pty onto fd {target}: {}",
                std::io::Error::last_os_error()
            )));
        }
    }
    Ok(())
}

/// Connects to a runc-style console socket. Done by the runtime before the container
/// exists: after pivot_root the socket's path is out of the container's reach.
pub fn connect_socket(socket_path: &Path) -> Result<OwnedFd> {
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .ctx(|| "creating a socket for the console".into())?;
    let addr =
        UnixAddr::new(socket_path).ctx(|| format!("console socket {}", socket_path.display()))?;
    connect(sock.as_raw_fd(), &addr)
        .ctx(|| format!("connecting to console socket {}", socket_path.display()))?;
    Ok(sock)
}

/// Sends the pty master over a connected console socket (runc's protocol: one
/// SCM_RIGHTS message whose payload is the slave's name).
pub fn send_master(sock: &OwnedFd, master: &OwnedFd, slave_path: &str) -> Result<()> {
    let fds = [master.as_fd().as_raw_fd()];
    let iov = [std::io::IoSlice::new(slave_path.as_bytes())];
    nix::sys::socket::sendmsg::<()>(
        sock.as_raw_fd(),
        &iov,
        &[nix::sys::socket::ControlMessage::ScmRights(&fds)],
        nix::sys::socket::MsgFlags::empty(),
        None,
    )
    .ctx(|| "sending the pty to the console socket".into())?;
    Ok(())
}
