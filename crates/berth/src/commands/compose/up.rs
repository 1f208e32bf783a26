//! `compose up` and `compose down`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use berth_compose::run::{Compose, DownOptions, LogsOptions, RemoveImages, UpOptions};
use berth_engine::Paths;
use clap::Args;

use super::{ComposeArgs, key_value, open, printer};

/// `up` flags.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Detached mode: run containers in the background.
    #[arg(short, long)]
    pub detach: bool,
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
    /// Don't start linked services.
    #[arg(long)]
    pub no_deps: bool,
    /// Don't start the services after creating them.
    #[arg(long)]
    pub no_start: bool,
    /// Remove containers for services not defined in the Compose file.
    #[arg(long)]
    pub remove_orphans: bool,
    /// Scale SERVICE to NUM instances (SERVICE=NUM).
    #[arg(long)]
    pub scale: Vec<String>,
    /// Wait for services to be running|healthy (implies detached mode).
    #[arg(long)]
    pub wait: bool,
    /// Maximum duration in seconds to wait for the project to be running|healthy.
    #[arg(long)]
    pub wait_timeout: Option<u64>,
    /// Shutdown timeout in seconds.
    #[arg(short, long)]
    pub timeout: Option<i64>,
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

/// Runs `up`.
pub fn up(paths: &Paths, g: &ComposeArgs, a: &UpArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    let compose = Compose::new(&engine, &project);
    let mut scale = BTreeMap::new();
    for s in &a.scale {
        let (k, v) = key_value(s, "--scale")?;
        let n: u32 = v.parse().map_err(|_| {
            anyhow::anyhow!("invalid --scale value {s:?}\nhint: use SERVICE=NUMBER")
        })?;
        scale.insert(k, n);
    }
    let opts = UpOptions {
        services: a.services.clone(),
        no_deps: a.no_deps,
        scale,
        force_recreate: a.force_recreate,
        no_recreate: a.no_recreate,
        build: a.build,
        no_build: a.no_build,
        remove_orphans: a.remove_orphans,
        no_start: a.no_start,
        wait: a.wait,
        wait_timeout: a.wait_timeout.map(Duration::from_secs),
        timeout: a.timeout,
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
        return Ok(());
    }
    // Attached: follow every service's output until all stop; ctrl-c stops the project.
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
    super::logs::print_logs(
        &compose,
        &LogsOptions {
            services: report.services.clone(),
            follow: true,
            tail: None,
            cancel: Some(&INTERRUPTED),
        },
        false,
    )?;
    if INTERRUPTED.load(Ordering::Relaxed) {
        eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
        // SAFETY: back to the default action, so a second ctrl-c ends berth at once.
        unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
        compose.stop(&report.services, a.timeout, &mut print)?;
    }
    Ok(())
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
