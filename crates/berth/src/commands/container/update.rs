//! `berth update [OPTIONS] CONTAINER...`: new limits or restart policy.

use berth_engine::Paths;
use berth_engine::containers::units;
use berth_engine::containers::update::UpdateOptions;
use clap::Args;

/// Update configuration of one or more containers.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Memory limit.
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap.
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Number of CPUs (0 removes the limit).
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
    /// Restart policy to apply when a container exits.
    #[arg(long)]
    pub restart: Option<String>,
    /// Containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Runs `berth update`: each container is updated on its own; the names of those
/// updated are printed, errors reported, and the exit code is 1 if any failed.
pub fn run(paths: &Paths, args: &UpdateArgs) -> anyhow::Result<()> {
    let cpus = match args.cpus.as_deref() {
        Some(c) if c.trim().parse::<f64>().is_ok_and(|n| n == 0.0) => Some(0),
        Some(c) => Some(units::parse_cpus(c)?),
        None => None,
    };
    let u = UpdateOptions {
        memory: args
            .memory
            .as_deref()
            .map(|m| units::parse_bytes("--memory", m))
            .transpose()?,
        memory_swap: args
            .memory_swap
            .as_deref()
            .map(units::parse_swap)
            .transpose()?,
        nano_cpus: cpus,
        cpu_shares: args.cpu_shares,
        cpuset_cpus: args.cpuset_cpus.clone(),
        pids_limit: args.pids_limit,
        restart: args.restart.clone(),
    };
    let engine = super::engine(paths)?;
    super::each(&args.containers, |n| {
        engine.update_container(n, &u)?;
        Ok(n.to_owned())
    })
}
