//! The command line: global options and the command tree.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::image;
use crate::commands::oci::OciArgs;

/// berth: run containers like Docker, without a daemon.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, propagate_version = true)]
pub struct Cli {
    /// Keep all of berth's state (data and runtime state) under DIR.
    #[arg(long, env = "BERTH_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Configuration file (default: /etc/berth/config.toml, or under --root).
    #[arg(long, env = "BERTH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How much berth itself logs to stderr: error, warn, info, debug.
    #[arg(long, default_value = "warn", value_parser = ["error", "warn", "info", "debug", "trace"])]
    pub log_level: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// berth's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The runc-compatible OCI runtime (also reachable as `berth-runc`).
    Oci(OciArgs),
    /// Show berth's version and what this host supports.
    Version,
    // image commands
    /// Manage images.
    Image(image::ImageArgs),
    /// Load images from a tar archive or STDIN.
    Load(image::load::LoadArgs),
    /// Import a root filesystem tarball as an image.
    Import(image::import::ImportArgs),
    /// Download an image from a registry.
    Pull(image::pull::PullArgs),
    /// Upload an image to a registry.
    Push(image::push::PushArgs),
    /// List images.
    Images(image::ls::ImagesArgs),
    /// Remove one or more images.
    Rmi(image::rm::RmiArgs),
    /// Create a tag TARGET that refers to SOURCE.
    Tag(image::tag::TagArgs),
    /// Show the history of an image.
    History(image::history::HistoryArgs),
    /// Save one or more images to a tar archive.
    Save(image::save::SaveArgs),
    /// Log in to a registry.
    Login(image::login::LoginArgs),
    /// Log out from a registry.
    Logout(image::login::LogoutArgs),
    /// Search a registry for images.
    Search(image::login::SearchArgs),
    // end of image commands
    // build command
    /// Build an image from a Dockerfile.
    Build(crate::commands::build::BuildArgs),
    // end of build command
}

/// Docker exits 125 for its own usage errors; the runc surface exits 1 like runc.
pub fn usage_exit_code(args: &[std::ffi::OsString]) -> u8 {
    if args.iter().skip(1).any(|a| a == "oci") {
        1
    } else {
        125
    }
}
