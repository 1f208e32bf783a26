//! `compose up` and `compose down`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use std::io::IsTerminal;
use std::process::ExitCode;

use berth_compose::run::{Compose, DownOptions, LogsOptions, Output, RemoveImages, UpOptions};
use berth_engine::Paths;
use clap::Args;

use super::logs::{LinePrinter, emit};
use super::{ComposeArgs, key_value, open, printer};

/// `up` flags.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Detached mode: run containers in the background.
    #[arg(short, long)]
    pub detach: bool,
    /// How to converge: build, recreate, orphans, scale.
    #[command(flatten)]
    pub converge: ConvergeFlags,
    /// Don't start linked services.
    #[arg(long)]
    pub no_deps: bool,
    /// Don't start the services after creating them.
    #[arg(long)]
    pub no_start: bool,
    /// Wait for services to be running|healthy (implies detached mode).
    #[arg(long)]
    pub wait: bool,
    /// Maximum duration in seconds to wait for the project to be running|healthy.
    #[arg(long)]
    pub wait_timeout: Option<u64>,
    /// Shutdown timeout in seconds.
    #[arg(short, long)]
    pub timeout: Option<i64>,
    /// Stops all containers if any container was stopped. Incompatible with -d.
    #[arg(long, conflicts_with = "detach")]
    pub abort_on_container_exit: bool,
    /// Stops all containers if any container exited with failure. Incompatible with -d.
    #[arg(long, conflicts_with_all = ["detach", "abort_on_container_exit"])]
    pub abort_on_container_failure: bool,
    /// Return the exit code of the selected service container. Implies
    /// --abort-on-container-exit.
    #[arg(long, value_name = "SERVICE", conflicts_with = "detach")]
    pub exit_code_from: Option<String>,
    /// Restrict attaching to the specified services.
    #[arg(long, value_name = "SERVICE", conflicts_with = "detach")]
    pub attach: Vec<String>,
    /// Do not attach (stream logs) to the specified services.
    #[arg(long, value_name = "SERVICE")]
    pub no_attach: Vec<String>,
    /// Automatically attach to log output of dependent services.
    #[arg(long)]
    pub attach_dependencies: bool,
    /// Produce monochrome output.
    #[arg(long)]
    pub no_color: bool,
    /// Don't print prefix in logs.
    #[arg(long)]
    pub no_log_prefix: bool,
    /// Show timestamps.
    #[arg(long)]
    pub timestamps: bool,
    /// Services to start (default: all).
    pub services: Vec<String>,
}

/// `down` flags.
#[derive(Debug, Args)]
pub struct DownArgs {
    /// Remove named volumes declared in the volumes section and anonymous volumes.
    #[arg(short, long)]
    pub volumes: bool,
    /// Remove images used by services: "local" (no custom tag) or "all".
    #[arg(long, value_parser = ["local", "all"])]
    pub rmi: Option<String>,
    /// Remove containers for services not defined in the Compose file.
    #[arg(long)]
    pub remove_orphans: bool,
    /// Shutdown timeout in seconds.
    #[arg(short, long)]
    pub timeout: Option<i64>,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// Runs `up`; attached (no `-d`) it follows the services' output, and its exit code is
/// Docker Compose's: 130 after ctrl-c, the chosen container's code with `--exit-code-from`,
/// the stopped container's with `--abort-on-container-exit`.
pub fn up(paths: &Paths, g: &ComposeArgs, a: &UpArgs) -> ExitCode {
    match up_inner(paths, g, a) {
        Ok(code) => crate::commands::container::exit(code),
        Err(e) => crate::commands::container::done(Err(e)),
    }
}

/// The flags `up` and `create` share: how the project converges.
#[derive(Debug, Args)]
pub struct ConvergeFlags {
    /// Build images before starting containers.
    #[arg(long)]
    pub build: bool,
    /// Don't build an image, even if it's missing.
    #[arg(long, conflicts_with = "build")]
    pub no_build: bool,
    /// Recreate containers even if their configuration hasn't changed.
    #[arg(long)]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them.
    #[arg(long, conflicts_with = "force_recreate")]
    pub no_recreate: bool,
    /// Remove containers for services not defined in the Compose file.
    #[arg(long)]
    pub remove_orphans: bool,
    /// Scale SERVICE to NUM instances (SERVICE=NUM).
    #[arg(long)]
    pub scale: Vec<String>,
}

impl ConvergeFlags {
    /// Options for `services` with these flags (`--scale` checked); the rest default.
    pub fn up_options(&self, services: &[String]) -> anyhow::Result<UpOptions> {
        let mut scale = BTreeMap::new();
        for s in &self.scale {
            let (k, v) = key_value(s, "--scale")?;
            let n: u32 = v.parse().map_err(|_| {
                anyhow::anyhow!("invalid --scale value {s:?}\nhint: use SERVICE=NUMBER")
            })?;
            scale.insert(k, n);
        }
        Ok(UpOptions {
            services: services.to_vec(),
            scale,
            force_recreate: self.force_recreate,
            no_recreate: self.no_recreate,
            build: self.build,
            no_build: self.no_build,
            remove_orphans: self.remove_orphans,
            ..Default::default()
        })
    }
}

fn up_inner(paths: &Paths, g: &ComposeArgs, a: &UpArgs) -> anyhow::Result<i32> {
    let (engine, project) = open(paths, g)?;
    let compose = Compose::new(&engine, &project);
    let named: Vec<String> = a
        .exit_code_from
        .iter()
        .chain(&a.attach)
        .chain(&a.no_attach)
        .cloned()
        .collect();
    compose.check_services(&named)?;
    let opts = UpOptions {
        no_deps: a.no_deps,
        no_start: a.no_start,
        wait: a.wait,
        wait_timeout: a.wait_timeout.map(Duration::from_secs),
        timeout: a.timeout,
        ..a.converge.up_options(&a.services)?
    };
    let mut print = printer();
    let report = compose.up(&opts, &mut std::io::stderr(), &mut print)?;
    if !report.orphans.is_empty() {
        eprintln!(
            "WARN[0000] Found orphan containers ({}) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
            report.orphans.join(", ")
        );
    }
    if a.detach || a.wait || a.no_start {
        return Ok(0);
    }
    attached(&compose, a, &report.services, &mut print)
}

/// Attached `up`: every service's output until all stop (or one stops, with the abort
/// flags); ctrl-c stops the project gracefully.
fn attached(
    compose: &Compose<'_>,
    a: &UpArgs,
    services: &[String],
    print: &mut dyn FnMut(berth_compose::run::Event),
) -> anyhow::Result<i32> {
    // Docker Compose attaches to the named services only (their dependencies with
    // --attach-dependencies), to all without names; --attach and --no-attach refine it.
    let mut shown: Vec<String> = if !a.attach.is_empty() {
        a.attach.clone()
    } else if !a.services.is_empty() && !a.attach_dependencies {
        a.services.clone()
    } else {
        services.to_vec()
    };
    shown.retain(|s| !a.no_attach.contains(s));
    let abort = a.abort_on_container_exit || a.exit_code_from.is_some();
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
    let names: Vec<String> = compose
        .service_containers(&shown)?
        .iter()
        .map(|c| format!("{}-{}", c.service, c.number))
        .collect();
    let colour = std::io::stdout().is_terminal() && !a.no_color;
    let mut lines = LinePrinter::new(compose, &names, colour, !a.no_log_prefix, a.timestamps);
    if !names.is_empty() {
        emit(&format!("Attaching to {}\n", names.join(", ")));
    }
    let mut aborted = false;
    let mut first_exit: Option<i32> = None;
    compose.follow(
        &LogsOptions {
            services: services.to_vec(),
            follow: true,
            tail: None,
            cancel: Some(&INTERRUPTED),
        },
        &mut |o| match o {
            Output::Line(l) => !shown.contains(&l.service) || emit(&lines.line(l)),
            Output::Exited { who, code } => {
                if shown.contains(&who.service) && !emit(&lines.exited(who, code)) {
                    return false;
                }
                if abort || (a.abort_on_container_failure && code != 0) {
                    first_exit = Some(code);
                    aborted = true;
                    return false;
                }
                true
            }
        },
    )?;
    let interrupted = INTERRUPTED.load(Ordering::Relaxed);
    if aborted || interrupted {
        if aborted {
            emit("Aborting on container exit...\n");
        } else {
            eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
        }
        // SAFETY: back to the default action, so a second ctrl-c ends berth at once.
        unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
        compose.stop(services, a.timeout, print)?;
    }
    if let Some(svc) = &a.exit_code_from {
        let code = compose
            .service_containers(std::slice::from_ref(svc))?
            .first()
            .and_then(|c| c.record.state.exit_code)
            .unwrap_or(0);
        return Ok(code);
    }
    if interrupted && !aborted {
        return Ok(130);
    }
    Ok(first_exit.unwrap_or(0))
}

/// Runs `down`.
pub fn down(paths: &Paths, g: &ComposeArgs, a: &DownArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    let compose = Compose::new(&engine, &project);
    let opts = DownOptions {
        volumes: a.volumes,
        rmi: a.rmi.as_deref().map(|r| {
            if r == "all" {
                RemoveImages::All
            } else {
                RemoveImages::Local
            }
        }),
        remove_orphans: a.remove_orphans,
        timeout: a.timeout,
    };
    compose.down(&opts, &mut printer())?;
    Ok(())
}
