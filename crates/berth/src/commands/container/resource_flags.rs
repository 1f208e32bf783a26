//! The limit flags `create`/`run` and `update` share: `-m`, `--memory-swap`, `--cpus`,
//! `-c`, `--cpuset-cpus`, `--pids-limit`, `--blkio-weight`, `--cpu-rt-period`,
//! `--cpu-rt-runtime`.

use berth_engine::containers::units;
use berth_engine::containers::update::UpdateOptions;
use clap::Args;

/// Memory, CPU and pids limits.
#[derive(Debug, Args, Clone, Default)]
pub struct ResourceFlags {
    /// Memory limit.
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap.
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Number of CPUs.
    #[arg(long)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<u64>,
    /// CPUs in which to allow execution (0-3, 0,1).
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Tune container pids limit (set -1 for unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable.
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    /// Limit CPU real-time period in microseconds.
    #[arg(long)]
    pub cpu_rt_period: Option<i64>,
    /// Limit CPU real-time runtime in microseconds.
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
}

impl ResourceFlags {
    /// The values, sizes and CPU counts parsed; `--cpus 0` (no limit) only where
    /// `zero_cpus` allows it (`update`).
    pub fn parsed(&self, zero_cpus: bool) -> anyhow::Result<UpdateOptions> {
        let cpus = match self.cpus.as_deref() {
            Some(c) if zero_cpus && c.trim().parse::<f64>().is_ok_and(|n| n == 0.0) => Some(0),
            Some(c) => Some(units::parse_cpus(c)?),
            None => None,
        };
        Ok(UpdateOptions {
            memory: self
                .memory
                .as_deref()
                .map(|m| units::parse_bytes("--memory", m))
                .transpose()?,
            memory_swap: self
                .memory_swap
                .as_deref()
                .map(units::parse_swap)
                .transpose()?,
            nano_cpus: cpus,
            cpu_shares: self.cpu_shares,
            cpuset_cpus: self.cpuset_cpus.clone(),
            pids_limit: self.pids_limit,
            blkio_weight: self.blkio_weight,
            cpu_rt_period: self.cpu_rt_period,
            cpu_rt_runtime: self.cpu_rt_runtime,
            ..UpdateOptions::default()
        })
    }
}
