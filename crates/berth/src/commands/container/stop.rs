//! `berth stop [-s SIGNAL] [-t N] CONTAINER...`.

use berth_engine::Paths;
use clap::Args;

/// Stop one or more running containers.
#[derive(Debug, Args)]
pub struct StopArgs {
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

/// Runs `berth stop`.
pub fn run(paths: &Paths, args: &StopArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    super::each(&args.containers, |n| {
        engine.stop_container_with(n, args.time, args.signal.as_deref())?;
        Ok(n.to_owned())
    })
}
