//! `berth run [OPTIONS] IMAGE [COMMAND] [ARG...]`.
//!
//! Without `-t`, berth itself is the container's parent (no monitor): it waits,
//! relays signals and records the exit. With `-t` (so that ctrl-p ctrl-q can detach),
//! `-d`, `--sig-proxy=false` or a health check, a monitor owns the container and `run`
//! attaches to it.

use std::io::Write;
use std::process::ExitCode;

use berth_engine::Paths;
use berth_engine::containers::attach::{AttachEnd, AttachOptions, parse_detach_keys};
use berth_engine::containers::lifecycle::single_threaded;
use clap::Args;

use super::create::ContainerFlags;
use super::streams::{Attach, Muted};

/// Create and run a new container from an image.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Run container in background and print container ID.
    #[arg(short, long)]
    pub detach: bool,
    /// Proxy received signals to the process (without it, the container gets a monitor
    /// and outlives a signalled berth).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    /// The flags shared with `create`.
    #[command(flatten)]
    pub flags: ContainerFlags,
}

fn fail(e: &anyhow::Error) -> ExitCode {
    super::print_error(e);
    ExitCode::from(super::status_of(e))
}

/// Runs `berth run`.
pub fn main(paths: &Paths, args: RunArgs) -> ExitCode {
    let attach = match Attach::parse(&args.flags.attach, args.flags.interactive) {
        Ok(a) => a,
        Err(e) => return fail(&e),
    };
    if args.detach && !args.flags.attach.is_empty() {
        return fail(&anyhow::anyhow!(
            "conflicting options: cannot specify both --attach and --detach"
        ));
    }
    let (engine, id) = match args.flags.create(paths, args.detach) {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    if args.detach {
        return match engine.start_detached(&id) {
            Ok(id) => {
                println!("{id}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                let e = anyhow::Error::from(e);
                fail(&e)
            }
        };
    }
    let muted = match Muted::apply(attach) {
        Ok(m) => m,
        Err(e) => return fail(&e),
    };
    // Without --sig-proxy the container must outlive a signalled berth, and health
    // checks need someone to run them: it gets a monitor, and this process is only
    // attached to it (forwarding signals itself, with --sig-proxy).
    let checked = engine
        .container(&id)
        .is_ok_and(|(_, s)| berth_engine::containers::health::effective(&s).is_some());
    if args.flags.tty || !args.sig_proxy || checked || !single_threaded() {
        if args.sig_proxy
            && !args.flags.tty
            && let Err(e) = super::sig_proxy::forward(paths, &id)
        {
            drop(muted);
            return fail(&e);
        }
        let keys = args
            .flags
            .detach_keys
            .as_deref()
            .map_or(Ok(vec![0x10, 0x11]), parse_detach_keys);
        let opts = AttachOptions {
            stdin: args.flags.interactive,
            detach_keys: keys.unwrap_or_else(|_| vec![0x10, 0x11]),
        };
        let r = engine.start_attached(&id, &opts);
        drop(muted);
        return match r {
            Ok(AttachEnd::Exited(code)) => super::exit(code),
            Ok(AttachEnd::Detached) => ExitCode::SUCCESS,
            Err(e) => fail(&anyhow::Error::from(e)),
        };
    }
    if !args.flags.interactive {
        // Without -i the container's stdin is empty, as Docker's.
        if let Ok(null) = fs_err::File::open("/dev/null") {
            use std::os::fd::AsRawFd;
            // SAFETY: replacing fd 0 with /dev/null; nothing else uses stdin.
            unsafe { libc::dup2(null.as_raw_fd(), 0) };
        }
    }
    let r = engine.run_foreground(&id);
    drop(muted);
    match r {
        Ok(code) => super::exit(code),
        // 126/127 as Docker: the program could not be executed; say why.
        Err(e @ berth_engine::Error::Exec { .. }) => {
            let _ = writeln!(std::io::stderr(), "berth: {e}");
            ExitCode::from(u8::try_from(e.exit_status()).unwrap_or(125))
        }
        Err(e) => fail(&anyhow::Error::from(e)),
    }
}
