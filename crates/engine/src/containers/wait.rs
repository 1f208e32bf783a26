//! Waiting for a container to stop: on a pidfd of its owner (the monitor or a foreground
//! `berth run`), which records the exit and then ends, and on a pidfd of its init for
//! callers that only need its processes gone (`compose down` between dependency levels).

use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use berth_store::{ContainerRecord, ContainerState, ContainerStatus};

use super::lifecycle::owner_alive;
use crate::{Engine, Error, Result};

/// A pidfd (readable once the process ends) of the container's owner, if it lives and is
/// the recorded process (the start time is checked after opening, so a reused pid is not
/// taken for it).
fn owner_pidfd(st: &ContainerState) -> Option<OwnedFd> {
    let pid = st
        .extra
        .get("owner_pid")
        .and_then(serde_json::Value::as_i64)
        .and_then(|p| i32::try_from(p).ok())
        .filter(|p| *p > 0)?;
    let fd = crate::pidfd::open(pid)?;
    owner_alive(st).then_some(fd)
}

impl Engine {
    /// Waits until the container is no longer running (or `timeout` passes); returns
    /// the last state.
    ///
    /// The owner (monitor or foreground `berth run`) records the exit and then ends, so
    /// the wait sleeps on a pidfd of the owner and wakes the moment it ends, instead of
    /// polling the store with sleeps (which cost up to a poll interval per container on
    /// every `stop`/`down`).
    pub fn wait_exit(&self, id: &str, timeout: Option<Duration>) -> Result<ContainerState> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(5);
        let mut owner: Option<Option<OwnedFd>> = None;
        let mut last: Option<ContainerState> = None;
        loop {
            let rec = match self.store().get_container(id) {
                Ok(rec) => rec,
                // An owner of a `--rm` container removes it before it ends: it stopped.
                Err(berth_store::Error::ContainerNotFound(_)) if last.is_some() => {
                    let mut st = last.unwrap_or_default();
                    st.status = ContainerStatus::Exited;
                    return Ok(st);
                }
                Err(e) => return Err(e.into()),
            };
            last = Some(rec.state.clone());
            let status = match self.reconcile(&rec) {
                // Removed (`--rm`) by its owner while we looked.
                Err(Error::Store(berth_store::Error::ContainerNotFound(_))) => {
                    Ok(ContainerStatus::Exited)
                }
                s => s,
            };
            if !matches!(
                status,
                Ok(ContainerStatus::Running
                    | ContainerStatus::Paused
                    | ContainerStatus::Restarting)
            ) {
                status?;
                return match self.store().get_container(id) {
                    Ok(rec) => Ok(rec.state),
                    Err(berth_store::Error::ContainerNotFound(_)) => {
                        let mut st = rec.state;
                        st.status = ContainerStatus::Exited;
                        Ok(st)
                    }
                    Err(e) => Err(e.into()),
                };
            }
            let left = timeout.map(|t| t.saturating_sub(start.elapsed()));
            if left.is_some_and(|l| l.is_zero()) {
                return Ok(rec.state);
            }
            let fd = owner.get_or_insert_with(|| owner_pidfd(&rec.state));
            // A restarting container's owner stays: it is polled as before.
            match fd {
                Some(fd) if rec.state.status != ContainerStatus::Restarting => {
                    let wait =
                        left.map_or(Duration::from_secs(1), |l| l.min(Duration::from_secs(1)));
                    if crate::pidfd::wait(fd, wait) {
                        // Ended: the next look at the store sees its record; nothing to wait on.
                        owner = Some(None);
                    }
                }
                _ => {
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_millis(50));
                }
            }
        }
    }

    /// A pidfd of a running container's init (readable once it has ended, before its
    /// owner has cleaned up and recorded the exit): lets `compose down` move on to the
    /// next dependency level as soon as a level's processes are gone. `None` when the
    /// container does not run or the pid is no longer the recorded process.
    pub fn init_pidfd(&self, rec: &ContainerRecord) -> Option<OwnedFd> {
        let pid = rec.state.pid.filter(|p| *p > 0)?;
        let fd = crate::pidfd::open(pid)?;
        // Opened while the owner lives, the pid is still the container's: the owner
        // reaps it, so it cannot have been reused yet.
        owner_alive(&rec.state).then_some(fd)
    }
}
