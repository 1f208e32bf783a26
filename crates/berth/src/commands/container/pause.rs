//! `berth pause` / `berth unpause CONTAINER...`.

use berth_engine::Paths;
use clap::Args;

/// Pause (or unpause) all processes within one or more containers.
#[derive(Debug, Args)]
pub struct PauseArgs {
    /// Containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Runs `berth pause` (`pause` true) or `berth unpause`.
pub fn run(paths: &Paths, args: &PauseArgs, pause: bool) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    super::each(&args.containers, |n| {
        engine.pause_container(n, pause)?;
        Ok(n.to_owned())
    })
}
