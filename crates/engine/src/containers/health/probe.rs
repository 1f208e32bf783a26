//! The checks a container's monitor runs, as Docker's daemon runs them: the first one
//! `interval` after the start (`start_interval` while in the start period and not yet
//! healthy), each next one `interval` after the previous ended; each is an exec into
//! the container (the engine's own exec path) whose stdout and stderr go to a pipe,
//! killed after `timeout`. The monitor is single-threaded, so the prober never blocks:
//! the monitor polls the prober's pipe, hands it the exit of its process (the monitor
//! reaps every child) and calls [`Prober::tick`] when [`Prober::wait_ms`] says so.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Instant, SystemTime};

use nix::sys::wait::WaitStatus;

use super::{CheckResult, Effective, Health, MAX_LOG_ENTRIES, MAX_OUTPUT, go_duration, status};
use crate::containers::exec::ExecRequest;
use crate::containers::inspect::rfc3339;
use crate::{Engine, Error};

/// The health checking of one run of a container.
pub(crate) struct Prober {
    id: String,
    check: Effective,
    /// When the container started (the start period counts from here).
    started: Instant,
    /// When the next check is due (while none runs).
    next: Instant,
    running: Option<Running>,
    health: Health,
}

/// A check in progress.
struct Running {
    pid: i32,
    out: OwnedFd,
    eof: bool,
    output: Vec<u8>,
    truncated: bool,
    start: SystemTime,
    started: Instant,
    deadline: Instant,
    timed_out: bool,
    exit: Option<i32>,
}

fn ns(t: SystemTime) -> Option<i64> {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
}

impl Prober {
    /// Starts checking container `id`, which has just started: its health becomes
    /// `starting` with no failures (the log of earlier runs is kept, as Docker keeps it).
    /// `None` when it has no check.
    pub(crate) fn start(
        engine: &Engine,
        id: &str,
        stored: &crate::containers::Stored,
    ) -> Option<Prober> {
        let check = super::effective(stored)?;
        let mut health = engine
            .store()
            .get_container(id)
            .ok()
            .and_then(|r| Health::of(&r.state))
            .unwrap_or_default();
        health.status = status::STARTING.into();
        health.failing_streak = 0;
        let now = Instant::now();
        let mut p = Prober {
            id: id.to_owned(),
            check,
            started: now,
            next: now,
            running: None,
            health,
        };
        p.save(engine);
        p.next = now + p.interval();
        Some(p)
    }

    /// Docker's choice of the next wait: the start interval while in the start period
    /// and not yet healthy, else the interval.
    fn interval(&self) -> std::time::Duration {
        if self.started.elapsed() < self.check.start_period
            && self.health.status == status::STARTING
        {
            self.check.start_interval
        } else {
            self.check.interval
        }
    }

    /// How long (ms, at most `cap`) the monitor may sleep before the prober needs a
    /// [`Prober::tick`].
    pub(crate) fn wait_ms(&self, cap: u16) -> u16 {
        let until = match &self.running {
            None => self.next,
            Some(r) if r.exit.is_none() && !r.timed_out => r.deadline,
            // Ended or killed: a tick records it as soon as the exit is in.
            Some(r) if r.exit.is_some() => return 0,
            Some(_) => return cap,
        };
        let left = until.saturating_duration_since(Instant::now());
        // Round up, so the tick does not come a little early and find nothing due.
        let ms = left.as_nanos().div_ceil(1_000_000);
        u16::try_from(ms).map_or(cap, |ms| ms.min(cap))
    }

    /// The running check's output pipe, for the monitor's poll set.
    pub(crate) fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.running
            .as_ref()
            .filter(|r| !r.eof)
            .map(|r| r.out.as_fd())
    }

    /// Reads what the check wrote; the monitor calls it when the pipe is readable.
    pub(crate) fn read_output(&mut self) {
        let Some(r) = &mut self.running else {
            return;
        };
        let mut buf = [0u8; 4096];
        while !r.eof {
            match nix::unistd::read(r.out.as_fd(), &mut buf) {
                Ok(0) => r.eof = true,
                Ok(n) => {
                    // Docker's limited buffer: keep the first MAX_OUTPUT bytes.
                    let keep = MAX_OUTPUT.saturating_sub(r.output.len()).min(n);
                    r.output.extend_from_slice(&buf[..keep]);
                    r.truncated |= keep < n;
                }
                Err(nix::Error::EINTR) => {}
                Err(_) => break,
            }
        }
    }

    /// Takes the exit of a reaped child if it was the running check; true if so.
    pub(crate) fn reaped(&mut self, ws: WaitStatus) -> bool {
        match &mut self.running {
            Some(r) if ws.pid().is_some_and(|p| p.as_raw() == r.pid) => {
                if let Some(code) = berth_runtime::exit_code_of(ws) {
                    r.exit = Some(code);
                }
                true
            }
            _ => false,
        }
    }

    /// Records a check that ended, kills one past its timeout, starts one that is due.
    pub(crate) fn tick(&mut self, engine: &Engine) {
        let now = Instant::now();
        if self.running.as_ref().is_some_and(|r| r.exit.is_some()) {
            self.finish(engine);
        } else if let Some(r) = &mut self.running {
            if !r.timed_out && now >= r.deadline {
                r.timed_out = true;
                // SAFETY: signalling our own child, not yet reaped (so the pid is still
                // ours).
                unsafe { libc::kill(r.pid, libc::SIGKILL) };
            }
        } else if now >= self.next {
            self.launch(engine);
        }
    }

    /// The container stopped: kills and reaps a check still running.
    pub(crate) fn stop(mut self) {
        if let Some(r) = self.running.take()
            && r.exit.is_none()
        {
            // SAFETY: our own child, not yet reaped.
            unsafe { libc::kill(r.pid, libc::SIGKILL) };
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(r.pid), None);
        }
    }

    fn launch(&mut self, engine: &Engine) {
        let start = SystemTime::now();
        let started = Instant::now();
        let req = ExecRequest {
            cmd: self.check.argv.clone(),
            ..ExecRequest::default()
        };
        let (rec, process) = match engine.exec_process(&self.id, &req) {
            Ok(x) => x,
            // Paused (or going away): no check now, as Docker stops checking then.
            Err(Error::ContainerState { .. }) => {
                self.next = Instant::now() + self.interval();
                return;
            }
            Err(e) => return self.record(engine, start, started, -1, e.to_string()),
        };
        let pipe = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
            Ok(p) => p,
            Err(e) => return self.record(engine, start, started, -1, e.to_string()),
        };
        let (r, w) = pipe;
        let _ = nix::fcntl::fcntl(
            r.as_fd(),
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        );
        // The exec'd process inherits the monitor's stdout and stderr: point them at the
        // pipe for the moment of the exec, then back.
        // SAFETY: plain descriptor juggling in a single-threaded process; the saved
        // copies are closed below.
        let saved = unsafe { [libc::dup(1), libc::dup(2)] };
        unsafe {
            libc::dup2(w.as_raw_fd(), 1);
            libc::dup2(w.as_raw_fd(), 2);
        }
        let res = berth_runtime::exec(
            &engine.runtime(),
            &rec.id,
            &process,
            &berth_runtime::ExecOptions::default(),
        );
        unsafe {
            for (fd, copy) in [(1, saved[0]), (2, saved[1])] {
                if copy >= 0 {
                    libc::dup2(copy, fd);
                    libc::close(copy);
                }
            }
        }
        drop(w);
        match res {
            Ok(execd) => {
                self.running = Some(Running {
                    pid: execd.pid,
                    out: r,
                    eof: false,
                    output: Vec::new(),
                    truncated: false,
                    start,
                    started,
                    deadline: started + self.check.timeout,
                    timed_out: false,
                    exit: None,
                });
            }
            Err(berth_runtime::Error::Exec { message, status }) => {
                self.record(engine, start, started, i64::from(status), message);
            }
            Err(e) => self.record(engine, start, started, -1, e.to_string()),
        }
    }

    fn finish(&mut self, engine: &Engine) {
        self.read_output();
        let Some(r) = self.running.take() else {
            return;
        };
        let (code, output) = if r.timed_out {
            (
                -1,
                format!(
                    "Health check exceeded timeout ({})",
                    go_duration(self.check.timeout)
                ),
            )
        } else {
            let mut out = String::from_utf8_lossy(&r.output).into_owned();
            if r.truncated {
                out.push_str("...");
            }
            (i64::from(r.exit.unwrap_or(-1)), out)
        };
        self.record(engine, r.start, r.started, code, output);
    }

    /// Docker's rule: a pass makes it healthy and clears the streak; a failure counts
    /// (outside the start period while still starting), and `retries` of them in a row
    /// make it unhealthy.
    fn record(
        &mut self,
        engine: &Engine,
        start: SystemTime,
        started: Instant,
        code: i64,
        output: String,
    ) {
        let old = self.health.status.clone();
        self.health.log.push(CheckResult {
            start: rfc3339(ns(start)),
            end: rfc3339(ns(SystemTime::now())),
            exit_code: code,
            output,
        });
        let excess = self.health.log.len().saturating_sub(MAX_LOG_ENTRIES);
        self.health.log.drain(..excess);
        if code == 0 {
            self.health.failing_streak = 0;
            self.health.status = status::HEALTHY.into();
        } else {
            let grace = self.health.status == status::STARTING
                && started.duration_since(self.started) < self.check.start_period;
            if !grace {
                self.health.failing_streak += 1;
                if self.health.failing_streak >= self.check.retries {
                    self.health.status = status::UNHEALTHY.into();
                }
            }
        }
        self.save(engine);
        if self.health.status != old {
            engine.record_event(&self.id, &format!("health_status: {}", self.health.status));
        }
        self.next = Instant::now() + self.interval();
    }

    fn save(&self, engine: &Engine) {
        let _ = engine.store().update_container_state(&self.id, |s| {
            self.health.store_in(s);
            Ok(())
        });
    }
}
