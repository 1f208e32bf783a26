//! `berth compose …`: parses the flags, loads the project with `berth_compose`, lets
//! `berth_compose::run::Compose` do the work, and prints Docker Compose's lines
//! (` ✔ Container shop-web-1  Started` on a terminal, plain text otherwise).

pub mod build;
pub mod control;
pub mod exec;
pub mod lifecycle;
pub mod logs;
pub mod observe;
pub mod ps;
pub mod up;

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use berth_compose::find::ProjectOptions;
use berth_compose::load::{self, Project};
use berth_compose::run::Event;
use berth_engine::{Engine, Paths};
use clap::{Args, Subcommand};

/// `berth compose [OPTIONS] COMMAND`.
#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// Compose configuration files (several are merged in order).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Project name.
    #[arg(short = 'p', long = "project-name")]
    pub project_name: Option<String>,
    /// Alternate working directory (default: the first file's directory).
    #[arg(long)]
    pub project_directory: Option<PathBuf>,
    /// Alternate environment files (instead of .env).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Profiles to enable.
    #[arg(long = "profile")]
    pub profiles: Vec<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: ComposeCommand,
}

/// The `compose` subcommands.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ComposeCommand {
    /// Create and start containers.
    Up(up::UpArgs),
    /// Stop and remove containers, networks (and volumes, images).
    Down(up::DownArgs),
    /// List containers.
    Ps(ps::PsArgs),
    /// View output from containers.
    Logs(logs::LogsArgs),
    /// Build or rebuild services.
    Build(build::BuildArgs),
    /// Pull service images.
    Pull(build::ServicesArgs),
    /// Push service images.
    Push(build::ServicesArgs),
    /// Print the resolved model (canonical format).
    #[command(visible_alias = "convert")]
    Config(build::ConfigArgs),
    /// Execute a command in a running container.
    Exec(exec::ExecArgs),
    /// Run a one-off command on a service.
    Run(exec::RunArgs),
    /// Start services.
    Start(lifecycle::ServicesArgs),
    /// Stop services.
    Stop(lifecycle::StopArgs),
    /// Restart service containers.
    Restart(lifecycle::StopArgs),
    /// Removes stopped service containers.
    Rm(lifecycle::RmArgs),
    /// Force stop service containers.
    Kill(lifecycle::KillArgs),
    /// Display the running processes.
    Top(lifecycle::ServicesArgs),
    /// List images used by the created containers.
    Images(lifecycle::ServicesArgs),
    /// Print the public port for a port binding.
    Port(ps::PortArgs),
    /// List running compose projects.
    Ls(ps::LsArgs),
    /// Pause services.
    Pause(lifecycle::ServicesArgs),
    /// Unpause services.
    Unpause(lifecycle::ServicesArgs),
    /// Block until the first service container stops.
    Wait(control::WaitArgs),
    /// Creates containers for a service.
    Create(control::CreateArgs),
    /// Attach local standard input, output, and error streams to a service's running container.
    Attach(control::ComposeAttachArgs),
    /// Show the berth compose version information.
    Version(control::VersionArgs),
    /// Receive real time events from containers.
    Events(observe::EventsArgs),
    /// Display a live stream of container(s) resource usage statistics.
    Stats(observe::ComposeStatsArgs),
    /// Copy files/folders between a service container and the local filesystem.
    Cp(observe::ComposeCpArgs),
}

/// Runs `berth compose …`.
pub fn main(paths: &Paths, args: ComposeArgs) -> ExitCode {
    use ComposeCommand as C;
    let g = &args;
    let r = match &args.command {
        C::Up(a) => return up::up(paths, g, a),
        C::Down(a) => up::down(paths, g, a),
        C::Ps(a) => ps::ps(paths, g, a),
        C::Logs(a) => logs::run(paths, g, a),
        C::Build(a) => build::build(paths, g, a),
        C::Pull(a) => build::pull(paths, g, a),
        C::Push(a) => build::push(paths, g, a),
        C::Config(a) => build::config(g, a),
        C::Exec(a) => return exec::exec(paths, g, a),
        C::Run(a) => return exec::run(paths, g, a),
        C::Start(a) => lifecycle::start(paths, g, a),
        C::Stop(a) => lifecycle::stop(paths, g, a, false),
        C::Restart(a) => lifecycle::stop(paths, g, a, true),
        C::Rm(a) => lifecycle::rm(paths, g, a),
        C::Kill(a) => lifecycle::kill(paths, g, a),
        C::Top(a) => lifecycle::top(paths, g, a),
        C::Images(a) => lifecycle::images(paths, g, a),
        C::Port(a) => ps::port(paths, g, a),
        C::Ls(a) => ps::ls(paths, a),
        C::Pause(a) => control::pause(paths, g, a, true),
        C::Unpause(a) => control::pause(paths, g, a, false),
        C::Wait(a) => return control::wait(paths, g, a),
        C::Create(a) => control::create(paths, g, a),
        C::Attach(a) => return control::attach(paths, g, a),
        C::Version(a) => control::version(a),
        C::Events(a) => observe::events(paths, g, a),
        C::Stats(a) => observe::stats(paths, g, a),
        C::Cp(a) => observe::cp(paths, g, a),
    };
    super::container::done(r)
}

/// Loads the project the global flags describe and prints its warnings.
pub fn project(g: &ComposeArgs) -> anyhow::Result<Project> {
    let opts = ProjectOptions {
        working_dir: std::env::current_dir()?,
        files: g.files.clone(),
        project_directory: g.project_directory.clone(),
        project_name: g.project_name.clone(),
        env_files: g.env_files.clone(),
        profiles: g.profiles.clone(),
        environment: std::env::vars().collect(),
    };
    let p = load::load(&opts)?;
    let mut err = std::io::stderr().lock();
    for w in &p.warnings {
        let _ = writeln!(err, "WARN[0000] {w}");
    }
    Ok(p)
}

/// Opens the engine and loads the project.
pub fn open(paths: &Paths, g: &ComposeArgs) -> anyhow::Result<(Engine, Project)> {
    let p = project(g)?;
    let engine = Engine::open(paths.clone())?;
    Ok((engine, p))
}

/// Prints events as Docker Compose does: finished steps only, on stderr; a green check
/// on a terminal, plain text otherwise.
pub fn printer() -> impl FnMut(Event) {
    let tty = std::io::stderr().is_terminal();
    move |e: Event| {
        if !e.done {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = if tty {
            let mark = if e.status == "Error" {
                "\x1b[31m✘\x1b[0m"
            } else {
                "\x1b[32m✔\x1b[0m"
            };
            writeln!(err, " {mark} {} {}  {}", e.kind.as_str(), e.name, e.status)
        } else {
            writeln!(err, " {} {}  {}", e.kind.as_str(), e.name, e.status)
        };
    }
}

/// Splits `--scale`/`-e` style `KEY=VALUE`.
pub fn key_value(s: &str, flag: &str) -> anyhow::Result<(String, String)> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| anyhow::anyhow!("invalid {flag} value {s:?}\nhint: use KEY=VALUE"))
}
