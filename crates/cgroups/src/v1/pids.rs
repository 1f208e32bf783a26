//! v1 pids controller (the same files as v2's).

use std::path::Path;

use oci_spec::runtime::LinuxPids;

use crate::stats::Stats;
use crate::{Error, file};

/// The pids.max value for a spec limit: zero or negative means no limit.
pub(crate) fn max_value(p: &LinuxPids) -> String {
    if p.limit() > 0 {
        p.limit().to_string()
    } else {
        "max".to_string()
    }
}

/// Writes pids.max.
pub(crate) fn apply(dir: &Path, p: &LinuxPids) -> Result<(), Error> {
    file::write(&dir.join("pids.max"), &max_value(p))
}

/// pids.current and pids.max (0 for "max", as runc reports it).
pub(crate) fn stats(dir: &Path, stats: &mut Stats) -> Result<(), Error> {
    stats.pids.current = file::read_u64_or_zero(&dir.join("pids.current"))?;
    let limit = file::read_u64_or_zero(&dir.join("pids.max"))?;
    stats.pids.limit = if limit == u64::MAX { 0 } else { limit };
    Ok(())
}
