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
    /// Checks recorded so far.
    recorded: u64,
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
    /// Ended by a signal (its timeout's kill, or the container's end taking it along).
    signaled: bool,
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
            recorded: 0,
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
                    r.signaled = matches!(ws, WaitStatus::Signaled(..));
                }
                true
            }
            _ => false,
        }
    }

    /// Records a check that ended, kills one past its timeout, starts one that is due.
    /// True when a check was recorded.
    pub(crate) fn tick(&mut self, engine: &Engine) -> bool {
        let now = Instant::now();
        if self.running.as_ref().is_some_and(|r| r.exit.is_some()) {
            self.finish(engine);
            return true;
        } else if let Some(r) = &mut self.running {
            if !r.timed_out && now >= r.deadline {
                r.timed_out = true;
                // SAFETY: signalling our own child, not yet reaped (so the pid is still
                // ours).
                unsafe { libc::kill(r.pid, libc::SIGKILL) };
            }
        } else if now >= self.next {
            // A check that could not even start is recorded at once.
            let recorded = self.recorded;
            self.launch(engine);
            return self.recorded != recorded;
        }
        false
    }

    /// The container stopped: a check that ended on its own before is recorded (its
    /// exit may have been reaped together with the container's); one still running is
    /// killed and reaped, its result dropped, as Docker cancels a probe then.
    pub(crate) fn stop(mut self, engine: &Engine) {
        if self
            .running
            .as_ref()
            .is_some_and(|r| r.exit.is_some() && (!r.signaled || r.timed_out))
        {
            self.finish(engine);
        }
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
                    signaled: false,
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

    /// Records one result in the store, applying [`apply_result`] to the status the
    /// store holds, in one transaction: `pause` may have made the container unhealthy
    /// meanwhile (as Docker does), and a result that comes in after it was paused is
    /// dropped, as Docker drops the result of a cancelled probe.
    fn record(
        &mut self,
        engine: &Engine,
        start: SystemTime,
        started: Instant,
        code: i64,
        output: String,
    ) {
        let result = CheckResult {
            start: rfc3339(ns(start)),
            end: rfc3339(ns(SystemTime::now())),
            exit_code: code,
            output,
        };
        let in_grace = started.duration_since(self.started) < self.check.start_period;
        let mut outcome = None;
        let _ = engine.store().update_container_state(&self.id, |s| {
            if s.status == berth_store::ContainerStatus::Paused {
                return Ok(());
            }
            let mut h = self.health.clone();
            if let Some(stored) = Health::of(s) {
                h.status = stored.status;
            }
            let old = h.status.clone();
            apply_result(&mut h, result, in_grace, self.check.retries);
            h.store_in(s);
            outcome = Some((old, h));
            Ok(())
        });
        if let Some((old, h)) = outcome {
            self.recorded += 1;
            if h.status != old {
                engine.record_event(&self.id, &format!("health_status: {}", h.status));
            }
            self.health = h;
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

/// Docker's rule for one result: a pass makes it healthy and clears the streak; a
/// failure counts (unless it came in the start period while still starting), and
/// `retries` of them in a row make it unhealthy. The log keeps the last
/// [`MAX_LOG_ENTRIES`].
fn apply_result(h: &mut Health, result: CheckResult, in_grace: bool, retries: u32) {
    let code = result.exit_code;
    h.log.push(result);
    let excess = h.log.len().saturating_sub(MAX_LOG_ENTRIES);
    h.log.drain(..excess);
    if code == 0 {
        h.failing_streak = 0;
        h.status = status::HEALTHY.into();
    } else if !(in_grace && h.status == status::STARTING) {
        h.failing_streak += 1;
        if h.failing_streak >= retries {
            h.status = status::UNHEALTHY.into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(code: i64) -> CheckResult {
        CheckResult {
            exit_code: code,
            ..CheckResult::default()
        }
    }

    fn starting() -> Health {
        Health {
            status: status::STARTING.into(),
            ..Health::default()
        }
    }

    #[test]
    fn failures_count_only_outside_the_start_period() {
        let mut h = starting();
        apply_result(&mut h, result(1), true, 1);
        assert_eq!((h.status.as_str(), h.failing_streak), ("starting", 0));
        apply_result(&mut h, result(1), false, 2);
        assert_eq!((h.status.as_str(), h.failing_streak), ("starting", 1));
        apply_result(&mut h, result(1), false, 2);
        assert_eq!((h.status.as_str(), h.failing_streak), ("unhealthy", 2));
        apply_result(&mut h, result(0), false, 2);
        assert_eq!((h.status.as_str(), h.failing_streak), ("healthy", 0));
        // Once healthy, the grace period no longer excuses anything.
        apply_result(&mut h, result(1), true, 1);
        assert_eq!(h.status, "unhealthy");
    }

    #[test]
    fn the_log_keeps_the_last_five() {
        let mut h = starting();
        for code in 0..8 {
            apply_result(&mut h, result(code), false, 100);
        }
        let codes: Vec<i64> = h.log.iter().map(|r| r.exit_code).collect();
        assert_eq!(codes, [3, 4, 5, 6, 7]);
    }
}
