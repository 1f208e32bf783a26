//! berth's cgroup driver (cgroupfs only, no systemd): turns an OCI `linux.resources` into
//! writes to cgroup control files, on cgroup v1, v2 and hybrid hosts alike, chosen at run time.
//!
//! The main type is [`Cgroup`]: one logical cgroup (an OCI `linux.cgroupsPath`) across every
//! mounted hierarchy. Each controller is driven where the host has it: in hybrid mode a
//! controller bound to no v1 hierarchy but offered by the unified one (hugetlb on berth's
//! development machines) is used through cgroup v2. A limit whose controller the host lacks is
//! a clear error naming the controller and the spec field; controllers not asked for are
//! skipped. Device rules become v1 `devices.allow`/`devices.deny` writes, or on v2 an eBPF
//! program ([`v2::devices`]). [`Stats`] serialises as `runc events --stats` prints its data.
//!
//! ```no_run
//! use berth_cgroups::Cgroup;
//! use oci_spec::runtime::{LinuxMemoryBuilder, LinuxResourcesBuilder};
//!
//! let cg = Cgroup::new("/berth/abc")?;
//! cg.create()?;
//! let mem = LinuxMemoryBuilder::default().limit(64 << 20).build().unwrap();
//! cg.apply(&LinuxResourcesBuilder::default().memory(mem).build().unwrap())?;
//! cg.add_process(1234)?;
//! println!("{}", serde_json::to_string(&cg.stats()?).unwrap());
//! cg.kill_all(9)?;
//! cg.destroy()?;
//! # Ok::<(), berth_cgroups::Error>(())
//! ```

mod apply;
mod cgroup;
mod error;
mod file;
mod join;
mod mount;
mod path;
mod rdma;
mod stats;
mod v1;
pub mod v2;

pub use cgroup::Cgroup;
pub use error::Error;
pub use join::Joiner;
pub use mount::{Hierarchies, Unified, V1Hierarchy};
pub use stats::{
    Blkio, BlkioEntry, Cpu, CpuUsage, Hugetlb, Memory, MemoryEntry, Pids, Stats, Throttling,
    hugepage_sizes,
};
pub use v2::cpu::shares_to_weight;

use std::path::Path;

/// How the host's cgroups are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only cgroup v1 hierarchies carry controllers.
    V1,
    /// Only the unified hierarchy (cgroup2) is mounted.
    V2,
    /// v1 controllers plus a cgroup2 mount (which may still hold unbound controllers).
    Hybrid,
}

/// Detects the layout from `/proc/self/mountinfo`.
///
/// ```no_run
/// assert_ne!(berth_cgroups::detect()?, berth_cgroups::Mode::V1);
/// # Ok::<(), berth_cgroups::Error>(())
/// ```
pub fn detect() -> Result<Mode, Error> {
    Ok(Hierarchies::detect()?.mode())
}

/// The controllers berth can drive on this host, sorted (for `oci features`). Names are the
/// v2 ones where the controller is on the unified hierarchy, the v1 ones otherwise; `devices`
/// and `freezer` are listed on v2 too (BPF device programs and cgroup.freeze).
pub fn supported_controllers() -> Vec<String> {
    let Ok(h) = Hierarchies::detect() else {
        return Vec::new();
    };
    let mut out: Vec<String> =
        h.v1.iter()
            .flat_map(|v| v.controllers.iter().cloned())
            .filter(|c| c != "perf_event" && c != "misc")
            .collect();
    if let Some(u) = &h.unified {
        out.extend(
            u.controllers
                .iter()
                .filter(|c| v2::CONTROLLERS.contains(&c.as_str()) && c.as_str() != "misc")
                .cloned(),
        );
        out.push("devices".into());
        out.push("freezer".into());
    }
    out.sort();
    out.dedup();
    out
}

/// Whether this host can give a cgroup realtime CPU bandwidth (`cpu.rt_runtime_us`): only
/// cgroup v1's cpu controller on a kernel with `CONFIG_RT_GROUP_SCHED` can; cgroup v2 has no
/// realtime bandwidth files (cgroup-v2.rst: realtime processes are not controlled). The
/// error says which of the two is missing.
///
/// ```no_run
/// if let Err(why) = berth_cgroups::cpu_realtime() {
///     eprintln!("no realtime budgets here: {why}");
/// }
/// ```
pub fn cpu_realtime() -> Result<(), String> {
    let h = Hierarchies::detect().map_err(|e| e.to_string())?;
    match h.v1_mount("cpu") {
        Some(m) if m.join("cpu.rt_runtime_us").exists() => Ok(()),
        Some(m) => Err(format!(
            "{} has no cpu.rt_runtime_us (the kernel is built without CONFIG_RT_GROUP_SCHED)",
            m.display()
        )),
        None => Err(
            "the cpu controller is on cgroup v2, which has no realtime bandwidth control".into(),
        ),
    }
}

/// Whether systemd runs this machine (so `--systemd-cgroup` could ever work). berth itself
/// only drives cgroupfs.
pub fn systemd_available() -> bool {
    Path::new("/run/systemd/system").is_dir()
}
