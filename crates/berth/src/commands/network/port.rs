//! `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`.

use berth_engine::Paths;

use crate::commands::container as ctr;

/// Prints Docker's lines: `80/tcp -> 0.0.0.0:32768`.
pub fn run(paths: &Paths, container: &str, port: Option<&str>) -> anyhow::Result<()> {
    let engine = ctr::engine(paths)?;
    let rec = engine.store().get_container(container)?;
    match berth_engine::networks::ports::port_lines(&rec.state, port)? {
        Some(lines) => {
            for l in lines {
                println!("{l}");
            }
            Ok(())
        }
        None => anyhow::bail!(
            "no public port '{}' published for {}",
            port.unwrap_or_default(),
            rec.name
        ),
    }
}
