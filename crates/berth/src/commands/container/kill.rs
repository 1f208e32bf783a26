//! `berth kill [-s SIGNAL] CONTAINER...`.

use berth_engine::Paths;
use clap::Args;

/// Kill one or more running containers.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal to send to the container.
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
    /// Containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Runs `berth kill`.
pub fn run(paths: &Paths, args: &KillArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    super::each(&args.containers, |n| {
        engine.kill_container(n, &args.signal)?;
        Ok(n.to_owned())
    })
}
