//! `berth oci`: runc's command line over berth's runtime.

mod exec;
mod log;
mod spec;
mod update;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use berth_runtime::{Bundle, CreateOptions, Runtime};
use clap::{Args, Subcommand};

use berth_engine::Paths;

/// runc's global flags and commands.
#[derive(Debug, Args)]
pub struct OciArgs {
    /// State directory of the runtime's containers (runc's --root).
    #[arg(long = "root", value_name = "DIR")]
    pub state_root: Option<PathBuf>,
    /// Also write errors to this file.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Format of --log: text or json.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Log debug details.
    #[arg(long)]
    pub debug: bool,
    /// Manage cgroups through systemd.
    #[arg(long)]
    pub systemd_cgroup: bool,
    /// Accepted for runc compatibility (rootless is detected).
    #[arg(long, value_name = "true|false|auto")]
    pub rootless: Option<String>,
    /// The operation.
    #[command(subcommand)]
    pub command: OciCommand,
}

/// Options shared by `create` and `run`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Bundle directory (holding config.json).
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// File to write the container's pid to.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Use chroot instead of pivot_root (for ramfs roots).
    #[arg(long)]
    pub no_pivot: bool,
    /// Do not give the container its own session keyring.
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass this many descriptors from 3 upward to the container.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: i32,
    /// Container id.
    pub id: String,
}

/// runc's commands.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum OciCommand {
    /// Create a container; it waits for `start`.
    Create(CreateArgs),
    /// Start a created container.
    Start { id: String },
    /// Create and start a container, and wait for it.
    Run {
        #[command(flatten)]
        create: CreateArgs,
        /// Return once it started.
        #[arg(short, long)]
        detach: bool,
        /// Keep the container's state after it exits.
        #[arg(long)]
        keep: bool,
    },
    /// Print a container's state as JSON.
    State { id: String },
    /// Send a signal (default SIGTERM).
    Kill {
        /// Signal every process in the container.
        #[arg(short, long)]
        all: bool,
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// Delete a container.
    Delete {
        /// Kill it first if it runs.
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// Run a process in a running container.
    Exec(exec::ExecArgs),
    /// List the processes of a container.
    Ps {
        /// table or json.
        #[arg(short, long, default_value = "table")]
        format: String,
        id: String,
        /// Options passed to ps(1) for the table.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// List containers.
    List {
        /// table or json.
        #[arg(short, long, default_value = "table")]
        format: String,
        /// Only ids.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Freeze all processes of a container.
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// Print resource usage events.
    Events {
        /// One stats record and exit.
        #[arg(long)]
        stats: bool,
        /// Interval between records.
        #[arg(long, default_value = "5s")]
        interval: String,
        id: String,
    },
    /// Change a container's resource limits.
    Update(update::UpdateArgs),
    /// What this runtime supports (JSON).
    Features,
    /// Write a starter config.json.
    Spec {
        /// Bundle directory.
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        /// Make a spec for an unprivileged user.
        #[arg(long)]
        rootless: bool,
    },
}

/// Runs an OCI command; errors are printed (and logged) and give exit status 1.
pub fn main(paths: &Paths, args: OciArgs) -> ExitCode {
    let logger = log::Logger::new(args.log.clone(), &args.log_format);
    match run(paths, &args) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            let msg = crate::error::render(&e);
            logger.error(&msg);
            let _ = writeln!(std::io::stderr(), "berth: {msg}");
            let status = e
                .downcast_ref::<berth_runtime::Error>()
                .and_then(|e| match e {
                    berth_runtime::Error::Exec { status, .. } => Some(*status),
                    _ => None,
                });
            match (&args.command, status) {
                (OciCommand::Run { .. } | OciCommand::Exec(_), Some(s)) => {
                    ExitCode::from(u8::try_from(s).unwrap_or(1))
                }
                _ => ExitCode::from(1),
            }
        }
    }
}

fn run(paths: &Paths, args: &OciArgs) -> Result<i32> {
    if args.systemd_cgroup && !berth_cgroups::systemd_available() {
        anyhow::bail!(
            "--systemd-cgroup: systemd is not running on this host (no /run/systemd/system)\nhint: drop --systemd-cgroup; berth manages cgroups directly"
        );
    }
    let rt = Runtime::new(args.state_root.clone().unwrap_or_else(|| paths.oci_state()));
    let mut out = std::io::stdout().lock();
    match &args.command {
        OciCommand::Create(c) => {
            let bundle = Bundle::load(&c.bundle)
                .with_context(|| format!("loading bundle {}", c.bundle.display()))?;
            berth_runtime::create(&rt, &c.id, bundle, &create_options(c))
                .with_context(|| format!("creating container {}", c.id))?;
        }
        OciCommand::Start { id } => {
            let started = berth_runtime::start(&rt, id)
                .with_context(|| format!("starting container {id}"))?;
            warn_all(&started.warnings);
        }
        OciCommand::Run {
            create,
            detach,
            keep,
        } => {
            let bundle = Bundle::load(&create.bundle)
                .with_context(|| format!("loading bundle {}", create.bundle.display()))?;
            let code = berth_runtime::run(
                &rt,
                &create.id,
                bundle,
                &create_options(create),
                *detach || *keep,
            )
            .with_context(|| format!("running container {}", create.id))?;
            if *keep && !*detach {
                let pid = rt.load(&create.id)?.saved.pid;
                return Ok(berth_runtime::wait_for(pid)?);
            }
            return Ok(code);
        }
        OciCommand::State { id } => {
            let s = berth_runtime::state(&rt, id)?;
            serde_json::to_writer_pretty(&mut out, &s)?;
            writeln!(out)?;
        }
        OciCommand::Kill { all, id, signal } => {
            let sig = berth_runtime::parse_signal(signal)?;
            berth_runtime::kill(&rt, id, sig, *all)
                .with_context(|| format!("killing container {id}"))?;
        }
        OciCommand::Delete { force, id } => {
            berth_runtime::delete(&rt, id, *force)
                .with_context(|| format!("deleting container {id}"))?;
        }
        OciCommand::Exec(e) => return exec::run(&rt, e),
        OciCommand::Ps {
            format,
            id,
            ps_args,
        } => ps(&rt, &mut out, format, id, ps_args)?,
        OciCommand::List { format, quiet } => list(&rt, &mut out, format, *quiet)?,
        OciCommand::Pause { id } => {
            berth_runtime::pause(&rt, id).with_context(|| format!("pausing container {id}"))?
        }
        OciCommand::Resume { id } => {
            berth_runtime::resume(&rt, id).with_context(|| format!("resuming container {id}"))?
        }
        OciCommand::Events {
            stats,
            interval,
            id,
        } => {
            let every = humantime::parse_duration(interval)
                .with_context(|| format!("--interval {interval:?} is not a duration (e.g. 5s)"))?;
            if *stats {
                serde_json::to_writer(&mut out, &berth_runtime::stats(&rt, id)?)?;
                writeln!(out)?;
                return Ok(0);
            }
            // A stream like runc's: stats every interval, an "oom" record as soon as the
            // OOM killer acts, until the container stops.
            let mut ooms = berth_runtime::oom_count(&rt, id).unwrap_or(0);
            let mut next = std::time::Instant::now();
            loop {
                let stopped = rt.load(id)?.status() == berth_runtime::Status::Stopped;
                let now_ooms = berth_runtime::oom_count(&rt, id).unwrap_or(ooms);
                if now_ooms > ooms {
                    ooms = now_ooms;
                    writeln!(out, "{}", serde_json::json!({"type": "oom", "id": id}))?;
                    out.flush()?;
                }
                if stopped {
                    break;
                }
                if std::time::Instant::now() >= next {
                    serde_json::to_writer(&mut out, &berth_runtime::stats(&rt, id)?)?;
                    writeln!(out)?;
                    out.flush()?;
                    next = std::time::Instant::now() + every;
                }
                std::thread::sleep(std::time::Duration::from_millis(100).min(every));
            }
        }
        OciCommand::Update(u) => update::run(&rt, u)?,
        OciCommand::Features => {
            serde_json::to_writer_pretty(&mut out, &berth_runtime::features())?;
            writeln!(out)?;
        }
        OciCommand::Spec { bundle, rootless } => spec::write(bundle, *rootless)?,
    }
    Ok(0)
}

/// Failed poststart/poststop hooks are reported but do not fail the command.
fn warn_all(warnings: &[berth_runtime::Error]) {
    for w in warnings {
        let _ = writeln!(std::io::stderr(), "berth: warning: {w}");
    }
}

fn create_options(c: &CreateArgs) -> CreateOptions {
    CreateOptions {
        pid_file: c.pid_file.clone(),
        console_socket: c.console_socket.clone(),
        no_pivot: c.no_pivot,
        no_new_keyring: c.no_new_keyring,
        preserve_fds: c.preserve_fds,
        pty_to_runtime: false,
    }
}

fn ps(
    rt: &Runtime,
    out: &mut impl Write,
    format: &str,
    id: &str,
    ps_args: &[String],
) -> Result<()> {
    let pids = berth_runtime::ps(rt, id).with_context(|| format!("listing processes of {id}"))?;
    if format == "json" {
        serde_json::to_writer(&mut *out, &pids)?;
        writeln!(out)?;
        return Ok(());
    }
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let output = std::process::Command::new("ps")
        .args(&args)
        .output()
        .context("running ps(1)\nhint: install procps, or use `--format json`")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Ok(());
    };
    let pid_col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .context("ps output has no PID column")?;
    writeln!(out, "{header}")?;
    for line in lines {
        let pid: Option<i32> = line
            .split_whitespace()
            .nth(pid_col)
            .and_then(|p| p.parse().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

fn list(rt: &Runtime, out: &mut impl Write, format: &str, quiet: bool) -> Result<()> {
    let all = berth_runtime::list(rt)?;
    if quiet {
        for c in &all {
            writeln!(out, "{}", c.saved.id)?;
        }
        return Ok(());
    }
    if format == "json" {
        let v: Vec<_> = all
            .iter()
            .map(berth_runtime::Container::oci_state)
            .collect();
        serde_json::to_writer(&mut *out, &v)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<20} {:<10} {:<10} {:<40} {:<30} OWNER",
        "ID", "PID", "STATUS", "BUNDLE", "CREATED"
    )?;
    for c in &all {
        let s = c.oci_state();
        writeln!(
            out,
            "{:<20} {:<10} {:<10} {:<40} {:<30} {}",
            s.id,
            s.pid.unwrap_or(0),
            s.status,
            s.bundle.display(),
            s.created,
            c.saved.owner
        )?;
    }
    Ok(())
}
