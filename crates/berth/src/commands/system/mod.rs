//! `berth system df|prune|info|events`, `berth info`, `berth version` and
//! `berth builder prune`: reports and clean-up across every kind of object.

pub mod df;
pub mod info;
pub mod prune;

use std::process::ExitCode;

use berth_engine::Paths;
use clap::{Args, Subcommand};

use crate::commands::container::{self, done};

/// Manage berth.
#[derive(Debug, Args)]
pub struct SystemArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SystemCommand,
}

/// `berth system` subcommands.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum SystemCommand {
    /// Show berth disk usage.
    Df(df::DfArgs),
    /// Remove unused data.
    Prune(prune::PruneArgs),
    /// Display system-wide information.
    Info(info::InfoArgs),
    /// Get real time events.
    Events(container::events::EventsArgs),
}

/// Manage builds.
#[derive(Debug, Args)]
pub struct BuilderArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: BuilderCommand,
}

/// `berth builder` subcommands.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum BuilderCommand {
    /// Remove build cache.
    Prune(prune::BuilderPruneArgs),
}

/// Runs `berth system …`.
pub fn main(paths: &Paths, args: SystemArgs) -> ExitCode {
    match args.command {
        SystemCommand::Df(a) => done(df::run(paths, &a)),
        SystemCommand::Prune(a) => done(prune::run(paths, &a)),
        SystemCommand::Info(a) => done(info::info(paths, &a)),
        SystemCommand::Events(a) => done(container::events::run(paths, &a)),
    }
}

/// Runs `berth builder …`.
pub fn builder(paths: &Paths, args: BuilderArgs) -> ExitCode {
    match args.command {
        BuilderCommand::Prune(a) => done(prune::builder(paths, &a)),
    }
}
