//! `berth update [OPTIONS] CONTAINER...`: new limits or restart policy.

use berth_engine::Paths;
use berth_engine::containers::update::UpdateOptions;
use clap::Args;

/// Update configuration of one or more containers.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Memory, CPU and pids limits.
    #[command(flatten)]
    pub resources: super::resource_flags::ResourceFlags,
    /// Memory reservation, CFS period and quota, memory nodes.
    #[command(flatten)]
    pub tunable: super::kernel_flags::TunableFlags,
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
        memory_reservation: args.tunable.memory_reservation()?,
        cpu_period: args.tunable.cpu_period,
        cpu_quota: args.tunable.cpu_quota,
        cpuset_mems: args.tunable.cpuset_mems.clone(),
        ..args.resources.parsed(true)?
    };
    let engine = super::engine(paths)?;
    super::each(&args.containers, |n| {
        engine.update_container(n, &u)?;
        Ok(n.to_owned())
    })
}
