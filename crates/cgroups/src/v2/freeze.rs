//! v2 freezer: cgroup.freeze, with cgroup.events telling when the freeze is complete.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::{Error, file};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Writes cgroup.freeze and waits until cgroup.events shows `frozen` with the same value.
pub(crate) fn set(dir: &Path, frozen: bool) -> Result<(), Error> {
    let want = if frozen { "1" } else { "0" };
    let freeze = dir.join("cgroup.freeze");
    if !file::write_if_exists(&freeze, want)? {
        return Err(Error::Unsupported {
            field: "freezer".into(),
            reason: format!(
                "{} does not exist (kernel older than 5.2)",
                freeze.display()
            ),
        });
    }
    let start = Instant::now();
    let mut delay = Duration::from_millis(1);
    while state(dir)? != frozen {
        if start.elapsed() > TIMEOUT {
            if frozen {
                let _ = file::write(&freeze, "0");
            }
            return Err(Error::FreezeTimeout {
                path: dir.to_path_buf(),
                state: if frozen { "FROZEN" } else { "THAWED" },
                millis: u64::try_from(TIMEOUT.as_millis()).unwrap_or(u64::MAX),
            });
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
    Ok(())
}

/// Whether cgroup.events reports `frozen 1`.
pub(crate) fn state(dir: &Path) -> Result<bool, Error> {
    Ok(file::read_keyed(&dir.join("cgroup.events"))?.get("frozen") == Some(&1))
}
