//! v1 freezer controller: freezer.state.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::{Error, file};

/// How long freezing may take before we give up (a task stuck in uninterruptible sleep can
/// hold FREEZING for a while).
const TIMEOUT: Duration = Duration::from_secs(10);

/// Writes `state` (`FROZEN` or `THAWED`) and waits until the kernel reports it.
///
/// While FREEZING the kernel keeps trying on its own; rewriting the state now and then
/// helps with tasks that forked in the meantime.
pub(crate) fn set(dir: &Path, state: &'static str) -> Result<(), Error> {
    let path = dir.join("freezer.state");
    let start = Instant::now();
    let mut delay = Duration::from_millis(1);
    loop {
        file::write(&path, state)?;
        if file::read(&path)?.trim() == state {
            return Ok(());
        }
        if start.elapsed() > TIMEOUT {
            // Leave the cgroup thawed rather than half frozen.
            if state == "FROZEN" {
                let _ = file::write(&path, "THAWED");
            }
            return Err(Error::FreezeTimeout {
                path: dir.to_path_buf(),
                state,
                millis: u64::try_from(TIMEOUT.as_millis()).unwrap_or(u64::MAX),
            });
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}

/// Whether freezer.state says FROZEN.
pub(crate) fn is_frozen(dir: &Path) -> Result<bool, Error> {
    Ok(file::read(&dir.join("freezer.state"))?.trim() == "FROZEN")
}
