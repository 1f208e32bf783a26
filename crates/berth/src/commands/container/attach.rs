//! `berth attach [--detach-keys K] [--no-stdin] CONTAINER`.

use std::process::ExitCode;

use berth_engine::Paths;
use berth_engine::containers::attach::{AttachEnd, AttachOptions, parse_detach_keys};
use clap::Args;

/// Attach local standard input, output, and error streams to a running container.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container.
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN.
    #[arg(long)]
    pub no_stdin: bool,
    /// Proxy all received signals to the process (without a terminal).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    /// The container.
    pub container: String,
}

/// Runs `berth attach`; exits with the container's code, or as Docker's after the
/// detach keys (1, "read escape sequence").
pub fn main(paths: &Paths, args: AttachArgs) -> ExitCode {
    let r = (|| -> anyhow::Result<AttachEnd> {
        let engine = super::engine(paths)?;
        let (_, stored) = engine.container(&args.container)?;
        let keys = args.detach_keys.clone().or(stored.opts.detach_keys.clone());
        let keys = keys
            .as_deref()
            .map(parse_detach_keys)
            .transpose()?
            .unwrap_or_else(|| vec![0x10, 0x11]);
        let opts = AttachOptions {
            stdin: !args.no_stdin && stored.opts.interactive,
            detach_keys: keys,
        };
        if args.sig_proxy && !stored.opts.tty {
            super::sig_proxy::forward(paths, &args.container)?;
        }
        Ok(engine.attach(&args.container, &opts)?)
    })();
    match r {
        Ok(AttachEnd::Exited(code)) => super::exit(code),
        Ok(AttachEnd::Detached) => super::detached_by_keys(),
        Err(e) => {
            super::print_error(&e);
            ExitCode::from(1)
        }
    }
}
