//! `berth start [-a] [-i] CONTAINER...`.

use std::process::ExitCode;

use berth_engine::Paths;
use berth_engine::containers::attach::{AttachEnd, AttachOptions, parse_detach_keys};
use clap::Args;

/// Start one or more stopped containers.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals.
    #[arg(short, long)]
    pub attach: bool,
    /// Attach container's STDIN.
    #[arg(short, long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Runs `berth start`.
pub fn main(paths: &Paths, args: StartArgs) -> ExitCode {
    let engine = match super::engine(paths) {
        Ok(e) => e,
        Err(e) => {
            super::print_error(&e);
            return ExitCode::from(125);
        }
    };
    if args.attach || args.interactive {
        if args.containers.len() > 1 {
            super::print_error(&anyhow::anyhow!(
                "you cannot start and attach multiple containers at once"
            ));
            return ExitCode::from(125);
        }
        let name = &args.containers[0];
        let keys = match args
            .detach_keys
            .as_deref()
            .map(parse_detach_keys)
            .transpose()
        {
            Ok(k) => k.unwrap_or_else(|| vec![0x10, 0x11]),
            Err(e) => {
                super::print_error(&e.into());
                return ExitCode::from(125);
            }
        };
        let stored = engine.container(name).ok().map(|(_, s)| s.opts);
        let tty = stored.as_ref().is_some_and(|o| o.tty);
        // As Docker's: stdin only reaches a container created to read it (`-i`).
        let stdin = args.interactive && stored.as_ref().is_none_or(|o| o.interactive);
        if !tty && let Err(e) = super::sig_proxy::forward(paths, name) {
            super::print_error(&e);
            return ExitCode::from(125);
        }
        let r = engine.start_attached(
            name,
            &AttachOptions {
                stdin,
                detach_keys: keys,
            },
        );
        return match r {
            Ok(AttachEnd::Exited(code)) => super::exit(code),
            Ok(AttachEnd::Detached) => ExitCode::SUCCESS,
            Err(e) => {
                let e = anyhow::Error::from(e);
                super::print_error(&e);
                ExitCode::from(super::status_of(&e))
            }
        };
    }
    super::done(super::each(&args.containers, |n| {
        engine.start_detached(n)?;
        Ok(n.to_owned())
    }))
}
