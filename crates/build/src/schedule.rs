//! Stage scheduling: the stages a target needs, built as soon as their dependencies
//! are; independent stages at the same time.
//!
//! Containers may only be started by a single-threaded process (see the engine), so
//! concurrency comes from processes, not threads: each stage of a parallel batch is
//! built by a forked copy of this (single-threaded) builder with its own store handle.
//! A child writes its output to a pipe and its result to a file; the parent reads all
//! pipes with `poll`, prefixes every line with the stage's name (`[builder] …`, as
//! BuildKit's plain progress does) and waits for every child, even after a failure,
//! so no half-run step is left behind. A stage that is the only one ready runs in the
//! process itself, so the common one-stage build pays nothing for this.
//!
//! Step numbers are fixed up front (each stage owns a range, in dependency order), so
//! `Step 4/9` names the same instruction whatever ran in parallel.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::os::fd::{AsFd as _, AsRawFd as _, OwnedFd};

use berth_engine::Engine;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, pipe};
use serde::{Deserialize, Serialize};

use crate::cache::State;
use crate::error::{Error, Result};
use crate::exec::Builder;
use crate::memo::HashMemo;

/// What a child sends back.
#[derive(Debug, Serialize, Deserialize)]
struct ChildResult {
    state: Option<State>,
    cached: usize,
    ran: usize,
    error: Option<String>,
}

/// A stage being built by a child process.
struct Running {
    stage: usize,
    label: String,
    pid: Pid,
    output: Option<OwnedFd>,
    pending: Vec<u8>,
    result: tempfile::NamedTempFile,
}

fn sys(what: &str, e: nix::Error) -> Error {
    Error::io(what, std::io::Error::from(e))
}

impl Builder<'_> {
    /// The stage's name in prefixed output (`builder`, or `stage-1` as BuildKit says).
    fn stage_label(&self, idx: usize) -> String {
        self.df
            .stages
            .get(idx)
            .and_then(|s| s.name.clone())
            .unwrap_or_else(|| format!("stage-{idx}"))
    }

    /// Builds the stages of `order` (dependencies first, target last) and returns the
    /// target's state.
    pub(crate) fn run_stages(&mut self, order: &[usize]) -> Result<State> {
        let mut deps: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        let mut first_step = BTreeMap::new();
        let mut n = 0;
        for &i in order {
            deps.insert(i, self.df.stage_dependencies(i, &self.args)?);
            first_step.insert(i, n);
            n += self
                .df
                .stages
                .get(i)
                .map_or(0, |s| s.instructions.len() + 1);
        }
        let mut running: Vec<Running> = Vec::new();
        let mut failure: Option<Error> = None;
        loop {
            if failure.is_none() {
                let ready: Vec<usize> = order
                    .iter()
                    .copied()
                    .filter(|i| {
                        !self.built.contains_key(i)
                            && !running.iter().any(|r| r.stage == *i)
                            && deps
                                .get(i)
                                .is_none_or(|d| d.iter().all(|x| self.built.contains_key(x)))
                    })
                    .collect();
                if let [only] = ready[..]
                    && running.is_empty()
                {
                    self.step = first_step.get(&only).copied().unwrap_or(0);
                    let state = self.run_stage(only)?;
                    self.built.insert(only, state);
                    continue;
                }
                for i in ready {
                    match self.spawn_stage(i, first_step.get(&i).copied().unwrap_or(0)) {
                        Ok(r) => running.push(r),
                        Err(e) => {
                            failure = Some(e);
                            break;
                        }
                    }
                }
            }
            if running.is_empty() {
                break;
            }
            if let Err(e) = self.pump(&mut running)
                && failure.is_none()
            {
                failure = Some(e);
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        order
            .last()
            .and_then(|i| self.built.get(i).cloned())
            .ok_or_else(|| Error::Invalid {
                what: "Dockerfile",
                value: self.opts.dockerfile_name.clone(),
                hint: "the Dockerfile has no stages; it needs a FROM".into(),
            })
    }

    /// Forks a child that builds stage `idx`, numbering its steps from `first + 1`.
    fn spawn_stage(&mut self, idx: usize, first: usize) -> Result<Running> {
        let tmp = self.engine.store().root().join("tmp");
        let result = tempfile::Builder::new()
            .prefix("build-stage-")
            .tempfile_in(&tmp)
            .map_err(|e| Error::io(tmp.clone(), e))?;
        let (rd, wr) = pipe().map_err(|e| sys("pipe", e))?;
        let _ = self.out.flush();
        // SAFETY: the builder is single-threaded (RUN steps require it); the child
        // never returns into the caller: it builds one stage and `_exit`s.
        match unsafe { fork() }.map_err(|e| sys("fork", e))? {
            ForkResult::Child => {
                drop(rd);
                let code = self.child_main(idx, first, wr, result.path());
                // SAFETY: leave without running destructors: the parent's store handle,
                // temporary directories and files are the parent's to clean up.
                unsafe { libc::_exit(code) }
            }
            ForkResult::Parent { child } => {
                drop(wr);
                Ok(Running {
                    stage: idx,
                    label: self.stage_label(idx),
                    pid: child,
                    output: Some(rd),
                    pending: Vec::new(),
                    result,
                })
            }
        }
    }

    /// The child's side: build the stage with a store handle of its own, write the
    /// result. Returns the exit code.
    fn child_main(
        &mut self,
        idx: usize,
        first: usize,
        wr: OwnedFd,
        result: &std::path::Path,
    ) -> i32 {
        let mut out = std::fs::File::from(wr);
        let echo = self.echo.map(|_| out.as_raw_fd());
        let outcome = (|| -> Result<(State, usize, usize)> {
            let engine = Engine::open(self.engine.paths().clone())?;
            let memo = HashMemo::load(&self.cache.dir().join("memo.json"));
            let mut b = Builder {
                engine: &engine,
                opts: self.opts,
                df: self.df.clone(),
                cache: self.cache.clone(),
                memo,
                out: &mut out,
                step: first,
                total: self.total,
                cached: 0,
                ran: 0,
                built: self.built.clone(),
                args: self.args.clone(),
                echo,
            };
            let state = b.run_stage(idx);
            b.memo.save();
            Ok((state?, b.cached, b.ran))
        })();
        let (res, code) = match outcome {
            Ok((state, cached, ran)) => (
                ChildResult {
                    state: Some(state),
                    cached,
                    ran,
                    error: None,
                },
                0,
            ),
            Err(e) => (
                ChildResult {
                    state: None,
                    cached: 0,
                    ran: 0,
                    error: Some(e.to_string()),
                },
                1,
            ),
        };
        let _ = out.flush();
        match serde_json::to_vec(&res) {
            Ok(bytes) if fs_err::write(result, &bytes).is_ok() => code,
            _ => 2,
        }
    }

    /// Waits until some child has output or has finished; forwards complete lines with
    /// the stage's prefix and collects finished children.
    fn pump(&mut self, running: &mut Vec<Running>) -> Result<()> {
        let mut readable = Vec::new();
        {
            let mut fds: Vec<PollFd<'_>> = Vec::new();
            let mut which = Vec::new();
            for (i, r) in running.iter().enumerate() {
                if let Some(fd) = &r.output {
                    fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                    which.push(i);
                }
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(nix::Error::EINTR) => {}
                Err(e) => return Err(sys("poll", e)),
            }
            for (fd, i) in fds.iter().zip(which) {
                if fd.revents().is_some_and(|r| !r.is_empty()) {
                    readable.push(i);
                }
            }
        }
        let mut buf = [0u8; 16 << 10];
        let mut closed = Vec::new();
        for i in readable {
            let Some(r) = running.get_mut(i) else {
                continue;
            };
            let n = match r.output.as_ref().map(|fd| nix::unistd::read(fd, &mut buf)) {
                Some(Ok(n)) => n,
                Some(Err(nix::Error::EINTR)) => continue,
                _ => 0,
            };
            if n == 0 {
                r.output = None;
                closed.push(r.stage);
            } else {
                r.pending.extend_from_slice(&buf[..n]);
            }
        }
        for r in running.iter_mut() {
            while let Some(pos) = r.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = r.pending.drain(..=pos).collect();
                let _ = write!(self.out, "[{}] ", r.label);
                let _ = self.out.write_all(&line);
            }
        }
        let _ = self.out.flush();
        let mut failure = None;
        for stage in closed {
            let Some(pos) = running.iter().position(|r| r.stage == stage) else {
                continue;
            };
            let r = running.remove(pos);
            if let Err(e) = self.finish(r)
                && failure.is_none()
            {
                failure = Some(e);
            }
        }
        failure.map_or(Ok(()), Err)
    }

    /// Reaps a child whose output ended and takes its result.
    fn finish(&mut self, mut r: Running) -> Result<()> {
        if !r.pending.is_empty() {
            let _ = write!(self.out, "[{}] ", r.label);
            let _ = self.out.write_all(&r.pending);
            let _ = writeln!(self.out);
            r.pending.clear();
        }
        let status = loop {
            match waitpid(r.pid, None) {
                Err(nix::Error::EINTR) => {}
                other => break other,
            }
        };
        let died = |how: String| Error::Stage {
            stage: r.label.clone(),
            message: format!("building stage {}: the builder process {how}", r.label),
        };
        match status {
            Ok(WaitStatus::Exited(_, _)) => {}
            Ok(WaitStatus::Signaled(_, sig, _)) => {
                return Err(died(format!("was killed by {sig}")));
            }
            Ok(other) => return Err(died(format!("ended oddly ({other:?})"))),
            Err(e) => return Err(sys("waitpid", e)),
        }
        let mut bytes = Vec::new();
        r.result
            .as_file_mut()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(r.result.path(), e))?;
        let res: ChildResult =
            serde_json::from_slice(&bytes).map_err(|_| died("left no result".to_owned()))?;
        self.cached += res.cached;
        self.ran += res.ran;
        if let Some(message) = res.error {
            return Err(Error::Stage {
                stage: r.label,
                message,
            });
        }
        let state = res.state.ok_or_else(|| died("left no result".to_owned()))?;
        self.built.insert(r.stage, state);
        Ok(())
    }
}
