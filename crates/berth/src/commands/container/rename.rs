//! `berth rename CONTAINER NEW_NAME`.

use berth_engine::Paths;
use clap::Args;

/// Rename a container.
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The container.
    pub container: String,
    /// Its new name.
    pub new_name: String,
}

/// Runs `berth rename`.
pub fn run(paths: &Paths, args: &RenameArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    engine.rename_container(&args.container, &args.new_name)?;
    Ok(())
}
