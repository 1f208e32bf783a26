//! `berth stats --no-stream`: one sample of a container's cgroup counters.

use serde_json::{Value, json};

use crate::{Engine, Result};

impl Engine {
    /// A sample of CPU, memory and pids usage of a running container (zeros when it is
    /// not running), in Docker's `stats --format` field names plus raw numbers.
    pub fn container_stats(&self, name: &str) -> Result<Value> {
        let (rec, stored) = self.container(name)?;
        let running = self.reconcile(&rec)? == berth_store::ContainerStatus::Running;
        let st = if running {
            berth_runtime::stats(&self.runtime(), &rec.id).ok()
        } else {
            None
        };
        let data = st.as_ref().map(|s| &s.data);
        let mem = data.map_or(0, |d| d.memory.usage.usage);
        let limit = stored
            .opts
            .memory
            .and_then(|m| u64::try_from(m).ok())
            .unwrap_or_else(host_memory);
        let pids = data.map_or(0, |d| d.pids.current);
        let cpu_ns = data.map_or(0, |d| d.cpu.usage.total);
        #[allow(clippy::cast_precision_loss)]
        let mem_pct = if limit > 0 {
            mem as f64 * 100.0 / limit as f64
        } else {
            0.0
        };
        Ok(json!({
            "ID": &rec.id[..12],
            "Name": rec.name,
            "MemUsageBytes": mem,
            "MemLimitBytes": limit,
            "MemPerc": format!("{mem_pct:.2}%"),
            "PIDs": pids,
            "CPUTotalNs": cpu_ns,
        }))
    }
}

fn host_memory() -> u64 {
    fs_err::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
