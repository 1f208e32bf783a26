//! `berth stats`: samples of a container's cgroup counters, network and host CPU time.
//!
//! One [`StatsSample`] is what Docker's daemon puts in one stats record; like Docker's
//! CLI, CPU % is the share of host CPU time the container used between two samples, so
//! callers take two and call [`StatsSample::cpu_percent`].

use crate::{Engine, Result};

/// One reading of a container's resource usage (zeros when it is not running).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsSample {
    /// Full container id.
    pub id: String,
    /// Container name.
    pub name: String,
    /// CPU time the container's cgroup used, in nanoseconds.
    pub cpu_ns: u64,
    /// CPU time all host CPUs spent (busy and idle) since boot, in nanoseconds.
    pub system_ns: u64,
    /// Online host CPUs.
    pub online_cpus: u32,
    /// Memory in use, without inactive page cache (what Docker shows).
    pub mem_usage: u64,
    /// The memory limit: the container's, else the host's memory.
    pub mem_limit: u64,
    /// Bytes received on the container's interfaces (loopback excluded).
    pub net_rx: u64,
    /// Bytes sent on the container's interfaces (loopback excluded).
    pub net_tx: u64,
    /// Bytes read from block devices.
    pub blk_read: u64,
    /// Bytes written to block devices.
    pub blk_write: u64,
    /// Processes and threads in the container.
    pub pids: u64,
}

impl StatsSample {
    /// CPU usage between `prev` and `self` as Docker computes it: the container's share
    /// of all host CPU time, times the number of CPUs (so one busy CPU is 100%).
    pub fn cpu_percent(&self, prev: &StatsSample) -> f64 {
        let cpu = self.cpu_ns.saturating_sub(prev.cpu_ns);
        let system = self.system_ns.saturating_sub(prev.system_ns);
        if cpu == 0 || system == 0 {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss)]
        let share = cpu as f64 / system as f64;
        share * f64::from(self.online_cpus) * 100.0
    }

    /// Memory usage as a percentage of the limit.
    pub fn mem_percent(&self) -> f64 {
        if self.mem_limit == 0 {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss)]
        let pct = self.mem_usage as f64 * 100.0 / self.mem_limit as f64;
        pct
    }
}

impl Engine {
    /// A sample of container `name`'s resource usage.
    pub fn container_stats(&self, name: &str) -> Result<StatsSample> {
        let (rec, stored) = self.container(name)?;
        let running = self.reconcile(&rec)? == berth_store::ContainerStatus::Running;
        let host = HostCpu::read();
        let host_mem = crate::system::host_memory();
        let mut sample = StatsSample {
            id: rec.id.clone(),
            name: rec.name.clone(),
            system_ns: host.total_ns,
            online_cpus: host.cpus,
            ..StatsSample::default()
        };
        if !running {
            // Docker shows a stopped container as all zeros, limit included.
            return Ok(sample);
        }
        sample.mem_limit = host_mem;
        // The container may stop between the check and the read: that is zeros, not an error.
        let Ok(ev) = berth_runtime::stats(&self.runtime(), &rec.id) else {
            return Ok(sample);
        };
        let d = &ev.data;
        sample.cpu_ns = d.cpu.usage.total;
        // Docker's CLI subtracts inactive page cache: `total_inactive_file` on v1,
        // `inactive_file` on v2.
        let inactive = d
            .memory
            .raw
            .get("total_inactive_file")
            .or_else(|| d.memory.raw.get("inactive_file"))
            .copied()
            .unwrap_or(0);
        let usage = d.memory.usage.usage;
        sample.mem_usage = if inactive < usage {
            usage - inactive
        } else {
            usage
        };
        // An unlimited cgroup reports a huge number; like Docker, show the host's memory.
        let limit = d.memory.usage.limit;
        if limit > 0 && (host_mem == 0 || limit < host_mem) {
            sample.mem_limit = limit;
        }
        sample.pids = d.pids.current;
        for e in &d.blkio.io_service_bytes_recursive {
            match e.op.to_ascii_lowercase().as_str() {
                "read" => sample.blk_read += e.value,
                "write" => sample.blk_write += e.value,
                _ => {}
            }
        }
        if stored.opts.network.as_deref() != Some("host")
            && let Some(pid) = rec.state.pid
        {
            let dev = fs_err::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
            (sample.net_rx, sample.net_tx) = net_bytes(&dev);
        }
        Ok(sample)
    }
}

/// Host CPU time from `/proc/stat`.
struct HostCpu {
    total_ns: u64,
    cpus: u32,
}

impl HostCpu {
    fn read() -> HostCpu {
        let text = fs_err::read_to_string("/proc/stat").unwrap_or_default();
        Self::parse(&text, clock_ticks())
    }

    /// Sums the aggregate `cpu` line's first seven fields (user … softirq), as Docker's
    /// daemon does, and counts the `cpuN` lines.
    fn parse(text: &str, ticks_per_sec: u64) -> HostCpu {
        let mut total_ticks = 0u64;
        let mut cpus = 0u32;
        for line in text.lines() {
            let mut f = line.split_whitespace();
            match f.next() {
                Some("cpu") => {
                    total_ticks = f.take(7).filter_map(|v| v.parse::<u64>().ok()).sum();
                }
                Some(c) if c.starts_with("cpu") => cpus += 1,
                _ => {}
            }
        }
        HostCpu {
            total_ns: total_ticks.saturating_mul(1_000_000_000 / ticks_per_sec.max(1)),
            cpus: cpus.max(1),
        }
    }
}

fn clock_ticks() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|t| u64::try_from(t).ok())
        .filter(|t| *t > 0)
        .unwrap_or(100)
}

/// Received and sent bytes summed over every interface in `/proc/PID/net/dev` but `lo`.
fn net_bytes(dev: &str) -> (u64, u64) {
    let mut rx = 0;
    let mut tx = 0;
    for line in dev.lines().skip(2) {
        let Some((iface, counters)) = line.split_once(':') else {
            continue;
        };
        if iface.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = counters
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        if f.len() >= 9 {
            rx += f[0];
            tx += f[8];
        }
    }
    (rx, tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_cpu_sums_seven_fields_and_counts_cpus() {
        let text = "cpu  10 1 5 100 4 0 0 7 0 0\ncpu0 5 0 2 50 2 0 0 0 0 0\ncpu1 5 1 3 50 2 0 0 7 0 0\nintr 1\n";
        let h = HostCpu::parse(text, 100);
        assert_eq!(h.total_ns, 120 * 10_000_000);
        assert_eq!(h.cpus, 2);
    }

    #[test]
    fn net_bytes_skips_loopback() {
        let dev = "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets\n    lo:  500 5 0 0 0 0 0 0  500 5 0 0 0 0 0 0\n  eth0: 1200 9 0 0 0 0 0 0  3400 8 0 0 0 0 0 0\n";
        assert_eq!(net_bytes(dev), (1200, 3400));
    }

    #[test]
    fn cpu_percent_is_share_times_cpus() {
        let prev = StatsSample {
            cpu_ns: 1_000,
            system_ns: 10_000,
            online_cpus: 2,
            ..StatsSample::default()
        };
        let cur = StatsSample {
            cpu_ns: 2_000,
            system_ns: 12_000,
            ..prev.clone()
        };
        assert!((cur.cpu_percent(&prev) - 100.0).abs() < 1e-9);
        assert!(prev.cpu_percent(&prev).abs() < 1e-9);
    }
}
