//! v2 pids controller: pids.max (same format as v1).

use std::path::Path;

use oci_spec::runtime::LinuxPids;

use crate::stats::Stats;
use crate::{Error, file};

/// Writes pids.max.
pub(crate) fn apply(dir: &Path, p: &LinuxPids) -> Result<(), Error> {
    file::write(&dir.join("pids.max"), &crate::v1::pids::max_value(p))
}

/// pids.current and pids.max.
pub(crate) fn stats(dir: &Path, stats: &mut Stats) -> Result<(), Error> {
    crate::v1::pids::stats(dir, stats)
}
