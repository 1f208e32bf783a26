//! `berth image prune [-a] [-f]`.

use std::io::{BufRead as _, Write as _};

use berth_engine::Paths;
use clap::Args;

use crate::format;

/// Remove unused images.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all images not used by a container, not just dangling ones.
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

/// Runs `image prune`.
pub fn run(paths: &Paths, args: &PruneArgs) -> anyhow::Result<()> {
    if !args.force {
        let what = if args.all {
            "all images without at least one container associated to them"
        } else {
            "all dangling images"
        };
        eprint!("WARNING! This will remove {what}.\nAre you sure you want to continue? [y/N] ");
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            return Ok(());
        }
    }
    let engine = super::engine(paths)?;
    let rep = engine.prune_images(args.all)?;
    let mut out = std::io::stdout().lock();
    if !rep.untagged.is_empty() || !rep.deleted.is_empty() {
        writeln!(out, "Deleted Images:")?;
        for t in &rep.untagged {
            writeln!(out, "untagged: {}", berth_engine::images::familiar(t))?;
        }
        for d in &rep.deleted {
            writeln!(out, "deleted: {d}")?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "Total reclaimed space: {}",
        format::human_size(rep.reclaimed)
    )?;
    Ok(())
}
