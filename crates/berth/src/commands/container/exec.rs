//! `berth exec [-d] [-i] [-t] [-e K=V] [--env-file F] [-u USER] [-w DIR] [--privileged] CONTAINER CMD...`.

use std::process::ExitCode;

use berth_engine::Paths;
use berth_engine::containers::attach::{AttachEnd, DEFAULT_DETACH_KEYS, parse_detach_keys};
use berth_engine::containers::exec::ExecRequest;
use clap::Args;

/// Execute a command in a running container.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background.
    #[arg(short, long)]
    pub detach: bool,
    /// Keep STDIN open even if not attached.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Set environment variables.
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables.
    #[arg(long)]
    pub env_file: Vec<std::path::PathBuf>,
    /// Username or UID (format: <name|uid>[:<group|gid>]).
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Give extended privileges to the command.
    #[arg(long)]
    pub privileged: bool,
    /// Override the key sequence for detaching (with -it; default ctrl-p,ctrl-q).
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// The container, then the command and its arguments.
    #[arg(required = true, num_args = 2.., trailing_var_arg = true, allow_hyphen_values = true, value_name = "CONTAINER COMMAND [ARG...]")]
    pub target: Vec<String>,
}

/// Runs `berth exec`; the exit code is the command's.
pub fn main(paths: &Paths, args: ExecArgs) -> ExitCode {
    let r = (|| -> anyhow::Result<AttachEnd> {
        let keys = match &args.detach_keys {
            Some(k) => parse_detach_keys(k)?,
            None => DEFAULT_DETACH_KEYS.to_vec(),
        };
        let engine = super::engine(paths)?;
        if !args.interactive && !args.detach {
            if let Ok(null) = fs_err::File::open("/dev/null") {
                use std::os::fd::AsRawFd;
                // SAFETY: fd 0 becomes /dev/null: without -i the command gets no input.
                unsafe { libc::dup2(null.as_raw_fd(), 0) };
            }
        }
        // As for run: the files first, then -e; `-e KEY` takes berth's own value.
        let mut env = Vec::new();
        for f in &args.env_file {
            super::create::read_kv_file(f, "variable", &mut env)?;
        }
        env.extend(args.env.iter().cloned());
        let env = super::create::resolve_env(env);
        let req = ExecRequest {
            cmd: args.target[1..].to_vec(),
            tty: args.tty,
            detach: args.detach,
            env,
            user: args.user.clone(),
            workdir: args.workdir.clone(),
            privileged: args.privileged,
        };
        Ok(engine.exec_attached(&args.target[0], &req, &keys)?)
    })();
    match r {
        Ok(AttachEnd::Exited(code)) => super::exit(code),
        Ok(AttachEnd::Detached) => super::detached_by_keys(),
        Err(e) => {
            super::print_error(&e);
            ExitCode::from(super::status_of(&e).max(1))
        }
    }
}
