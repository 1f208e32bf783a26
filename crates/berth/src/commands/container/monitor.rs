//! `berth __monitor ID DATA RUN`: the monitor of a detached container (internal).

use std::path::PathBuf;
use std::process::ExitCode;

use berth_engine::Paths;
use clap::Args;

/// Internal: the monitor of a detached container.
#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Container id.
    pub id: String,
    /// Data directory.
    pub data: PathBuf,
    /// Run directory.
    pub run: PathBuf,
    /// Wait for the first attach client before starting the container.
    #[arg(long)]
    pub attach: bool,
}

/// Runs the monitor until the container is gone.
pub fn main(paths: &Paths, args: MonitorArgs) -> ExitCode {
    let paths = Paths {
        data: args.data,
        run: args.run,
        config: paths.config.clone(),
    };
    super::exit(berth_engine::containers::monitor::main(
        &args.id,
        paths,
        args.attach,
    ))
}

/// Internal: berth as a container's init (`--init`).
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The program and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

/// Runs the init until the program exits; exits with its status.
pub fn init(args: &InitArgs) -> ExitCode {
    super::exit(berth_engine::containers::init::run(&args.command))
}
