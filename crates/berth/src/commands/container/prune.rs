//! `berth container prune [-f]`.

use berth_engine::Paths;
use clap::Args;

/// Remove all stopped containers.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

/// Runs `berth container prune`.
pub fn run(paths: &Paths, args: &PruneArgs) -> anyhow::Result<()> {
    if !args.force
        && !super::confirm(
            "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?",
        )
    {
        return Ok(());
    }
    let engine = super::engine(paths)?;
    let ids = engine.prune_containers()?;
    if !ids.is_empty() {
        println!("Deleted Containers:");
        for id in &ids {
            println!("{id}");
        }
        println!();
    }
    println!("Total reclaimed space: 0B");
    Ok(())
}
