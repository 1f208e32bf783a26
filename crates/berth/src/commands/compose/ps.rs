//! `compose ps`, `compose port` and `compose ls`.

use std::io::Write as _;

use berth_compose::plan::LABEL_SERVICE;
use berth_compose::run::{Compose, list_projects};
use berth_engine::Paths;
use berth_engine::containers::inspect::status_text;
use clap::Args;
use serde_json::{Value, json};

use super::{ComposeArgs, open};
use crate::format;

/// `ps` flags.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all stopped containers.
    #[arg(short, long)]
    pub all: bool,
    /// Only display IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Display services.
    #[arg(long)]
    pub services: bool,
    /// Format: table, json, or a Go template.
    #[arg(long)]
    pub format: Option<String>,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Filter by status (running, exited …).
    #[arg(long)]
    pub status: Vec<String>,
    /// Services (default: all).
    #[arg(value_name = "SERVICE")]
    pub names: Vec<String>,
}

/// `port` flags.
#[derive(Debug, Args)]
pub struct PortArgs {
    /// tcp or udp.
    #[arg(long, default_value = "tcp")]
    pub protocol: String,
    /// Index of the container if the service has several replicas.
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    /// The service.
    pub service: String,
    /// The private port.
    pub private_port: u16,
}

/// `ls` flags.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Show all stopped Compose projects.
    #[arg(short, long)]
    pub all: bool,
    /// Only display project names.
    #[arg(short, long)]
    pub quiet: bool,
    /// Format: table or json.
    #[arg(long)]
    pub format: Option<String>,
}

/// Runs `ps`.
pub fn ps(paths: &Paths, g: &ComposeArgs, a: &PsArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    let compose = Compose::new(&engine, &project);
    let list: Vec<_> = compose
        .service_containers(&a.names)?
        .into_iter()
        .filter(|c| a.all || berth_compose::run::is_running(c.status) || !a.status.is_empty())
        .filter(|c| a.status.is_empty() || a.status.iter().any(|s| s == c.status.as_str()))
        .collect();
    let mut out = std::io::stdout().lock();
    if a.services {
        let mut seen = Vec::new();
        for c in &list {
            if !seen.contains(&c.service) {
                writeln!(out, "{}", c.service)?;
                seen.push(c.service.clone());
            }
        }
        return Ok(());
    }
    if a.quiet {
        for c in &list {
            writeln!(out, "{}", c.record.id)?;
        }
        return Ok(());
    }
    let rows: Vec<Value> = list
        .iter()
        .map(|c| {
            let stored = berth_engine::containers::Stored::parse(&c.record.id, c.record.config.as_deref())
                .unwrap_or_default();
            let mut cmd = std::iter::once(stored.path.clone())
                .chain(stored.args.iter().cloned())
                .collect::<Vec<_>>()
                .join(" ");
            if !a.no_trunc && cmd.chars().count() > 20 {
                cmd = cmd.chars().take(19).collect::<String>() + "…";
            }
            let mut rec = c.record.clone();
            rec.state.status = c.status;
            json!({
                "ID": c.record.id,
                "Name": c.record.name,
                "Names": c.record.name,
                "Image": c.record.image_ref,
                "Command": format!("\"{cmd}\""),
                "Project": project.name,
                "Service": c.record.labels.get(LABEL_SERVICE).cloned().unwrap_or_default(),
                "Created": c.record.created / 1_000_000_000,
                "CreatedAt": berth_engine::containers::inspect::rfc3339(Some(c.record.created)),
                "RunningFor": format::since_ns(c.record.created),
                "State": c.status.as_str(),
                "Status": status_text(&rec),
                "ExitCode": c.record.state.exit_code.unwrap_or(0),
                "Ports": berth_engine::networks::ports::ps_text(&c.record.state),
                "Labels": c.record.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
            })
        })
        .collect();
    match a.format.as_deref() {
        Some("json") => {
            for r in &rows {
                writeln!(out, "{r}")?;
            }
        }
        Some(t) if t != "table" => {
            let headers = [
                ("ID", "CONTAINER ID"),
                ("Name", "NAME"),
                ("Names", "NAMES"),
                ("RunningFor", "CREATED"),
                ("CreatedAt", "CREATED AT"),
            ];
            out.write_all(format::render_table(t, &rows, &headers)?.as_bytes())?;
        }
        _ => {
            let mut lines =
                vec!["NAME\tIMAGE\tCOMMAND\tSERVICE\tCREATED\tSTATUS\tPORTS".to_owned()];
            for r in &rows {
                let s = |k: &str| r[k].as_str().unwrap_or("").to_owned();
                lines.push(
                    [
                        s("Name"),
                        s("Image"),
                        s("Command"),
                        s("Service"),
                        s("RunningFor"),
                        s("Status"),
                        s("Ports"),
                    ]
                    .join("\t"),
                );
            }
            out.write_all(format::tabwrite(&lines).as_bytes())?;
        }
    }
    Ok(())
}

/// Runs `port`: the public address of a private port (`0.0.0.0:8080`).
pub fn port(paths: &Paths, g: &ComposeArgs, a: &PortArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    let compose = Compose::new(&engine, &project);
    let c = compose.container_of(&a.service, a.index)?;
    let want = format!("{}/{}", a.private_port, a.protocol);
    let lines = berth_engine::networks::ports::port_lines(&c.record.state, Some(&want))?
        .unwrap_or_default();
    match lines.first() {
        Some(l) => {
            let addr = l.split_once("-> ").map_or(l.as_str(), |(_, a)| a);
            println!("{addr}");
            Ok(())
        }
        None => anyhow::bail!("no port {want} for container {}", c.record.name),
    }
}

/// Runs `ls`.
pub fn ls(paths: &Paths, a: &LsArgs) -> anyhow::Result<()> {
    let engine = berth_engine::Engine::open(paths.clone())?;
    let projects: Vec<_> = list_projects(&engine)?
        .into_iter()
        .filter(|p| a.all || p.running)
        .collect();
    let mut out = std::io::stdout().lock();
    if a.quiet {
        for p in &projects {
            writeln!(out, "{}", p.name)?;
        }
        return Ok(());
    }
    if a.format.as_deref() == Some("json") {
        let v: Vec<Value> = projects
            .iter()
            .map(|p| json!({"Name": p.name, "Status": p.status, "ConfigFiles": p.config_files}))
            .collect();
        writeln!(out, "{}", Value::Array(v))?;
        return Ok(());
    }
    let mut lines = vec!["NAME\tSTATUS\tCONFIG FILES".to_owned()];
    for p in &projects {
        lines.push(format!("{}\t{}\t{}", p.name, p.status, p.config_files));
    }
    out.write_all(format::tabwrite(&lines).as_bytes())?;
    Ok(())
}
