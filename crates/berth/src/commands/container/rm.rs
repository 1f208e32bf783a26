//! `berth rm [-f] [-v] CONTAINER...`.

use berth_engine::Paths;
use clap::Args;

/// Remove one or more containers.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL).
    #[arg(short, long)]
    pub force: bool,
    /// Remove anonymous volumes associated with the container.
    #[arg(short, long)]
    pub volumes: bool,
    /// Containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Runs `berth rm`.
pub fn run(paths: &Paths, args: &RmArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    super::each(&args.containers, |n| {
        engine.remove_container(n, args.force, args.volumes)?;
        Ok(n.to_owned())
    })
}
