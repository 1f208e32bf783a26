//! `berth diff CONTAINER`: `A`/`C`/`D` lines like Docker's.

use berth_engine::Paths;
use clap::Args;

/// Inspect changes to files or directories on a container's filesystem.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The container.
    pub container: String,
}

/// Runs `berth diff`.
pub fn run(paths: &Paths, args: &DiffArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    for c in engine.container_diff(&args.container)? {
        println!("{} {}", c.kind.letter(), c.path);
    }
    Ok(())
}
