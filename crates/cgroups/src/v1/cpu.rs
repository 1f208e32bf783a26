//! v1 cpu and cpuacct controllers: shares, CFS quota/period/burst, realtime, idle; CPU time.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::stats::Stats;
use crate::{Error, file};

/// Whether the spec sets anything the cpu controller (not cpuset) handles.
pub(crate) fn wanted(c: &LinuxCpu) -> bool {
    c.shares().is_some()
        || c.quota().is_some()
        || c.period().is_some()
        || c.burst().is_some()
        || c.idle().is_some()
        || c.realtime_runtime().is_some()
        || c.realtime_period().is_some()
}

/// Writes the cpu controller's limits.
pub(crate) fn apply(dir: &Path, c: &LinuxCpu) -> Result<(), Error> {
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        file::write(&dir.join("cpu.shares"), &s.to_string())?;
    }
    let period = c.period().filter(|p| *p != 0);
    let quota = c.quota().filter(|q| *q != 0);
    // The kernel checks quota against the period in force, so which write goes first matters;
    // try period first and fall back to the other order if the kernel refuses.
    let pf = dir.join("cpu.cfs_period_us");
    let qf = dir.join("cpu.cfs_quota_us");
    match (period, quota) {
        (Some(p), Some(q)) => {
            if file::write(&pf, &p.to_string()).is_err() {
                file::write(&qf, &q.to_string())?;
                file::write(&pf, &p.to_string())?;
            } else {
                file::write(&qf, &q.to_string())?;
            }
        }
        (Some(p), None) => file::write(&pf, &p.to_string())?,
        (None, Some(q)) => file::write(&qf, &q.to_string())?,
        (None, None) => {}
    }
    if let Some(b) = c.burst() {
        optional(
            dir,
            "cpu.cfs_burst_us",
            &b.to_string(),
            "linux.resources.cpu.burst",
        )?;
    }
    // Realtime bandwidth exists only with CONFIG_RT_GROUP_SCHED; like crun, write it where
    // the kernel has the files and skip it where it does not (engines check beforehand).
    if let Some(p) = c.realtime_period().filter(|p| *p != 0) {
        realtime(
            dir,
            "cpu.rt_period_us",
            p,
            "linux.resources.cpu.realtimePeriod",
        )?;
    }
    if let Some(r) = c.realtime_runtime().filter(|r| *r != 0) {
        realtime(
            dir,
            "cpu.rt_runtime_us",
            r,
            "linux.resources.cpu.realtimeRuntime",
        )?;
    }
    if let Some(i) = c.idle() {
        optional(dir, "cpu.idle", &i.to_string(), "linux.resources.cpu.idle")?;
    }
    Ok(())
}

/// Writes a realtime bandwidth file. The kernel answers EINVAL (sched_rt_can_attach,
/// tg_rt_schedulable) when the budget does not fit the parent's: a cgroup's runtime must fit
/// in what its parent has left (`cpu.rt_runtime_us`, 0 for a new cgroup), so say that.
fn realtime(
    dir: &Path,
    name: &str,
    value: impl std::fmt::Display,
    field: &str,
) -> Result<(), Error> {
    let path = dir.join(name);
    match file::write_if_exists(&path, &value.to_string()) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::EBUSY)) => {
            let parent = dir.parent().map(|p| p.join("cpu.rt_runtime_us"));
            let budget = parent
                .as_ref()
                .and_then(|p| file::read_opt(p).ok().flatten())
                .map_or_else(|| "unknown".to_owned(), |s| s.trim().to_owned());
            Err(Error::InvalidValue {
                field: field.into(),
                value: value.to_string(),
                reason: format!(
                    "the kernel refused it for {} (the parent cgroup's realtime budget, {}, is {budget} µs)\nhint: run it under a parent cgroup with a large enough budget: create one, write the budget to its cpu.rt_runtime_us, and pass it as --cgroup-parent",
                    path.display(),
                    parent.map_or_else(String::new, |p| p.display().to_string())
                ),
            })
        }
        Err(e) => Err(e),
    }
}

/// Writes a file that only some kernels have; a clear error names the field if it is missing.
fn optional(dir: &Path, name: &str, value: &str, field: &str) -> Result<(), Error> {
    if file::write_if_exists(&dir.join(name), value)? {
        Ok(())
    } else {
        Err(Error::Unsupported {
            field: field.into(),
            reason: format!("this kernel has no {name} in {}", dir.display()),
        })
    }
}

/// Throttling counters from the cpu controller's cpu.stat.
pub(crate) fn stats(dir: &Path, stats: &mut Stats) -> Result<(), Error> {
    let m = file::read_keyed(&dir.join("cpu.stat"))?;
    let t = &mut stats.cpu.throttling;
    t.periods = m.get("nr_periods").copied().unwrap_or(0);
    t.throttled_periods = m.get("nr_throttled").copied().unwrap_or(0);
    t.throttled_time = m.get("throttled_time").copied().unwrap_or(0);
    Ok(())
}

/// CPU time from the cpuacct controller, in nanoseconds.
pub(crate) fn acct_stats(dir: &Path, stats: &mut Stats) -> Result<(), Error> {
    let u = &mut stats.cpu.usage;
    u.total = file::read_u64_or_zero(&dir.join("cpuacct.usage"))?;
    let list = |name: &str| -> Result<Vec<u64>, Error> {
        let path = dir.join(name);
        let Some(t) = file::read_opt(&path)? else {
            return Ok(Vec::new());
        };
        t.split_whitespace()
            .map(|w| file::parse_u64(&path, w))
            .collect()
    };
    u.percpu = list("cpuacct.usage_percpu")?;
    u.percpu_kernel = list("cpuacct.usage_percpu_sys")?;
    u.percpu_user = list("cpuacct.usage_percpu_user")?;
    // cpuacct.stat counts USER_HZ ticks; report nanoseconds like the other fields.
    let ticks = file::read_keyed(&dir.join("cpuacct.stat"))?;
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|v| u64::try_from(v).ok())
        .filter(|v| *v > 0)
        .unwrap_or(100);
    let ns = |k: &str| {
        ticks
            .get(k)
            .copied()
            .unwrap_or(0)
            .saturating_mul(1_000_000_000 / hz)
    };
    u.user = ns("user");
    u.kernel = ns("system");
    Ok(())
}
