//! `berth commit [-a AUTHOR] [-c CHANGE] [-m MESSAGE] [-p] CONTAINER [REPOSITORY[:TAG]]`.

use berth_engine::Paths;
use berth_engine::containers::commit::CommitOptions;
use clap::Args;

/// Create a new image from a container's changes.
#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>").
    #[arg(short, long)]
    pub author: Option<String>,
    /// Apply Dockerfile instruction to the created image.
    #[arg(short, long)]
    pub change: Vec<String>,
    /// Commit message.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Pause container during commit.
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set)]
    pub pause: bool,
    /// The container.
    pub container: String,
    /// REPOSITORY[:TAG] for the new image.
    pub reference: Option<String>,
}

/// Runs `berth commit`: prints the new image id.
pub fn run(paths: &Paths, args: &CommitArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    let id = engine.commit_container(
        &args.container,
        &CommitOptions {
            reference: args.reference.clone(),
            message: args.message.clone(),
            author: args.author.clone(),
            changes: args.change.clone(),
            pause: args.pause,
        },
    )?;
    println!("{id}");
    Ok(())
}
