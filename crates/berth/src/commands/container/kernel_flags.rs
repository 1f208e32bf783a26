//! The `create`/`run` flags behind [`KernelOptions`]: namespaces, sysctls, `/dev/shm`,
//! OOM tuning, the finer limits, device rules, cgroup parent, domain name, annotations.

use berth_engine::containers::blkio::{self, Rate};
use berth_engine::containers::kernel_opts::KernelOptions;
use berth_engine::containers::units;
use clap::Args;

/// The finer limits that `create`/`run` set and `update` changes: `--memory-reservation`,
/// `--cpu-period`, `--cpu-quota`, `--cpuset-mems`.
#[derive(Debug, Args, Clone, Default)]
pub struct TunableFlags {
    /// Memory soft limit.
    #[arg(long)]
    pub memory_reservation: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) period.
    #[arg(long)]
    pub cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota (-1: no limit).
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// MEMs in which to allow execution (0-3, 0,1).
    #[arg(long)]
    pub cpuset_mems: Option<String>,
}

impl TunableFlags {
    /// `--memory-reservation` in bytes.
    pub fn memory_reservation(&self) -> anyhow::Result<Option<i64>> {
        Ok(self
            .memory_reservation
            .as_deref()
            .map(|m| units::parse_bytes("--memory-reservation", m))
            .transpose()?)
    }
}

/// Namespaces, sysctls and the finer resource flags.
#[derive(Debug, Args, Clone, Default)]
pub struct KernelFlags {
    /// Size of /dev/shm.
    #[arg(long)]
    pub shm_size: Option<String>,
    /// Sysctl options.
    #[arg(long)]
    pub sysctl: Vec<String>,
    /// PID namespace to use (host, container:NAME).
    #[arg(long)]
    pub pid: Option<String>,
    /// IPC mode to use (private, shareable, none, host, container:NAME).
    #[arg(long)]
    pub ipc: Option<String>,
    /// UTS namespace to use (host).
    #[arg(long)]
    pub uts: Option<String>,
    /// Cgroup namespace to use (host, private).
    #[arg(long)]
    pub cgroupns: Option<String>,
    /// Optional parent cgroup for the container.
    #[arg(long)]
    pub cgroup_parent: Option<String>,
    /// Disable OOM killer.
    #[arg(long)]
    pub oom_kill_disable: bool,
    /// Tune host's OOM preferences (-1000 to 1000).
    #[arg(long, allow_hyphen_values = true)]
    pub oom_score_adj: Option<i32>,
    /// Tune container memory swappiness (0 to 100).
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swappiness: Option<i64>,
    /// The finer limits `update` changes too.
    #[command(flatten)]
    pub tunable: TunableFlags,
    /// Block IO weight (relative device weight), DEVICE:WEIGHT.
    #[arg(long)]
    pub blkio_weight_device: Vec<String>,
    /// Limit read rate (bytes per second) from a device, DEVICE:RATE.
    #[arg(long)]
    pub device_read_bps: Vec<String>,
    /// Limit write rate (bytes per second) to a device, DEVICE:RATE.
    #[arg(long)]
    pub device_write_bps: Vec<String>,
    /// Limit read rate (IO per second) from a device, DEVICE:RATE.
    #[arg(long)]
    pub device_read_iops: Vec<String>,
    /// Limit write rate (IO per second) to a device, DEVICE:RATE.
    #[arg(long)]
    pub device_write_iops: Vec<String>,
    /// Add a rule to the cgroup allowed devices list.
    #[arg(long)]
    pub device_cgroup_rule: Vec<String>,
    /// Container NIS domain name.
    #[arg(long)]
    pub domainname: Option<String>,
    /// Add an annotation to the container (passed through to the OCI runtime).
    #[arg(long)]
    pub annotation: Vec<String>,
}

impl KernelFlags {
    /// The engine's options, sizes parsed.
    pub fn options(&self) -> anyhow::Result<KernelOptions> {
        let size = |flag: &'static str, v: &Option<String>| {
            v.as_deref()
                .map(|s| units::parse_bytes(flag, s))
                .transpose()
        };
        let throttles = |flag: &'static str, list: &[String], rate: Rate| {
            list.iter()
                .map(|d| blkio::parse_throttle(flag, d, rate))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(KernelOptions {
            shm_size: size("--shm-size", &self.shm_size)?,
            sysctls: self.sysctl.clone(),
            pid: self.pid.clone(),
            ipc: self.ipc.clone(),
            uts: self.uts.clone(),
            cgroupns: self.cgroupns.clone(),
            cgroup_parent: self.cgroup_parent.clone(),
            oom_kill_disable: self.oom_kill_disable,
            oom_score_adj: self.oom_score_adj,
            memory_reservation: self.tunable.memory_reservation()?,
            memory_swappiness: self.memory_swappiness,
            cpu_period: self.tunable.cpu_period,
            cpu_quota: self.tunable.cpu_quota,
            cpuset_mems: self.tunable.cpuset_mems.clone(),
            blkio_weight_device: self
                .blkio_weight_device
                .iter()
                .map(|d| blkio::parse_weight(d))
                .collect::<Result<_, _>>()?,
            device_read_bps: throttles("--device-read-bps", &self.device_read_bps, Rate::Bytes)?,
            device_write_bps: throttles("--device-write-bps", &self.device_write_bps, Rate::Bytes)?,
            device_read_iops: throttles("--device-read-iops", &self.device_read_iops, Rate::Iops)?,
            device_write_iops: throttles(
                "--device-write-iops",
                &self.device_write_iops,
                Rate::Iops,
            )?,
            device_cgroup_rules: self.device_cgroup_rule.clone(),
            domainname: self.domainname.clone(),
            annotations: self.annotation.clone(),
            ..KernelOptions::default()
        })
    }
}
