//! cgroup v1: one file per controller. Each writes into the cgroup's directory of the
//! hierarchy its controller is mounted on.

pub(crate) mod blkio;
pub(crate) mod cpu;
pub(crate) mod cpuset;
pub(crate) mod devices;
pub(crate) mod freezer;
pub(crate) mod hugetlb;
pub(crate) mod memory;
pub(crate) mod net;
pub(crate) mod pids;
