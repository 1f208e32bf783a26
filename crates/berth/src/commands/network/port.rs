//! `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`.

use berth_engine::Paths;
use clap::Args;

use crate::commands::container as ctr;

/// List port mappings or a specific mapping for the container.
#[derive(Debug, Args)]
pub struct PortArgs {
    /// The container.
    pub container: String,
    /// A private port (`80` or `80/tcp`).
    pub port: Option<String>,
}

/// Prints Docker's lines: `80/tcp -> 0.0.0.0:32768`.
pub fn run(paths: &Paths, args: &PortArgs) -> anyhow::Result<()> {
    let engine = ctr::engine(paths)?;
    let rec = engine.store().get_container(&args.container)?;
    match berth_engine::networks::ports::port_lines(&rec.state, args.port.as_deref())? {
        Some(lines) => {
            for l in lines {
                println!("{l}");
            }
            Ok(())
        }
        None => anyhow::bail!(
            "no public port '{}' published for {}",
            args.port.as_deref().unwrap_or_default(),
            rec.name
        ),
    }
}
