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
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable.
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    /// Limit the CPU real-time period in microseconds.
    #[arg(long)]
    pub cpu_rt_period: Option<i64>,
    /// Limit the CPU real-time runtime in microseconds.
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
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
        blkio_weight: args.blkio_weight,
        cpu_rt_period: args.cpu_rt_period,
        cpu_rt_runtime: args.cpu_rt_runtime,
        ..args.resources.parsed(true)?
    };
    let engine = super::engine(paths)?;
    super::each(&args.containers, |n| {
        engine.update_container(n, &u)?;
        Ok(n.to_owned())
    })
}
