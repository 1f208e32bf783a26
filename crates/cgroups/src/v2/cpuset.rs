//! v2 cpuset controller: cpuset.cpus and cpuset.mems (empty means "inherit" in v2).

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::Error;

/// Writes cpuset.cpus and cpuset.mems; the files and formats are v1's.
pub(crate) fn apply(dir: &Path, c: &LinuxCpu) -> Result<(), Error> {
    crate::v1::cpuset::apply(dir, c)
}
