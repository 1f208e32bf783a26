//! `berth update [OPTIONS] CONTAINER...`: new limits or restart policy.

use berth_engine::Paths;
use berth_engine::containers::units;
use berth_engine::containers::update::UpdateOptions;
use clap::Args;

/// Update configuration of one or more containers.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Memory, CPU and pids limits.
    #[command(flatten)]
    pub resources: super::resource_flags::ResourceFlags,
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
    let u = UpdateOptions {
        restart: args.restart.clone(),
        memory_reservation: args
            .memory_reservation
            .as_deref()
            .map(|m| units::parse_bytes("--memory-reservation", m))
            .transpose()?,
        cpu_period: args.cpu_period,
        cpu_quota: args.cpu_quota,
        cpuset_mems: args.cpuset_mems.clone(),
        ..args.resources.parsed(true)?
    };
    let engine = super::engine(paths)?;
    super::each(&args.containers, |n| {
        engine.update_container(n, &u)?;
        Ok(n.to_owned())
    })
}
