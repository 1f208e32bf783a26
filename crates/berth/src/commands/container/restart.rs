//! `berth restart [-s SIGNAL] [-t N] CONTAINER...`.

use berth_engine::Paths;
use clap::Args;

/// Restart one or more containers.
#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Seconds to wait before killing the container.
    #[arg(
        short = 't',
        long = "time",
        visible_alias = "timeout",
        allow_hyphen_values = true
    )]
    pub time: Option<i64>,
    /// Signal to send to the container.
    #[arg(short, long)]
    pub signal: Option<String>,
    /// Containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Runs `berth restart`.
pub fn run(paths: &Paths, args: &RestartArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    super::each(&args.containers, |n| {
        let id = engine.stop_container_with(n, args.time, args.signal.as_deref())?;
        engine.start_detached(&id)?;
        Ok(n.to_owned())
    })
}
