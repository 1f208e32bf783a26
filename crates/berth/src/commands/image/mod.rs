//! Image commands: `pull`, `push`, `images`, `rmi`, `tag`, `history`, `save`, `load`,
//! `import`, `login`, `logout`, `search`, and the `berth image …` group.

pub mod history;
pub mod import;
pub mod inspect;
pub mod load;
pub mod login;
pub mod ls;
pub mod prune;
pub mod pull;
pub mod push;
pub mod rm;
pub mod save;
pub mod tag;

use std::io::Write as _;
use std::process::ExitCode;

use berth_engine::{Engine, Paths};
use clap::{Args, Subcommand};

/// `berth image COMMAND`.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// What to do with images.
    #[command(subcommand)]
    pub command: ImageCommand,
}

/// The `berth image` subcommands (Docker's names and aliases).
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ImageCommand {
    /// Load images from a tar archive or STDIN.
    Load(load::LoadArgs),
    /// Import a root filesystem tarball as an image.
    Import(import::ImportArgs),
    /// Download an image from a registry.
    Pull(pull::PullArgs),
    /// Upload an image to a registry.
    Push(push::PushArgs),
    /// List images.
    #[command(visible_alias = "list")]
    Ls(ls::ImagesArgs),
    /// Remove one or more images.
    #[command(visible_alias = "remove")]
    Rm(rm::RmiArgs),
    /// Create a tag TARGET that refers to SOURCE.
    Tag(tag::TagArgs),
    /// Display detailed information on one or more images.
    Inspect(inspect::InspectArgs),
    /// Show the history of an image.
    History(history::HistoryArgs),
    /// Save one or more images to a tar archive.
    Save(save::SaveArgs),
    /// Remove unused images.
    Prune(prune::PruneArgs),
    /// Build an image from a Dockerfile.
    Build(crate::commands::build::BuildArgs),
}

/// Runs `berth image …`.
pub fn main(paths: &Paths, args: ImageArgs) -> ExitCode {
    match args.command {
        ImageCommand::Load(a) => finish(load::run(paths, &a)),
        ImageCommand::Import(a) => finish(import::run(paths, &a)),
        ImageCommand::Pull(a) => finish(pull::run(paths, &a)),
        ImageCommand::Push(a) => finish(push::run(paths, &a)),
        ImageCommand::Ls(a) => finish(ls::run(paths, &a)),
        ImageCommand::Rm(a) => finish(rm::run(paths, &a)),
        ImageCommand::Tag(a) => finish(tag::run(paths, &a)),
        ImageCommand::Inspect(a) => finish(inspect::run(paths, &a)),
        ImageCommand::History(a) => finish(history::run(paths, &a)),
        ImageCommand::Save(a) => finish(save::run(paths, &a)),
        ImageCommand::Prune(a) => finish(prune::run(paths, &a)),
        ImageCommand::Build(a) => crate::commands::build::main(paths, &a),
    }
}

/// Opens the engine on berth's paths.
pub fn engine(paths: &Paths) -> anyhow::Result<Engine> {
    Ok(Engine::open(paths.clone())?)
}

/// Prints an error Docker's way and gives berth's own error status, 125.
pub fn finish(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "Error: {}", crate::error::render(&e));
            ExitCode::from(125)
        }
    }
}
