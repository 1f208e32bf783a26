//! `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: published ports.

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

/// Runs `berth port` (see [`crate::commands::network::port`]).
pub fn run(paths: &Paths, args: &PortArgs) -> anyhow::Result<()> {
    crate::commands::network::port::run(paths, &args.container, args.port.as_deref())
}
