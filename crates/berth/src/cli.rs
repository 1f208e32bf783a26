//! The command line: global options and the command tree.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::container;
use crate::commands::image;
use crate::commands::network;
use crate::commands::oci::OciArgs;

/// berth: run containers like Docker, without a daemon.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, propagate_version = true)]
pub struct Cli {
    /// Keep all of berth's state (data and runtime state) under DIR.
    #[arg(long, env = "BERTH_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Keep the runtime state of live containers under DIR instead (default:
    /// /run/berth, or DIR/run under --root). A tmpfs, as /run is, keeps it off the disk.
    #[arg(long, env = "BERTH_RUNROOT", value_name = "DIR")]
    pub runroot: Option<PathBuf>,
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
// Parsed once per process: boxing the big variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// The runc-compatible OCI runtime (also reachable as `berth-runc`).
    Oci(Box<OciArgs>),
    /// Show berth's version and what this host supports.
    Version(crate::commands::system::info::VersionArgs),
    // system commands
    /// Display system-wide information.
    Info(crate::commands::system::info::InfoArgs),
    /// Manage berth: disk usage, clean-up, information, events.
    System(crate::commands::system::SystemArgs),
    /// Manage builds (the build cache).
    Builder(crate::commands::system::BuilderArgs),
    // end of system commands
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
    // container commands
    /// Create and run a new container from an image.
    Run(container::run::RunArgs),
    /// Create a new container.
    Create(container::create::CreateArgs),
    /// Start one or more stopped containers.
    Start(container::start::StartArgs),
    /// List containers.
    Ps(container::ps::PsArgs),
    /// Stop one or more running containers.
    Stop(container::stop::StopArgs),
    /// Kill one or more running containers.
    Kill(container::kill::KillArgs),
    /// Restart one or more containers.
    Restart(container::restart::RestartArgs),
    /// Remove one or more containers.
    Rm(container::rm::RmArgs),
    /// Fetch the logs of a container.
    Logs(container::logs::LogsArgs),
    /// Display detailed information on containers (and volumes).
    Inspect(container::inspect::InspectArgs),
    /// Execute a command in a running container.
    Exec(container::exec::ExecArgs),
    /// Block until one or more containers stop, then print their exit codes.
    Wait(container::wait::WaitArgs),
    /// Attach to a running container.
    Attach(container::attach::AttachArgs),
    /// Pause all processes within one or more containers.
    Pause(container::pause::PauseArgs),
    /// Unpause all processes within one or more containers.
    Unpause(container::pause::PauseArgs),
    /// Rename a container.
    Rename(container::rename::RenameArgs),
    /// Display the running processes of a container.
    Top(container::top::TopArgs),
    /// Create a new image from a container's changes.
    Commit(container::commit::CommitArgs),
    /// Copy files/folders between a container and the local filesystem.
    Cp(container::cp::CpArgs),
    /// Inspect changes to files or directories on a container's filesystem.
    Diff(container::diff::DiffArgs),
    /// Export a container's filesystem as a tar archive.
    Export(container::export::ExportArgs),
    /// Get real time events from berth.
    Events(container::events::EventsArgs),
    /// Display container resource usage statistics.
    Stats(container::stats::StatsArgs),
    /// List port mappings for the container.
    Port(container::port::PortArgs),
    /// Update configuration of one or more containers.
    Update(container::update::UpdateArgs),
    /// Manage containers.
    Container(container::ContainerArgs),
    /// Manage volumes.
    Volume(container::volume::VolumeArgs),
    /// Internal: the monitor of a detached container.
    #[command(name = "__monitor", hide = true)]
    Monitor(container::monitor::MonitorArgs),
    /// Internal: berth as a container's init (`--init`).
    #[command(name = "__init", hide = true)]
    Init(container::monitor::InitArgs),
    // end of container commands
    // network commands
    /// Manage networks.
    Network(network::NetworkArgs),
    /// Internal: the resolver of a user network.
    #[command(name = "__dns", hide = true)]
    Dns(network::DnsArgs),
    /// Internal: the userspace port proxy of a container.
    #[command(name = "__proxy", hide = true)]
    Proxy(network::ProxyArgs),
    // end of network commands
    // compose commands
    /// Define and run multi-container applications.
    Compose(crate::commands::compose::ComposeArgs),
    // end of compose commands
}

/// Docker exits 125 for its own usage errors; the runc surface exits 1 like runc.
pub fn usage_exit_code(args: &[std::ffi::OsString]) -> u8 {
    if args.iter().skip(1).any(|a| a == "oci") {
        1
    } else {
        125
    }
}
