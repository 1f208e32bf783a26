//! Attaching to a detached container through its monitor's unix socket.
//!
//! Frames both ways are `[kind u8][len u32 BE][payload]`: the monitor sends
//! [`STDOUT`], [`STDERR`] and [`EXIT`] (the exit code as text); the client sends
//! [`STDIN`], [`RESIZE`] (rows, cols as u16 BE) and [`EOF`]. The detach keys are
//! recognised by the client, which then just disconnects.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};

use crate::{Engine, Error, Result};

/// Client → monitor: input bytes.
pub const STDIN: u8 = 0;
/// Monitor → client: stdout (or the terminal) bytes.
pub const STDOUT: u8 = 1;
/// Monitor → client: stderr bytes.
pub const STDERR: u8 = 2;
/// Monitor → client: the container exited with this code.
pub const EXIT: u8 = 3;
/// Client → monitor: terminal size.
pub const RESIZE: u8 = 4;
/// Client → monitor: end of input.
pub const EOF: u8 = 5;

/// Encodes a frame.
pub fn frame(kind: u8, data: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(data.len() + 5);
    f.push(kind);
    f.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    f.extend_from_slice(data);
    f
}

/// Decodes the first complete frame: kind, payload, bytes used.
pub fn parse_frame(buf: &[u8]) -> Option<(u8, &[u8], usize)> {
    let len = u32::from_be_bytes(buf.get(1..5)?.try_into().ok()?) as usize;
    let payload = buf.get(5..5 + len)?;
    Some((buf[0], payload, 5 + len))
}

/// Parses Docker's `--detach-keys` (`ctrl-p,ctrl-q`, `a`, `ctrl-@`).
pub fn parse_detach_keys(s: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for k in s.split(',') {
        let b = match k.strip_prefix("ctrl-") {
            Some(c) if c.len() == 1 => {
                let c = c.as_bytes()[0].to_ascii_uppercase();
                if !(b'@'..=b'_').contains(&c) {
                    return Err(bad_keys(s));
                }
                c & 0x1f
            }
            None if k.len() == 1 => k.as_bytes()[0],
            _ => return Err(bad_keys(s)),
        };
        out.push(b);
    }
    Ok(out)
}

/// Watches typed input for the detach sequence: the one implementation behind
/// `attach`, `run -it`, `start -ai` and `exec -it`. As Docker's, the keys of a partial
/// match are held back until the next key shows whether the sequence goes on; if not,
/// they are passed on as typed.
#[derive(Debug)]
pub struct DetachMatcher<'a> {
    keys: &'a [u8],
    matched: usize,
}

impl<'a> DetachMatcher<'a> {
    /// A matcher for `keys` (empty: never detaches).
    pub fn new(keys: &'a [u8]) -> DetachMatcher<'a> {
        DetachMatcher { keys, matched: 0 }
    }

    /// Splits `input` into the bytes to pass on and whether the sequence is now
    /// complete (the input after it is dropped: the session ends there).
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut pass = Vec::with_capacity(input.len());
        for &b in input {
            if self.keys.get(self.matched) == Some(&b) {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    self.matched = 0;
                    return (pass, true);
                }
                continue;
            }
            pass.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            // The failed key may itself start the sequence.
            if self.keys.first() == Some(&b) {
                self.matched = 1;
                if self.keys.len() == 1 {
                    self.matched = 0;
                    return (pass, true);
                }
            } else {
                pass.push(b);
            }
        }
        (pass, false)
    }
}

fn bad_keys(s: &str) -> Error {
    Error::Invalid {
        flag: "--detach-keys",
        value: s.to_owned(),
        hint: "use a comma-separated list of keys: a letter or ctrl-<letter>, e.g. ctrl-p,ctrl-q"
            .into(),
    }
}

/// How an attach ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachEnd {
    /// The container exited with this code.
    Exited(i32),
    /// The user pressed the detach keys; the container runs on.
    Detached,
}

/// Options of `attach` / `start -a` / foreground `run -t`.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    /// Forward this process's stdin.
    pub stdin: bool,
    /// Detach sequence (default ctrl-p ctrl-q).
    pub detach_keys: Vec<u8>,
}

/// Docker's default detach keys: ctrl-p ctrl-q.
pub const DEFAULT_DETACH_KEYS: [u8; 2] = [0x10, 0x11];

impl Default for AttachOptions {
    fn default() -> Self {
        AttachOptions {
            stdin: true,
            detach_keys: DEFAULT_DETACH_KEYS.to_vec(),
        }
    }
}

/// The user's terminal in raw mode, restored on drop (every exit path).
struct Raw<'a> {
    fd: BorrowedFd<'a>,
    saved: Termios,
}

impl Drop for Raw<'_> {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.fd, SetArg::TCSANOW, &self.saved);
    }
}

fn winsize(fd: BorrowedFd<'_>) -> Option<[u8; 4]> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills a winsize.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    if r != 0 {
        return None;
    }
    let mut b = [0u8; 4];
    b[..2].copy_from_slice(&ws.ws_row.to_be_bytes());
    b[2..].copy_from_slice(&ws.ws_col.to_be_bytes());
    Some(b)
}

impl Engine {
    /// Attaches this process's stdio to a running container until it exits or the user
    /// detaches. With a terminal container and a terminal on stdin, the terminal is put
    /// in raw mode and its size follows.
    pub fn attach(&self, name: &str, opts: &AttachOptions) -> Result<AttachEnd> {
        self.attach_with(name, None, opts)
    }

    /// [`Engine::attach`] on an already connected socket, if given.
    pub(crate) fn attach_with(
        &self,
        name: &str,
        sock: Option<UnixStream>,
        opts: &AttachOptions,
    ) -> Result<AttachEnd> {
        let (rec, stored) = self.container(name)?;
        let path = self.attach_socket(&rec.id);
        let start = Instant::now();
        let mut sock = if let Some(s) = sock {
            s
        } else {
            loop {
                match UnixStream::connect(&path) {
                    Ok(s) => break s,
                    Err(e) if start.elapsed() < Duration::from_secs(2) => {
                        let _ = e;
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(e) => {
                        let st = self.store().get_container(&rec.id)?.state;
                        if st.status != berth_store::ContainerStatus::Running {
                            return Err(Error::ContainerState {
                                name: rec.name,
                                status: st.status.as_str().into(),
                                op: "attach to it",
                                hint: "\nhint: start it first (berth start -a)".into(),
                            });
                        }
                        return Err(Error::Io { path, source: e });
                    }
                }
            }
        };
        let stdin = std::io::stdin();
        let in_fd = stdin.as_fd();
        let is_tty = termios::tcgetattr(in_fd).is_ok();
        let _raw = if stored.opts.tty && is_tty && opts.stdin {
            let saved = termios::tcgetattr(in_fd).map_err(|e| Error::Sys {
                what: "reading terminal settings".into(),
                source: e,
            })?;
            let mut raw = saved.clone();
            termios::cfmakeraw(&mut raw);
            termios::tcsetattr(in_fd, SetArg::TCSANOW, &raw).map_err(|e| Error::Sys {
                what: "setting raw mode".into(),
                source: e,
            })?;
            Some(Raw { fd: in_fd, saved })
        } else {
            None
        };
        let mut sigs = SigSet::empty();
        sigs.add(Signal::SIGWINCH);
        let old = sigs
            .thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK)
            .ok();
        let sfd = SignalFd::with_flags(&sigs, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .map_err(|e| Error::Sys {
                what: "creating a signalfd".into(),
                source: e,
            })?;
        let send_size = |sock: &mut UnixStream| {
            if stored.opts.tty
                && let Some(ws) = winsize(in_fd)
            {
                let _ = sock.write_all(&frame(RESIZE, &ws));
            }
        };
        send_size(&mut sock);
        let result = match self.relay(&mut sock, in_fd, &sfd, opts, send_size) {
            // The monitor ended without a word to us (it finished before we were
            // served): the store knows how the container ended.
            Err(Error::Monitor(m)) => match self.wait_exit(&rec.id, Some(Duration::from_secs(5))) {
                Ok(st) if st.status != berth_store::ContainerStatus::Running => {
                    Ok(AttachEnd::Exited(st.exit_code.unwrap_or(0)))
                }
                _ => Err(Error::Monitor(m)),
            },
            r => r,
        };
        if let Some(o) = old {
            let _ = o.thread_set_mask();
        }
        result
    }

    fn relay(
        &self,
        sock: &mut UnixStream,
        in_fd: BorrowedFd<'_>,
        sfd: &SignalFd,
        opts: &AttachOptions,
        send_size: impl Fn(&mut UnixStream),
    ) -> Result<AttachEnd> {
        let mut stdin_open = opts.stdin;
        let mut keys = DetachMatcher::new(&opts.detach_keys);
        let mut inbuf: Vec<u8> = Vec::new();
        let mut out = std::io::stdout();
        let mut err = std::io::stderr();
        loop {
            let mut fds = vec![
                PollFd::new(sock.as_fd(), PollFlags::POLLIN),
                PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
            ];
            if stdin_open {
                fds.push(PollFd::new(in_fd, PollFlags::POLLIN));
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(nix::Error::EINTR) => {}
                Err(e) => {
                    return Err(Error::Sys {
                        what: "poll".into(),
                        source: e,
                    });
                }
            }
            let ready: Vec<bool> = fds
                .iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            drop(fds);
            if ready[1] {
                while let Ok(Some(_)) = sfd.read_signal() {}
                send_size(sock);
            }
            if ready.get(2).copied().unwrap_or(false) {
                let mut buf = [0u8; 4096];
                match nix::unistd::read(in_fd, &mut buf) {
                    Ok(0) | Err(_) => {
                        stdin_open = false;
                        let _ = sock.write_all(&frame(EOF, &[]));
                    }
                    Ok(n) => {
                        let (pass, detached) = keys.feed(&buf[..n]);
                        if detached {
                            let _ = sock.write_all(&frame(STDIN, &pass));
                            return Ok(AttachEnd::Detached);
                        }
                        if !pass.is_empty() && sock.write_all(&frame(STDIN, &pass)).is_err() {
                            stdin_open = false;
                        }
                    }
                }
            }
            if ready[0] {
                let mut buf = [0u8; 16384];
                let n = match sock.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => 0,
                };
                if n == 0 {
                    return Err(Error::Monitor(
                        "the container's monitor closed the attach connection".into(),
                    ));
                }
                inbuf.extend_from_slice(&buf[..n]);
                while let Some((kind, payload, used)) = parse_frame(&inbuf) {
                    match kind {
                        STDOUT => {
                            let _ = out.write_all(payload);
                            let _ = out.flush();
                        }
                        STDERR => {
                            let _ = err.write_all(payload);
                        }
                        EXIT => {
                            let code = String::from_utf8_lossy(payload).parse().unwrap_or(255);
                            return Ok(AttachEnd::Exited(code));
                        }
                        _ => {}
                    }
                    inbuf.drain(..used);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let f = frame(STDOUT, b"hi");
        assert_eq!(parse_frame(&f), Some((STDOUT, &b"hi"[..], 7)));
        assert_eq!(parse_frame(&f[..6]), None);
    }

    #[test]
    fn detach_keys_parse_like_docker() {
        assert_eq!(
            parse_detach_keys("ctrl-p,ctrl-q").unwrap(),
            vec![0x10, 0x11]
        );
        assert_eq!(parse_detach_keys("ctrl-@,a").unwrap(), vec![0, b'a']);
        assert!(parse_detach_keys("ctrl-").is_err());
        assert!(parse_detach_keys("alt-x").is_err());
    }

    #[test]
    fn detach_matcher_holds_back_partial_sequences() {
        let keys = [0x10, 0x11];
        let mut m = DetachMatcher::new(&keys);
        assert_eq!(m.feed(b"ab"), (b"ab".to_vec(), false));
        // ctrl-p alone is held back, then passed on when the next key is not ctrl-q.
        assert_eq!(m.feed(b"x\x10"), (b"x".to_vec(), false));
        assert_eq!(m.feed(b"y"), (b"\x10y".to_vec(), false));
        // Split across reads, with input before it.
        assert_eq!(m.feed(b"ls\x10"), (b"ls".to_vec(), false));
        assert_eq!(m.feed(b"\x11rest"), (Vec::new(), true));
        // ctrl-p ctrl-p ctrl-q: the first ctrl-p goes on, the rest detaches.
        let mut m = DetachMatcher::new(&keys);
        assert_eq!(m.feed(b"\x10\x10\x11"), (b"\x10".to_vec(), true));
        assert_eq!(
            DetachMatcher::new(&[]).feed(b"\x10\x11"),
            (b"\x10\x11".to_vec(), false)
        );
        assert_eq!(DetachMatcher::new(b"a").feed(b"xay"), (b"x".to_vec(), true));
    }
}
