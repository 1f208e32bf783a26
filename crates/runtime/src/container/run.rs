//! `run`: create, start, stay attached until the program exits, then delete.
//!
//! The runtime stays the container's parent: it forwards signals to the init, relays the
//! terminal when it holds the pty master, and returns the program's exit code.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::{CreateOptions, Runtime, create, delete, exit_code_of, start};
use crate::error::{Error, Result, SysContext};
use crate::spec::Bundle;

/// Signals relayed to the container (everything a user or supervisor might send).
pub fn forwarded() -> SigSet {
    let mut s = SigSet::empty();
    for sig in Signal::iterator() {
        if !matches!(
            sig,
            Signal::SIGKILL
                | Signal::SIGSTOP
                | Signal::SIGSEGV
                | Signal::SIGBUS
                | Signal::SIGILL
                | Signal::SIGFPE
                | Signal::SIGTTIN
                | Signal::SIGTTOU
                | Signal::SIGTSTP
        ) {
            s.add(sig);
        }
    }
    s
}

/// Runs container `id` in the foreground and returns its exit code; `detach` returns
/// right after start (the container then belongs to the caller's subreaper).
pub fn run(
    rt: &Runtime,
    id: &str,
    bundle: Bundle,
    opts: &CreateOptions,
    detach: bool,
) -> Result<i32> {
    let terminal = bundle
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    let mut o = opts.clone();
    o.pty_to_runtime = terminal && opts.console_socket.is_none() && !detach;
    // Become the subreaper so a pid namespace's init, cloned by our short-lived helper,
    // stays ours to wait for even if the helper's parentage changes.
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let (with_chld, old) = block_relayed_signals()?;
    let result = run_blocked(rt, id, bundle, &o, detach, with_chld);
    let _ = old.thread_set_mask();
    result
}

/// Blocks the relayed signals and SIGCHLD (for [`supervise`]'s signalfd) before a
/// container exists, so none is lost in between; returns the blocked set and the mask to
/// restore. The container's init unblocks them for itself.
pub fn block_relayed_signals() -> Result<(SigSet, SigSet)> {
    let mut with_chld = forwarded();
    with_chld.add(Signal::SIGCHLD);
    let old = with_chld
        .thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK)
        .ctx(|| "blocking signals".into())?;
    Ok((with_chld, old))
}

/// Runs `process` in container `id` and waits for it, relaying signals and the terminal.
pub fn exec_foreground(
    rt: &Runtime,
    id: &str,
    process: &oci_spec::runtime::Process,
    opts: &super::ExecOptions,
) -> Result<i32> {
    exec_foreground_with(rt, id, process, opts, &mut |b| (b.to_vec(), false)).map(Supervised::code)
}

/// [`exec_foreground`] with the user's terminal input passed through `filter`, which
/// may end the session with the process still running ([`Supervised::Detached`]).
pub fn exec_foreground_with(
    rt: &Runtime,
    id: &str,
    process: &oci_spec::runtime::Process,
    opts: &super::ExecOptions,
    filter: InputFilter<'_>,
) -> Result<Supervised> {
    let (with_chld, old) = block_relayed_signals()?;
    let result = super::exec(rt, id, process, opts)
        .and_then(|e| supervise_with(e.pid, e.pty, with_chld, filter));
    let _ = old.thread_set_mask();
    result
}

/// Decides what of the user's terminal input reaches the process: the bytes to pass
/// on, and whether the user asked to detach (berth's detach keys).
pub type InputFilter<'a> = &'a mut dyn FnMut(&[u8]) -> (Vec<u8>, bool);

/// How a supervised session ended.
#[derive(Debug)]
pub enum Supervised {
    /// The process exited with this code.
    Exited(i32),
    /// The input filter detached: the process runs on. The terminal's master comes
    /// back to the caller, who must keep it open, or the kernel hangs up the terminal
    /// and the process gets SIGHUP.
    Detached(Option<OwnedFd>),
}

impl Supervised {
    /// The exit code; 0 for a detached session, as `docker exec` exits after detaching.
    pub fn code(self) -> i32 {
        match self {
            Supervised::Exited(c) => c,
            Supervised::Detached(_) => 0,
        }
    }
}

fn run_blocked(
    rt: &Runtime,
    id: &str,
    bundle: Bundle,
    o: &CreateOptions,
    detach: bool,
    sigs: SigSet,
) -> Result<i32> {
    let created = create(rt, id, bundle, o)?;
    let pid = created.container.saved.pid;
    if let Err(e) = start(rt, id) {
        let _ = delete(rt, id, true);
        return Err(e);
    }
    if detach {
        return Ok(0);
    }
    let code = supervise(pid, created.pty, sigs);
    let del = delete(rt, id, true);
    let code = code?;
    del?;
    Ok(code)
}

/// Waits for `pid`, relaying signals and (if held) the terminal.
pub fn supervise(pid: i32, pty: Option<OwnedFd>, sigs: SigSet) -> Result<i32> {
    supervise_with(pid, pty, sigs, &mut |b| (b.to_vec(), false)).map(Supervised::code)
}

/// [`supervise`] with the terminal input passed through `filter`.
pub fn supervise_with(
    pid: i32,
    mut pty: Option<OwnedFd>,
    sigs: SigSet,
    filter: InputFilter<'_>,
) -> Result<Supervised> {
    let sfd = SignalFd::with_flags(&sigs, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .ctx(|| "creating a signalfd".into())?;
    let stdin = std::io::stdin();
    let stdin_fd = stdin.as_fd();
    let raw = match &pty {
        Some(_) if termios::tcgetattr(stdin_fd).is_ok() => Some(RawMode::enter(stdin_fd)?),
        _ => None,
    };
    if let Some(p) = &pty {
        copy_winsize(stdin_fd, p.as_fd());
    }
    let mut stdin_open = pty.is_some();
    let result = loop {
        // Reap first: the init may have exited before we started listening.
        match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(ws) => {
                if let Some(code) = exit_code_of(ws) {
                    if let Some(p) = &pty {
                        drain(p.as_fd());
                    }
                    break Ok(Supervised::Exited(code));
                }
            }
            Err(nix::Error::EINTR) => {}
            Err(e) => break Err(Error::sys(format!("waiting for pid {pid}"), e)),
        }
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        if let Some(p) = &pty {
            fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
            if stdin_open {
                fds.push(PollFd::new(stdin_fd, PollFlags::POLLIN));
            }
        }
        match poll(&mut fds, PollTimeout::from(1000u16)) {
            Ok(_) | Err(nix::Error::EINTR) => {}
            Err(e) => break Err(Error::sys("poll", e)),
        }
        let ready = |i: usize| {
            fds.get(i)
                .and_then(|f| f.revents())
                .is_some_and(|r| !r.is_empty())
        };
        let (sig_ready, pty_ready, in_ready) = (ready(0), ready(1), ready(2));
        drop(fds);
        if sig_ready {
            while let Ok(Some(info)) = sfd.read_signal() {
                let signo = i32::try_from(info.ssi_signo).unwrap_or(0);
                if signo == libc::SIGCHLD {
                    continue;
                }
                if signo == libc::SIGWINCH
                    && let Some(p) = &pty
                {
                    copy_winsize(stdin_fd, p.as_fd());
                    continue;
                }
                // SAFETY: relaying a signal number the kernel delivered to us.
                unsafe { libc::kill(pid, signo) };
            }
        }
        if let Some(p) = &pty {
            if pty_ready && !copy_once(p.as_fd(), std::io::stdout().as_fd()) {
                // EIO: the last holder of the slave closed it; the exit follows.
            }
            if in_ready {
                let mut buf = [0u8; 8192];
                match nix::unistd::read(stdin_fd, &mut buf) {
                    Ok(0) | Err(_) => stdin_open = false,
                    Ok(n) => {
                        let (pass, detach) = filter(&buf[..n]);
                        if !write_all(p.as_fd(), &pass) {
                            stdin_open = false;
                        }
                        if detach {
                            break Ok(Supervised::Detached(pty.take()));
                        }
                    }
                }
            }
        }
    };
    drop(raw);
    result
}

fn copy_once(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> bool {
    let mut buf = [0u8; 8192];
    match nix::unistd::read(from, &mut buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => write_all(to, &buf[..n]),
    }
}

fn write_all(to: BorrowedFd<'_>, data: &[u8]) -> bool {
    let mut off = 0;
    while off < data.len() {
        match nix::unistd::write(to, &data[off..]) {
            Ok(w) => off += w,
            Err(nix::Error::EINTR | nix::Error::EAGAIN) => {}
            Err(_) => return false,
        }
    }
    true
}

fn drain(from: BorrowedFd<'_>) {
    let _ = nix::fcntl::fcntl(
        from,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    while copy_once(from, std::io::stdout().as_fd()) {}
}

fn copy_winsize(from: BorrowedFd<'_>, to: BorrowedFd<'_>) {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ/TIOCSWINSZ with a winsize struct we own.
    unsafe {
        if libc::ioctl(from.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(to.as_raw_fd(), libc::TIOCSWINSZ, &ws);
        }
    }
}

/// The user's terminal in raw mode; restored on drop, on every exit path.
struct RawMode<'a> {
    fd: BorrowedFd<'a>,
    saved: Termios,
}

impl<'a> RawMode<'a> {
    fn enter(fd: BorrowedFd<'a>) -> Result<RawMode<'a>> {
        let saved = termios::tcgetattr(fd).ctx(|| "reading terminal settings".into())?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(fd, SetArg::TCSANOW, &raw).ctx(|| "setting raw mode".into())?;
        Ok(RawMode { fd, saved })
    }
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.fd, SetArg::TCSANOW, &self.saved);
    }
}
