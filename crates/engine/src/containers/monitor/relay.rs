//! The monitor's relay: the container's output to the log and the attach clients, the
//! clients' input (stdin, end of stdin, window size) to the container.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

use super::{Io, Monitor};
use crate::containers::attach;

impl Monitor<'_> {
    /// Reads one chunk of output `i` (0 stdout/pty, 1 stderr); false at EOF.
    pub(super) fn pump(&mut self, io: &Io, i: usize) -> bool {
        let fd = match (io, i) {
            (Io::Pty(p), _) => p.as_fd(),
            (Io::Pipes { out, .. }, 0) => out.as_fd(),
            (Io::Pipes { err, .. }, _) => err.as_fd(),
        };
        let mut buf = [0u8; 16384];
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                let data = &buf[..n];
                if let Some(l) = &mut self.log {
                    let _ = l.write(i, data);
                }
                self.send_all(if i == 0 { 1 } else { 2 }, data);
                true
            }
        }
    }

    pub(super) fn drain(&mut self, io: &Io) {
        let n = match io {
            Io::Pty(_) => 1,
            Io::Pipes { .. } => 2,
        };
        for i in 0..n {
            while self.pump(io, i) {}
        }
    }

    pub(super) fn send_all(&mut self, kind: u8, data: &[u8]) {
        let frame = attach::frame(kind, data);
        for c in self.clients.iter_mut().filter(|c| !c.dead) {
            let _ = c.stream.set_nonblocking(false);
            c.dead = c.stream.write_all(&frame).is_err();
            let _ = c.stream.set_nonblocking(true);
        }
    }

    /// Handles input from client `k`; false when it went away.
    pub(super) fn client_input(&mut self, k: usize, io: &mut Io) -> bool {
        let Some(c) = self.clients.get_mut(k).filter(|c| !c.dead) else {
            return false;
        };
        let mut buf = [0u8; 8192];
        match c.stream.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => c.inbuf.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        }
        while let Some((kind, payload, used)) = attach::parse_frame(&c.inbuf) {
            let payload = payload.to_vec();
            c.inbuf.drain(..used);
            match (kind, &mut *io) {
                (attach::STDIN, Io::Pty(p)) => write_fully(p.as_fd(), &payload),
                (attach::STDIN, Io::Pipes { stdin: Some(s), .. }) => {
                    write_fully(s.as_fd(), &payload)
                }
                (attach::EOF, Io::Pipes { stdin, .. }) => *stdin = None,
                (attach::RESIZE, Io::Pty(p)) if payload.len() == 4 => {
                    let ws = libc::winsize {
                        ws_row: u16::from_be_bytes([payload[0], payload[1]]),
                        ws_col: u16::from_be_bytes([payload[2], payload[3]]),
                        ws_xpixel: 0,
                        ws_ypixel: 0,
                    };
                    // SAFETY: TIOCSWINSZ on our pty master with a valid winsize.
                    unsafe { libc::ioctl(p.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
                }
                _ => {}
            }
        }
        true
    }
}

fn write_fully(fd: BorrowedFd<'_>, mut data: &[u8]) {
    let mut tries = 0;
    while !data.is_empty() && tries < 1000 {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(nix::Error::EAGAIN | nix::Error::EINTR) => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(_) => return,
        }
    }
}
