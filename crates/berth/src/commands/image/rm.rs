//! `berth rmi` / `berth image rm`.

use std::io::Write as _;

use berth_engine::Paths;
use clap::Args;

/// Remove one or more images.
#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Force removal of the image (even if containers use it, or it has several tags).
    #[arg(short, long)]
    pub force: bool,
    /// Do not delete untagged parents (accepted for compatibility).
    #[arg(long)]
    pub no_prune: bool,
    /// Images (tags, ids, id prefixes).
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// Runs `rmi`: every image is tried; the first error decides the exit status.
pub fn run(paths: &Paths, args: &RmiArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    let mut out = std::io::stdout().lock();
    let mut errors = Vec::new();
    for name in &args.images {
        match engine.remove_image(name, args.force) {
            Ok(rep) => {
                for t in rep.untagged {
                    writeln!(out, "Untagged: {}", berth_engine::images::familiar(&t))?;
                }
                for d in rep.deleted {
                    writeln!(out, "Deleted: {d}")?;
                }
            }
            Err(e) => errors.push(anyhow::Error::new(e)),
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => anyhow::bail!(
            "{}",
            errors
                .iter()
                .map(crate::error::render)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}
