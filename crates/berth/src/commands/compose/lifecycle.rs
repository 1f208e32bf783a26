//! `compose start`, `stop`, `restart`, `rm`, `kill`, `top` and `images`.

use std::io::Write as _;

use berth_compose::run::Compose;
use berth_engine::Paths;
use clap::Args;

use super::{ComposeArgs, open, printer};
use crate::commands::container::top::{self, TopArgs};

/// Flags of commands that take only services.
#[derive(Debug, Args)]
pub struct ServicesArgs {
    /// Services (default: all).
    pub services: Vec<String>,
}

/// `stop`/`restart` flags.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait for the stop before killing.
    #[arg(short, long)]
    pub timeout: Option<i64>,
    /// Services (default: all).
    pub services: Vec<String>,
}

/// `rm` flags.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Don't ask to confirm removal (berth never asks).
    #[arg(short, long)]
    pub force: bool,
    /// Stop the containers, if required, before removing.
    #[arg(short, long)]
    pub stop: bool,
    /// Remove any anonymous volumes attached to containers.
    #[arg(short, long)]
    pub volumes: bool,
    /// Services (default: all).
    pub services: Vec<String>,
}

/// `kill` flags.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// SIGNAL to send to the container.
    #[arg(short, long, default_value = "SIGKILL")]
    pub signal: String,
    /// Services (default: all).
    pub services: Vec<String>,
}

/// Runs `start`.
pub fn start(paths: &Paths, g: &ComposeArgs, a: &ServicesArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    Compose::new(&engine, &project).start(&a.services, &mut printer())?;
    Ok(())
}

/// Runs `stop`, or `restart` when `restart`.
pub fn stop(paths: &Paths, g: &ComposeArgs, a: &StopArgs, restart: bool) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    let compose = Compose::new(&engine, &project);
    if restart {
        compose.restart(&a.services, a.timeout, &mut printer())?;
    } else {
        compose.stop(&a.services, a.timeout, &mut printer())?;
    }
    Ok(())
}

/// Runs `rm`.
pub fn rm(paths: &Paths, g: &ComposeArgs, a: &RmArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    let compose = Compose::new(&engine, &project);
    let running = compose.rm(&a.services, a.stop, a.volumes, &mut printer())?;
    // Without named services, running containers are left quietly, as Docker Compose does.
    if !running.is_empty() && !a.services.is_empty() {
        anyhow::bail!(
            "cannot remove running containers: {}\nhint: stop them first or pass --stop",
            running.join(", ")
        );
    }
    Ok(())
}

/// Runs `kill`.
pub fn kill(paths: &Paths, g: &ComposeArgs, a: &KillArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    Compose::new(&engine, &project).kill(&a.services, &a.signal, &mut printer())?;
    Ok(())
}

/// Runs `top`: each running container's name, then its processes.
pub fn top(paths: &Paths, g: &ComposeArgs, a: &ServicesArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    let compose = Compose::new(&engine, &project);
    for c in compose.service_containers(&a.services)? {
        if !berth_compose::run::is_running(c.status) {
            continue;
        }
        println!("{}", c.record.name);
        let _ = std::io::stdout().flush();
        top::run(
            paths,
            &TopArgs {
                container: c.record.id.clone(),
                ps_options: Vec::new(),
            },
        )?;
        println!();
    }
    Ok(())
}

/// Runs `images`: the image of every container of the project.
pub fn images(paths: &Paths, g: &ComposeArgs, a: &ServicesArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    let compose = Compose::new(&engine, &project);
    let mut rows = vec![[
        "CONTAINER".to_string(),
        "REPOSITORY".into(),
        "TAG".into(),
        "IMAGE ID".into(),
        "SIZE".into(),
    ]];
    for c in compose.service_containers(&a.services)? {
        let (repo, tag) = match c.record.image_ref.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
            _ => (c.record.image_ref.clone(), "latest".to_string()),
        };
        let (id, size) = match engine.find_image(&c.record.image_ref) {
            Ok(img) => (
                img.id
                    .trim_start_matches("sha256:")
                    .chars()
                    .take(12)
                    .collect(),
                crate::format::human_size(img.size),
            ),
            Err(_) => ("<missing>".to_string(), String::new()),
        };
        rows.push([c.record.name.clone(), repo, tag, id, size]);
    }
    print_table(&rows);
    Ok(())
}

/// Prints rows as a table with columns three spaces apart, as Docker does.
pub fn print_table<const N: usize>(rows: &[[String; N]]) {
    let mut widths = [0usize; N];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == N {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}   ", w = widths[i]));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}
