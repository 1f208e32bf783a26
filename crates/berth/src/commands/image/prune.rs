//! `berth image prune [-a] [-f]`.

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
    let what = if args.all {
        "all images without at least one container associated to them"
    } else {
        "all dangling images"
    };
    if !args.force
        && !crate::commands::container::confirm(&format!(
            "WARNING! This will remove {what}.\nAre you sure you want to continue?"
        ))
    {
        return Ok(());
    }
    let engine = super::engine(paths)?;
    let rep = engine.prune_images(args.all)?;
    print_report(&rep);
    println!(
        "Total reclaimed space: {}",
        format::human_size(rep.reclaimed)
    );
    Ok(())
}

/// The `Deleted Images:` block of a prune report (nothing when nothing went).
pub fn print_report(rep: &berth_store::PruneReport) {
    let lines: Vec<String> = rep
        .untagged
        .iter()
        .map(|t| format!("untagged: {}", berth_engine::images::familiar(t)))
        .chain(rep.deleted.iter().map(|d| format!("deleted: {d}")))
        .collect();
    format::print_deleted("Deleted Images:", &lines);
}
