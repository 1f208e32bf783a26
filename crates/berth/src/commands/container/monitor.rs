//! `berth __monitor ID DATA RUN`: the monitor of a detached container (internal).

use std::ffi::OsString;
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

/// `berth __monitor ID DATA RUN [--attach]` straight from `main`, before clap: the
/// monitor lives as long as its container, so it skips building clap's command tree
/// (startup time, and heap it would keep). `None` when `argv` is not a monitor's
/// command line of that exact shape; clap then handles it as usual.
pub fn fast_main(argv: &[OsString]) -> Option<ExitCode> {
    let (id, data, run, attach) = match argv {
        [_, cmd, id, data, run] if cmd == "__monitor" => (id, data, run, false),
        [_, cmd, id, data, run, flag] if cmd == "__monitor" && flag == "--attach" => {
            (id, data, run, true)
        }
        _ => return None,
    };
    let args = MonitorArgs {
        id: id.to_str()?.to_owned(),
        data: data.into(),
        run: run.into(),
        attach,
    };
    Some(main(&Paths::new(None, None), args))
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
