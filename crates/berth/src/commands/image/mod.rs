//! Image commands: `pull`, `push`, `images`, `rmi`, `tag`, `history`, `save`, `load`,
//! `import`, `login`, `logout`, `search`, and the `berth image …` group.

pub mod import;
pub mod load;
pub mod pull;

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
pub enum ImageCommand {
    /// Load images from a tar archive or STDIN.
    Load(load::LoadArgs),
    /// Import a root filesystem tarball as an image.
    Import(import::ImportArgs),
    /// Download an image from a registry.
    Pull(pull::PullArgs),
}

/// Runs `berth image …`.
pub fn main(paths: &Paths, args: ImageArgs) -> ExitCode {
    match args.command {
        ImageCommand::Load(a) => finish(load::run(paths, &a)),
        ImageCommand::Import(a) => finish(import::run(paths, &a)),
        ImageCommand::Pull(a) => finish(pull::run(paths, &a)),
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
