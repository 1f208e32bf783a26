//! `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: published ports. berth does not
//! publish ports yet (networking is separate work), so the list is always empty.

use berth_engine::Paths;
use clap::Args;

/// List port mappings or a specific mapping for the container.
#[derive(Debug, Args)]
pub struct PortArgs {
    /// The container.
    pub container: String,
    /// A private port (`80` or `80/tcp`).
    pub port: Option<String>,
}

/// Runs `berth port`.
pub fn run(paths: &Paths, args: &PortArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    engine.container(&args.container)?;
    if let Some(p) = &args.port {
        anyhow::bail!("no public port '{p}' published for {}", args.container);
    }
    Ok(())
}
