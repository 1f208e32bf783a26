//! `berth system prune [-a] [-f] [--volumes] [--filter]` and `berth builder prune`.

use berth_engine::Paths;
use clap::Args;

use crate::commands::container::{confirm, engine};
use crate::format::{human_size, print_deleted};

/// Remove unused data.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones, and all build cache.
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
    /// Prune anonymous volumes too.
    #[arg(long)]
    pub volumes: bool,
    /// Provide filter values for the containers (e.g. "until=<timestamp>", "label=<key>=<value>").
    #[arg(long)]
    pub filter: Vec<String>,
}

/// Remove build cache.
#[derive(Debug, Args)]
pub struct BuilderPruneArgs {
    /// Remove all build cache, not just the layers no image uses.
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

/// Runs `berth system prune`: stopped containers, unused networks, dangling (or with
/// `-a` unused) images, the build cache, and with `--volumes` anonymous volumes.
pub fn run(paths: &Paths, args: &PruneArgs) -> anyhow::Result<()> {
    if !args.force {
        let mut warning = String::from(
            "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n",
        );
        if args.volumes {
            warning.push_str("  - all anonymous volumes not used by at least one container\n");
        }
        warning.push_str(if args.all {
            "  - all images without at least one container associated to them\n  - all build cache\n"
        } else {
            "  - all dangling images\n  - all dangling build cache\n"
        });
        if !confirm(&format!("{warning}\nAre you sure you want to continue?")) {
            return Ok(());
        }
    }
    let engine = engine(paths)?;
    let (containers, mut reclaimed) =
        crate::commands::container::prune::prune_stopped(&engine, &args.filter)?;
    print_deleted("Deleted Containers:", &containers);
    print_deleted("Deleted Networks:", &engine.prune_networks()?);
    if args.volumes {
        let removed = engine.prune_volumes(false)?;
        reclaimed += removed.iter().map(|(_, b)| b).sum::<u64>();
        let names: Vec<String> = removed.into_iter().map(|(n, _)| n).collect();
        print_deleted("Deleted Volumes:", &names);
    }
    let images = engine.prune_images(args.all)?;
    crate::commands::image::prune::print_report(&images);
    reclaimed += images.reclaimed;
    let cache = berth_build::Cache::open(&paths.data)?.prune(&engine, args.all)?;
    print_cache(&cache);
    reclaimed += cache.reclaimed;
    println!("Total reclaimed space: {}", human_size(reclaimed));
    Ok(())
}

/// Runs `berth builder prune`.
pub fn builder(paths: &Paths, args: &BuilderPruneArgs) -> anyhow::Result<()> {
    let what = if args.all {
        "all build cache"
    } else {
        "all dangling build cache"
    };
    if !args.force
        && !confirm(&format!(
            "WARNING! This will remove {what}.\nAre you sure you want to continue?"
        ))
    {
        return Ok(());
    }
    let engine = engine(paths)?;
    let cache = berth_build::Cache::open(&paths.data)?.prune(&engine, args.all)?;
    print_cache(&cache);
    println!("Total:\t{}", human_size(cache.reclaimed));
    Ok(())
}

fn print_cache(c: &berth_build::CachePruned) {
    let mut lines: Vec<String> = c.layers.clone();
    if c.entries > 0 {
        lines.push(format!("{} cache entries", c.entries));
    }
    print_deleted("Deleted build cache objects:", &lines);
}
