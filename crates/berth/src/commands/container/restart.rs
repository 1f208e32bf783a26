//! `berth restart [-t N] CONTAINER...`.

use berth_engine::Paths;
use clap::Args;

/// Restart one or more containers.
#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Seconds to wait before killing the container.
    #[arg(short = 't', long = "time", visible_alias = "timeout")]
    pub time: Option<i64>,
    /// Containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Runs `berth restart`.
pub fn run(paths: &Paths, args: &RestartArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    super::each(&args.containers, |n| {
        let id = engine.stop_container(n, args.time)?;
        engine.start_detached(&id)?;
        Ok(n.to_owned())
    })
}
