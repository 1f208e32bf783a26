//! Container and volume commands: `run`, `create`, `start`, `ps`, `stop`, `kill`,
//! `restart`, `rm`, `logs`, `inspect`, `exec`, `wait`, `attach`, `pause`, `unpause`,
//! `rename`, `top`, `container prune`, `volume …`, and the hidden `__monitor`.

pub mod attach;
pub mod commit;
pub mod cp;
pub mod create;
pub mod diff;
pub mod events;
pub mod exec;
pub mod export;
pub mod health;
pub mod inspect;
pub mod kernel_flags;
pub mod kill;
pub mod logs;
pub mod monitor;
pub mod pause;
pub mod port;
pub mod prune;
pub mod ps;
pub mod rename;
pub mod resource_flags;
pub mod restart;
pub mod rm;
pub mod run;
pub mod sig_proxy;
pub mod start;
pub mod stats;
pub mod stop;
pub mod streams;
pub mod top;
pub mod update;
pub mod volume;
pub mod wait;

use std::io::Write as _;
use std::process::ExitCode;

use berth_engine::{Engine, Paths};
use clap::{Args, Subcommand};

/// `berth container COMMAND`.
#[derive(Debug, Args)]
pub struct ContainerArgs {
    /// What to do with containers.
    #[command(subcommand)]
    pub command: ContainerCommand,
}

/// The `berth container` subcommands.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ContainerCommand {
    /// Create and run a new container from an image.
    Run(run::RunArgs),
    /// Create a new container.
    Create(create::CreateArgs),
    /// Start one or more stopped containers.
    Start(start::StartArgs),
    /// List containers.
    #[command(visible_aliases = ["list", "ps"])]
    Ls(ps::PsArgs),
    /// Stop one or more running containers.
    Stop(stop::StopArgs),
    /// Kill one or more running containers.
    Kill(kill::KillArgs),
    /// Restart one or more containers.
    Restart(restart::RestartArgs),
    /// Remove one or more containers.
    #[command(visible_alias = "remove")]
    Rm(rm::RmArgs),
    /// Fetch the logs of a container.
    Logs(logs::LogsArgs),
    /// Display detailed information on one or more containers.
    Inspect(inspect::InspectArgs),
    /// Execute a command in a running container.
    Exec(exec::ExecArgs),
    /// Block until one or more containers stop, then print their exit codes.
    Wait(wait::WaitArgs),
    /// Attach local standard input, output, and error streams to a running container.
    Attach(attach::AttachArgs),
    /// Pause all processes within one or more containers.
    Pause(pause::PauseArgs),
    /// Unpause all processes within one or more containers.
    Unpause(pause::PauseArgs),
    /// Rename a container.
    Rename(rename::RenameArgs),
    /// Display the running processes of a container.
    Top(top::TopArgs),
    /// Remove all stopped containers.
    Prune(prune::PruneArgs),
    /// Create a new image from a container's changes.
    Commit(commit::CommitArgs),
    /// Copy files/folders between a container and the local filesystem.
    Cp(cp::CpArgs),
    /// Inspect changes to files or directories on a container's filesystem.
    Diff(diff::DiffArgs),
    /// Export a container's filesystem as a tar archive.
    Export(export::ExportArgs),
    /// Display container resource usage statistics.
    Stats(stats::StatsArgs),
    /// List port mappings for the container.
    Port(port::PortArgs),
    /// Update configuration of one or more containers.
    Update(update::UpdateArgs),
}

/// Runs `berth container …`.
pub fn main(paths: &Paths, args: ContainerArgs) -> ExitCode {
    use ContainerCommand as C;
    match args.command {
        C::Run(a) => run::main(paths, a),
        C::Create(a) => create::main(paths, a),
        C::Start(a) => start::main(paths, a),
        C::Ls(a) => done(ps::run(paths, &a)),
        C::Stop(a) => done(stop::run(paths, &a)),
        C::Kill(a) => done(kill::run(paths, &a)),
        C::Restart(a) => done(restart::run(paths, &a)),
        C::Rm(a) => done(rm::run(paths, &a)),
        C::Logs(a) => done(logs::run(paths, &a)),
        C::Inspect(a) => done(inspect::run(paths, &a)),
        C::Exec(a) => exec::main(paths, a),
        C::Wait(a) => done(wait::run(paths, &a)),
        C::Attach(a) => attach::main(paths, a),
        C::Pause(a) => done(pause::run(paths, &a, true)),
        C::Unpause(a) => done(pause::run(paths, &a, false)),
        C::Rename(a) => done(rename::run(paths, &a)),
        C::Top(a) => done(top::run(paths, &a)),
        C::Prune(a) => done(prune::run(paths, &a)),
        C::Commit(a) => done(commit::run(paths, &a)),
        C::Cp(a) => done(cp::run(paths, &a)),
        C::Diff(a) => done(diff::run(paths, &a)),
        C::Export(a) => done(export::run(paths, &a)),
        C::Stats(a) => done(stats::run(paths, &a)),
        C::Port(a) => done(port::run(paths, &a)),
        C::Update(a) => done(update::run(paths, &a)),
    }
}

/// Opens the engine.
pub fn engine(paths: &Paths) -> anyhow::Result<Engine> {
    Ok(Engine::open(paths.clone())?)
}

/// Prints an error as Docker does (`Error: …`).
pub fn print_error(e: &anyhow::Error) {
    let _ = writeln!(std::io::stderr(), "Error: {}", crate::error::render(e));
}

/// Docker's status for an error of `run`/`create`/`start`/`exec`: 126/127 when the
/// program could not run, 125 otherwise.
pub fn status_of(e: &anyhow::Error) -> u8 {
    e.downcast_ref::<berth_engine::Error>()
        .map_or(125, |e| u8::try_from(e.exit_status()).unwrap_or(125))
}

/// Ends `attach` or `exec` after the user typed the detach keys, as Docker's CLI does:
/// it says "read escape sequence" and exits 1 (`run -it` and `start -a` exit 0
/// silently). The container, and an exec'd process, run on.
pub fn detached_by_keys() -> ExitCode {
    let _ = writeln!(std::io::stderr(), "read escape sequence");
    ExitCode::from(1)
}

/// Ends a command that Docker fails with status 1 (errors from the engine).
pub fn done(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.is::<Reported>() {
                print_error(&e);
            }
            ExitCode::from(1)
        }
    }
}

/// An exit code from a container's status (0–255).
pub fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code.rem_euclid(256)).unwrap_or(1))
}

/// Applies `f` to each name; prints what `f` returns, reports each failure, and fails
/// at the end if any did (Docker's behaviour for `stop a b c`).
pub fn each(
    names: &[String],
    mut f: impl FnMut(&str) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    let mut failed = 0;
    for n in names {
        match f(n) {
            Ok(out) => {
                if !out.is_empty() {
                    println!("{out}");
                }
            }
            Err(e) => {
                print_error(&e);
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(Reported.into());
    }
    Ok(())
}

/// An error already printed (per name); only the exit status is left to give.
#[derive(Debug)]
pub struct Reported;

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("errors were reported above")
    }
}

impl std::error::Error for Reported {}

/// Asks `question` on stderr and reads y/N from stdin.
pub fn confirm(question: &str) -> bool {
    let _ = write!(std::io::stderr(), "{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    matches!(line.trim(), "y" | "Y" | "yes")
}
