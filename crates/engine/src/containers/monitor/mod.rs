//! The monitor of a detached container: `berth __monitor ID DATA RUN`, a small
//! single-threaded process (poll loop, no async runtime) started with `setsid`.
//!
//! It is the runtime's parent: it starts the container (holding the pty master or the
//! output pipes), writes the output to the json-file log, serves the attach socket,
//! records the exit in the store, applies the restart policy and `--rm`. It tells the
//! CLI that the container runs (or why it could not start) through a pipe on fd 3.

mod memory;
mod relay;
mod spawn;

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::Stored;
use super::health::probe::Prober;
use super::logs::{self, LogOptions};
use crate::{Engine, Error, Paths, Result};

/// The fd on which the monitor reports the start to the CLI.
pub(crate) const SYNC_FD: RawFd = 3;

/// Entry point of `berth __monitor ID DATA RUN [--attach]`; returns the process exit
/// code. With `wait_attach`, the first attach client is accepted before the container
/// starts.
pub fn main(id: &str, paths: Paths, wait_attach: bool) -> i32 {
    // SAFETY: fd 3 was set up by `start_detached` for us alone.
    let sync = (nix::fcntl::fcntl(
        unsafe { BorrowedFd::borrow_raw(SYNC_FD) },
        nix::fcntl::FcntlArg::F_GETFD,
    )
    .is_ok())
    .then(|| unsafe { OwnedFd::from_raw_fd(SYNC_FD) });
    let _ = nix::fcntl::fcntl(
        unsafe { BorrowedFd::borrow_raw(SYNC_FD) },
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    let report = |sync: &mut Option<OwnedFd>, text: &str| {
        if let Some(fd) = sync.take() {
            let _ = std::fs::File::from(fd).write_all(text.as_bytes());
        }
    };
    let mut sync = sync;
    let engine = match Engine::open(paths) {
        Ok(e) => e,
        Err(e) => {
            report(&mut sync, &format!("err 125\n{e}\n"));
            return 125;
        }
    };
    match Monitor::new(&engine, id) {
        Ok(mut m) => {
            if wait_attach {
                m.accept_first(sync.as_ref());
            }
            m.run(&mut sync, report)
        }
        Err(e) => {
            report(&mut sync, &format!("err {}\n{e}\n", e.exit_status()));
            125
        }
    }
}

/// The container's output and input, as the monitor holds them.
pub(super) enum Io {
    Pty(OwnedFd),
    Pipes {
        out: OwnedFd,
        err: OwnedFd,
        stdin: Option<OwnedFd>,
    },
}

pub(super) struct Client {
    stream: UnixStream,
    inbuf: Vec<u8>,
    /// Its peer went away. Clients are only removed at the end of a poll round, so the
    /// readiness flags of that round still line up with `clients` by index.
    dead: bool,
}

pub(super) struct Monitor<'a> {
    engine: &'a Engine,
    id: String,
    stored: Stored,
    sfd: SignalFd,
    listener: UnixListener,
    clients: Vec<Client>,
    log: Option<logs::Writer>,
    /// The health checks of the current run, if the container has any.
    health: Option<Prober>,
    /// Give back memory (see [`memory::shed`]) just before the next wait in `poll`.
    shed_due: bool,
}

fn sys(what: &str) -> impl FnOnce(nix::Error) -> Error + '_ {
    move |e| Error::Sys {
        what: what.into(),
        source: e,
    }
}

fn set_nonblock(fd: BorrowedFd<'_>) {
    let _ = nix::fcntl::fcntl(
        fd,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
}

impl<'a> Monitor<'a> {
    fn new(engine: &'a Engine, id: &str) -> Result<Monitor<'a>> {
        let (rec, stored) = engine.container(id)?;
        let mut sigs = SigSet::empty();
        for s in [
            Signal::SIGCHLD,
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGHUP,
            Signal::SIGPIPE,
        ] {
            sigs.add(s);
        }
        sigs.thread_block().map_err(sys("blocking signals"))?;
        let sfd = SignalFd::with_flags(&sigs, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .map_err(sys("creating a signalfd"))?;
        let sock = engine.attach_socket(&rec.id);
        if let Some(parent) = sock.parent() {
            fs_err::create_dir_all(parent).map_err(|e| Error::Io {
                path: parent.to_owned(),
                source: e,
            })?;
        }
        let _ = fs_err::remove_file(&sock);
        let listener = UnixListener::bind(&sock).map_err(|e| Error::Io {
            path: sock.clone(),
            source: e,
        })?;
        listener.set_nonblocking(true).map_err(|e| Error::Io {
            path: sock.clone(),
            source: e,
        })?;
        let log = if stored.opts.log_driver.as_deref() == Some("none") {
            None
        } else {
            let dir = engine.store().container_dir(&rec.id)?;
            Some(logs::Writer::open(
                logs::log_path(&dir, &rec.id),
                LogOptions::parse(&stored.opts.log_opts)?,
            )?)
        };
        Ok(Monitor {
            engine,
            id: rec.id,
            stored,
            sfd,
            listener,
            clients: Vec::new(),
            log,
            health: None,
            shed_due: false,
        })
    }

    /// Says "listening" on the sync pipe and waits (10 s at most) for the first client.
    fn accept_first(&mut self, sync: Option<&OwnedFd>) {
        if let Some(fd) = sync {
            let _ = nix::unistd::write(fd.as_fd(), b"listening\n");
        }
        let mut fds = [PollFd::new(self.listener.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(10_000u16)).unwrap_or(0) > 0
            && let Ok((s, _)) = self.listener.accept()
        {
            let _ = s.set_nonblocking(true);
            self.clients.push(Client {
                stream: s,
                inbuf: Vec::new(),
                dead: false,
            });
        }
    }

    /// Starts the container with its stdio wired to the monitor.
    fn launch(&mut self) -> Result<(i32, Io)> {
        if self.stored.opts.tty {
            let l = self.engine.launch(&self.id, true)?;
            let pty = l
                .pty
                .ok_or_else(|| Error::Monitor("the runtime returned no pty".into()))?;
            set_nonblock(pty.as_fd());
            return Ok((l.pid, Io::Pty(pty)));
        }
        let flags = nix::fcntl::OFlag::O_CLOEXEC;
        let (out_r, out_w) = nix::unistd::pipe2(flags).map_err(sys("creating a pipe"))?;
        let (err_r, err_w) = nix::unistd::pipe2(flags).map_err(sys("creating a pipe"))?;
        let (in_r, in_w) = if self.stored.opts.interactive {
            let (r, w) = nix::unistd::pipe2(flags).map_err(sys("creating a pipe"))?;
            (Some(r), Some(w))
        } else {
            (None, None)
        };
        let null = fs_err::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(|e| Error::Io {
                path: "/dev/null".into(),
                source: e,
            })?;
        let stdin_src = in_r.as_ref().map_or(null.as_raw_fd(), AsRawFd::as_raw_fd);
        // The container inherits the monitor's 0/1/2 when the runtime forks it.
        unsafe {
            libc::dup2(stdin_src, 0);
            libc::dup2(out_w.as_raw_fd(), 1);
            libc::dup2(err_w.as_raw_fd(), 2);
        }
        let launched = self.engine.launch(&self.id, false);
        unsafe {
            for fd in 0..3 {
                libc::dup2(null.as_raw_fd(), fd);
            }
        }
        drop((out_w, err_w, in_r));
        let l = launched?;
        set_nonblock(out_r.as_fd());
        set_nonblock(err_r.as_fd());
        Ok((
            l.pid,
            Io::Pipes {
                out: out_r,
                err: err_r,
                stdin: in_w,
            },
        ))
    }

    fn run(
        &mut self,
        sync: &mut Option<OwnedFd>,
        report: impl Fn(&mut Option<OwnedFd>, &str),
    ) -> i32 {
        let mut backoff = Duration::from_millis(100);
        loop {
            let (pid, mut io) = match self.launch() {
                Ok(x) => x,
                Err(e) => {
                    report(sync, &format!("err {}\n{e}\n", e.exit_status()));
                    self.close();
                    if self.stored.opts.auto_remove {
                        let _ = self.engine.remove_container(&self.id, true, true);
                    }
                    return 1;
                }
            };
            report(sync, "ok\n");
            self.health = Prober::start(self.engine, &self.id, &self.stored);
            self.shed_due = true;
            let code = self.serve(pid, &mut io);
            if let Some(mut h) = self.health.take() {
                // The check's exit may still be waiting behind the init's.
                while let Ok(ws) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                    if ws == WaitStatus::StillAlive {
                        break;
                    }
                    h.reaped(ws);
                }
                h.stop(self.engine);
            }
            drop(io);
            if let Some(l) = &mut self.log {
                let _ = l.flush_partial();
            }
            let state = match self.engine.finish(&self.id, code) {
                Ok(s) => s,
                Err(_) => break,
            };
            self.send_all(3, code.to_string().as_bytes());
            let by_user = state
                .extra
                .get("stopped_by_user")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false);
            // Read now, not at start: `berth update --restart` may have changed it.
            let policy = self.engine.container(&self.id).map_or_else(
                |_| self.stored.restart_policy(),
                |(_, s)| s.restart_policy(),
            );
            if !policy.should_restart(code, state.restart_count, by_user) {
                break;
            }
            if self
                .engine
                .store()
                .update_container_state(&self.id, |s| {
                    s.restart_count += 1;
                    s.status = berth_store::ContainerStatus::Restarting;
                    Ok(())
                })
                .is_err()
            {
                break;
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
        self.close();
        if self.stored.opts.auto_remove {
            let _ = self.engine.remove_container(&self.id, true, true);
        }
        0
    }

    fn close(&mut self) {
        self.clients.clear();
        let _ = fs_err::remove_file(self.engine.attach_socket(&self.id));
    }

    /// Relays I/O until the container's init exits; returns its exit code.
    fn serve(&mut self, pid: i32, io: &mut Io) -> i32 {
        loop {
            // Reap: the container's init, and orphans re-parented to us (subreaper).
            loop {
                match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::StillAlive) | Err(_) => break,
                    Ok(ws) => {
                        if self.health.as_mut().is_some_and(|h| h.reaped(ws)) {
                            continue;
                        }
                        if ws.pid() == Some(Pid::from_raw(pid))
                            && let Some(code) = berth_runtime::exit_code_of(ws)
                        {
                            self.drain(io);
                            return code;
                        }
                    }
                }
            }
            let io_ref: &Io = io;
            let outs: Vec<BorrowedFd<'_>> = match io_ref {
                Io::Pty(p) => vec![p.as_fd()],
                Io::Pipes { out, err, .. } => vec![out.as_fd(), err.as_fd()],
            };
            let mut fds = vec![
                PollFd::new(self.sfd.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.listener.as_fd(), PollFlags::POLLIN),
            ];
            for o in &outs {
                fds.push(PollFd::new(*o, PollFlags::POLLIN));
            }
            let nouts = outs.len();
            let probe_fd = self.health.as_ref().and_then(Prober::fd);
            if let Some(fd) = probe_fd {
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
            }
            let first_client = fds.len();
            for c in &self.clients {
                fds.push(PollFd::new(c.stream.as_fd(), PollFlags::POLLIN));
            }
            // SIGCHLD comes through the signalfd (it stays pending, so readable, until
            // read), so an idle monitor sleeps until something happens: waking up
            // every second would fault its code pages back in after each shed.
            let wait = self
                .health
                .as_ref()
                .map_or(PollTimeout::NONE, |h| PollTimeout::from(h.wait_ms(1000)));
            // Last thing before sleeping: whatever code runs after the shed faults its
            // pages (and the kernel maps 64 KiB or a whole folio around each) back in.
            if std::mem::take(&mut self.shed_due) {
                memory::shed(self.engine);
            }
            let _ = poll(&mut fds, wait);
            let ready: Vec<bool> = fds
                .iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            drop(fds);
            drop(outs);
            if ready[0] {
                while let Ok(Some(info)) = self.sfd.read_signal() {
                    let signo = i32::try_from(info.ssi_signo).unwrap_or(0);
                    if matches!(signo, libc::SIGTERM | libc::SIGINT | libc::SIGHUP) {
                        // SAFETY: signalling the container's init.
                        unsafe { libc::kill(pid, signo) };
                    }
                }
            }
            if ready[1] {
                while let Ok((s, _)) = self.listener.accept() {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
                    let _ = s.set_nonblocking(true);
                    self.clients.push(Client {
                        stream: s,
                        inbuf: Vec::new(),
                        dead: false,
                    });
                }
            }
            for i in 0..nouts {
                if ready[2 + i] {
                    self.pump(io, i);
                }
            }
            for (k, r) in ready[first_client..].iter().enumerate() {
                if *r
                    && !self.client_input(k, io)
                    && let Some(c) = self.clients.get_mut(k)
                {
                    c.dead = true;
                }
            }
            self.clients.retain(|c| !c.dead);
            if let Some(h) = &mut self.health {
                if first_client > 2 + nouts && ready[2 + nouts] {
                    h.read_output();
                }
                // A check ran berth's exec path: give back the pages it touched.
                if h.tick(self.engine) {
                    self.shed_due = true;
                }
            }
        }
    }
}
