//! v2 cpu controller: cpu.weight, cpu.max, cpu.max.burst, cpu.idle; cpu.stat.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::stats::Stats;
use crate::{Error, file};

/// Default CFS period in microseconds (cgroup-v2.rst, cpu.max).
const DEFAULT_PERIOD: u64 = 100_000;

/// Converts v1 cpu.shares (2..=262144) to v2 cpu.weight (1..=10000) with the linear map runc
/// and crun use, so a container gets the same weight whichever runtime started it.
pub fn shares_to_weight(shares: u64) -> u64 {
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// The cpu.max line: `$MAX $PERIOD`, `max` for no quota.
pub(crate) fn max_line(quota: Option<i64>, period: Option<u64>) -> Option<String> {
    let period = period.filter(|p| *p != 0);
    let quota = quota.filter(|q| *q != 0);
    if quota.is_none() && period.is_none() {
        return None;
    }
    let q = match quota {
        Some(q) if q > 0 => q.to_string(),
        _ => "max".to_string(),
    };
    Some(format!("{q} {}", period.unwrap_or(DEFAULT_PERIOD)))
}

/// Writes the cpu controller's limits.
pub(crate) fn apply(dir: &Path, c: &LinuxCpu) -> Result<(), Error> {
    // cgroup v2 has no realtime bandwidth files; realtimeRuntime/Period are skipped as on v1
    // kernels without CONFIG_RT_GROUP_SCHED.
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        file::write(&dir.join("cpu.weight"), &shares_to_weight(s).to_string())?;
    }
    if let Some(line) = max_line(c.quota(), c.period()) {
        file::write(&dir.join("cpu.max"), &line)?;
    }
    if let Some(b) = c.burst() {
        file::write(&dir.join("cpu.max.burst"), &b.to_string())?;
    }
    if let Some(i) = c.idle() {
        file::write(&dir.join("cpu.idle"), &i.to_string())?;
    }
    Ok(())
}

/// CPU time and throttling from cpu.stat (microseconds there, nanoseconds here).
pub(crate) fn stats(dir: &Path, stats: &mut Stats) -> Result<(), Error> {
    let m = file::read_keyed(&dir.join("cpu.stat"))?;
    let us = |k: &str| m.get(k).copied().unwrap_or(0).saturating_mul(1000);
    stats.cpu.usage.total = us("usage_usec");
    stats.cpu.usage.user = us("user_usec");
    stats.cpu.usage.kernel = us("system_usec");
    let t = &mut stats.cpu.throttling;
    t.periods = m.get("nr_periods").copied().unwrap_or(0);
    t.throttled_periods = m.get("nr_throttled").copied().unwrap_or(0);
    t.throttled_time = us("throttled_usec");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_map_onto_weights() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1), 1);
        assert_eq!(shares_to_weight(1_000_000), 10_000);
    }

    #[test]
    fn cpu_max_lines() {
        assert_eq!(
            max_line(Some(50_000), Some(100_000)).unwrap(),
            "50000 100000"
        );
        assert_eq!(max_line(Some(20_000), None).unwrap(), "20000 100000");
        assert_eq!(max_line(Some(-1), Some(200_000)).unwrap(), "max 200000");
        assert_eq!(max_line(None, Some(50_000)).unwrap(), "max 50000");
        assert!(max_line(None, None).is_none());
    }
}
