//! `compose events`, `stats` and `cp`: the container commands, on a project's services.

use std::io::Write as _;

use berth_compose::plan::{LABEL_PROJECT, LABEL_SERVICE};
use berth_compose::run::{Compose, is_running};
use berth_engine::Paths;
use clap::Args;

use super::{ComposeArgs, open};
use crate::commands::container::cp::{self, CpArgs};
use crate::commands::container::stats::{self, StatsArgs};

/// `events` flags.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Output events as a stream of json objects.
    #[arg(long)]
    pub json: bool,
    /// Services (default: all).
    pub services: Vec<String>,
}

/// Runs `events`: the project's container events from now on, until interrupted.
pub fn events(paths: &Paths, g: &ComposeArgs, a: &EventsArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    Compose::new(&engine, &project).check_services(&a.services)?;
    let mut out = std::io::stdout();
    let since = berth_store::digest::now_ns();
    engine.events(Some(since), None, true, |ev| {
        let attrs = &ev["Actor"]["Attributes"];
        if attrs[LABEL_PROJECT] != project.name.as_str() {
            return true;
        }
        let service = attrs[LABEL_SERVICE].as_str().unwrap_or("");
        if !a.services.is_empty() && !a.services.iter().any(|s| s == service) {
            return true;
        }
        // Docker Compose leaves its own labels out of the attributes.
        let shown: serde_json::Map<String, serde_json::Value> = attrs
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| !k.starts_with("com.docker.compose."))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let nanos = ev["timeNano"]
            .as_i64()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        let when = humantime::format_rfc3339_nanos(
            std::time::UNIX_EPOCH + std::time::Duration::from_nanos(nanos),
        );
        let id = ev["id"].as_str().unwrap_or("");
        let action = ev["Action"].as_str().unwrap_or("");
        let line = if a.json {
            serde_json::json!({
                "time": when.to_string(),
                "type": "container",
                "service": service,
                "id": id,
                "action": action,
                "attributes": shown,
            })
            .to_string()
        } else {
            let attrs = shown
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(", ");
            format!("{when} container {action} {id} ({attrs})")
        };
        writeln!(out, "{line}").is_ok() && out.flush().is_ok()
    })?;
    Ok(())
}

/// `stats` flags.
#[derive(Debug, Args)]
pub struct ComposeStatsArgs {
    /// Show all containers (default shows just running).
    #[arg(short, long)]
    pub all: bool,
    /// Disable streaming stats and only pull the first result.
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Format output using a Go template or `json`.
    #[arg(long)]
    pub format: Option<String>,
    /// Service (default: all).
    pub service: Option<String>,
}

/// Runs `stats`: `berth stats` on the project's containers, asked again before every
/// redraw so containers that start or stop come and go.
pub fn stats(paths: &Paths, g: &ComposeArgs, a: &ComposeStatsArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    let services: Vec<String> = a.service.iter().cloned().collect();
    let targets = || -> anyhow::Result<Vec<String>> {
        Ok(Compose::new(&engine, &project)
            .service_containers(&services)?
            .into_iter()
            .filter(|c| a.all || is_running(c.status))
            .map(|c| c.record.name)
            .collect())
    };
    let args = StatsArgs {
        all: a.all,
        no_stream: a.no_stream,
        no_trunc: a.no_trunc,
        format: a.format.clone(),
        containers: Vec::new(),
    };
    stats::show(&engine, &targets, &args)
}

/// `cp` flags.
#[derive(Debug, Args)]
pub struct ComposeCpArgs {
    /// Include containers of all replicas (copying into the containers).
    #[arg(long)]
    pub all: bool,
    /// Archive mode (copy all uid/gid information).
    #[arg(short, long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH.
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    /// Index of the container if the service has multiple replicas.
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    /// Source: SERVICE:PATH or a local path.
    pub src: String,
    /// Destination: SERVICE:PATH or a local path.
    pub dest: String,
}

/// `SERVICE:PATH`, if it is one (a path with a slash before the colon is local).
fn service_part(s: &str) -> Option<(&str, &str)> {
    let (svc, path) = s.split_once(':')?;
    (!svc.is_empty() && !svc.contains('/')).then_some((svc, path))
}

/// Runs `cp`: `berth cp` with the service's container in place of the service.
pub fn cp(paths: &Paths, g: &ComposeArgs, a: &ComposeCpArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    let compose = Compose::new(&engine, &project);
    let (src_svc, dest_svc) = (service_part(&a.src), service_part(&a.dest));
    let (service, path, into) = match (src_svc, dest_svc) {
        (Some((s, p)), None) => (s, p, false),
        (None, Some((s, p))) => (s, p, true),
        (Some(_), Some(_)) => {
            anyhow::bail!("copying between services is not supported\nhint: copy to the host first")
        }
        (None, None) => anyhow::bail!(
            "one of the source or destination must be SERVICE:PATH\nhint: e.g. `berth compose cp web:/etc/hosts .`"
        ),
    };
    let targets: Vec<String> = if into && a.all {
        compose
            .service_containers(&[service.to_string()])?
            .into_iter()
            .map(|c| c.record.name)
            .collect()
    } else {
        vec![compose.container_of(service, a.index)?.record.name]
    };
    drop(engine);
    for name in targets {
        let with = format!("{name}:{path}");
        let (src, dest) = if into {
            (a.src.clone(), with)
        } else {
            (with, a.dest.clone())
        };
        cp::run(
            paths,
            &CpArgs {
                archive: a.archive,
                follow_link: a.follow_link,
                quiet: true,
                src,
                dest,
            },
        )?;
    }
    Ok(())
}
