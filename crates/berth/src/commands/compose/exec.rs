//! `compose exec` (a command in a service's running container) and `compose run` (a
//! one-off container of a service, after its dependencies are up).

use std::io::IsTerminal;
use std::process::ExitCode;

use berth_compose::run::Compose;
use berth_engine::Paths;
use berth_engine::containers::attach::AttachOptions;
use berth_engine::containers::exec::ExecRequest;
use berth_engine::containers::lifecycle::single_threaded;
use clap::Args;

use super::{ComposeArgs, open, printer};
use crate::commands::container::{exit, print_error, status_of};

/// `exec` flags.
#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub struct ExecArgs {
    /// Detached mode: run the command in the background.
    #[arg(short, long)]
    pub detach: bool,
    /// Disable pseudo-TTY allocation (allocated by default when stdin is a terminal).
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Run the command as this user.
    #[arg(short, long)]
    pub user: Option<String>,
    /// Path to workdir directory for this command.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Set environment variables.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Index of the container if the service has several replicas.
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    /// Give extended privileges to the process.
    #[arg(long)]
    pub privileged: bool,
    /// The service.
    pub service: String,
    /// The command and its arguments.
    #[arg(required = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `run` flags.
#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub struct RunArgs {
    /// Run the container in the background and print its name.
    #[arg(short, long)]
    pub detach: bool,
    /// Remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Assign a name to the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Run as this user.
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Override the entrypoint of the image.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Don't start linked services.
    #[arg(long)]
    pub no_deps: bool,
    /// Disable pseudo-TTY allocation.
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Keep STDIN open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Publish the service's ports.
    #[arg(long)]
    pub service_ports: bool,
    /// Publish a container's port to the host.
    #[arg(short, long)]
    pub publish: Vec<String>,
    /// The service.
    pub service: String,
    /// The command and its arguments (default: the service's).
    #[arg(allow_hyphen_values = true)]
    pub command: Vec<String>,
}

fn env_of(list: &[String]) -> Vec<String> {
    list.iter()
        .filter_map(|e| {
            if e.contains('=') {
                Some(e.clone())
            } else {
                std::env::var(e).ok().map(|v| format!("{e}={v}"))
            }
        })
        .collect()
}

fn stdin_null() {
    if let Ok(null) = fs_err::File::open("/dev/null") {
        use std::os::fd::AsRawFd;
        // SAFETY: fd 0 becomes /dev/null: the command gets no input, as Docker's.
        unsafe { libc::dup2(null.as_raw_fd(), 0) };
    }
}

fn fail(e: &anyhow::Error) -> ExitCode {
    print_error(e);
    ExitCode::from(status_of(e).max(1))
}

/// Runs `exec`.
pub fn exec(paths: &Paths, g: &ComposeArgs, a: &ExecArgs) -> ExitCode {
    let r = (|| -> anyhow::Result<i32> {
        let (engine, project) = open(paths, g)?;
        let compose = Compose::new(&engine, &project);
        let c = compose.container_of(&a.service, a.index)?;
        let tty = !a.no_tty && std::io::stdin().is_terminal() && !a.detach;
        let req = ExecRequest {
            cmd: a.command.clone(),
            tty,
            detach: a.detach,
            env: env_of(&a.env),
            user: a.user.clone(),
            workdir: a.workdir.clone(),
            privileged: a.privileged,
        };
        Ok(engine.exec(&c.record.id, &req)?)
    })();
    match r {
        Ok(code) => exit(code),
        Err(e) => fail(&e),
    }
}

/// Runs `run`.
pub fn run(paths: &Paths, g: &ComposeArgs, a: &RunArgs) -> ExitCode {
    let r = (|| -> anyhow::Result<ExitCode> {
        let (engine, project) = open(paths, g)?;
        let compose = Compose::new(&engine, &project);
        compose.check_services(std::slice::from_ref(&a.service))?;
        let service = &project.model.services[&a.service];
        let tty = !a.no_tty && !a.detach && std::io::stdin().is_terminal();
        let adjust = |o: &mut berth_engine::containers::RunOptions| {
            if let Some(n) = &a.name {
                o.name = Some(n.clone());
            }
            if let Some(ep) = &a.entrypoint {
                o.entrypoint = Some(ep.clone());
                o.cmd.clear();
            }
            if !a.command.is_empty() {
                // Words of a list entrypoint after the first lead the command.
                let lead = match (&a.entrypoint, &service.entrypoint) {
                    (None, Some(ep)) => ep.iter().skip(1).cloned().collect(),
                    _ => Vec::new(),
                };
                o.cmd = lead;
                o.cmd.extend(a.command.iter().cloned());
            }
            o.env.extend(env_of(&a.env));
            if a.user.is_some() {
                o.user.clone_from(&a.user);
            }
            if a.workdir.is_some() {
                o.workdir.clone_from(&a.workdir);
            }
            o.auto_remove = a.rm;
            o.tty = tty;
            o.interactive = a.interactive || tty;
            if a.service_ports {
                o.publish = service
                    .ports
                    .iter()
                    .map(|p| match &p.published {
                        Some(h) => format!("{h}:{}", p.target),
                        None => p.target.to_string(),
                    })
                    .collect();
            }
            o.publish.extend(a.publish.iter().cloned());
        };
        let mut print = printer();
        let id = compose.create_oneoff(
            &a.service,
            a.no_deps,
            &adjust,
            &mut std::io::stderr(),
            &mut print,
        )?;
        if a.detach {
            engine.start_detached(&id)?;
            let (rec, _) = engine.container(&id)?;
            println!("{}", rec.name);
            return Ok(ExitCode::SUCCESS);
        }
        if tty || !single_threaded() {
            let opts = AttachOptions {
                stdin: a.interactive || tty,
                detach_keys: vec![0x10, 0x11],
            };
            return Ok(match engine.start_attached(&id, &opts)? {
                berth_engine::containers::attach::AttachEnd::Exited(code) => exit(code),
                berth_engine::containers::attach::AttachEnd::Detached => ExitCode::SUCCESS,
            });
        }
        if !a.interactive {
            stdin_null();
        }
        Ok(exit(engine.run_foreground(&id)?))
    })();
    r.unwrap_or_else(|e| fail(&e))
}
