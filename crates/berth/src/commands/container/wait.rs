//! `berth wait CONTAINER...`: prints each exit code.

use berth_engine::Paths;
use clap::Args;

/// Block until one or more containers stop, then print their exit codes.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Runs `berth wait`.
pub fn run(paths: &Paths, args: &WaitArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    super::each(&args.containers, |n| {
        let st = engine.wait_exit(n, None)?;
        Ok(st.exit_code.unwrap_or(0).to_string())
    })
}
