//! `berth events [--since T] [--until T] [--filter K=V] [--format F]`.

use std::io::Write as _;

use berth_engine::Paths;
use berth_engine::containers::logs::parse_time;
use clap::Args;

/// Get real time events (container create, start, die, kill, stop, destroy, …).
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Show all events created since timestamp.
    #[arg(long)]
    pub since: Option<String>,
    /// Stream events until this timestamp.
    #[arg(long)]
    pub until: Option<String>,
    /// Filter output based on conditions provided (container, event, type).
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a Go template or `json`.
    #[arg(long)]
    pub format: Option<String>,
}

fn ns(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Runs `berth events`; without --until it follows, as Docker's.
pub fn run(paths: &Paths, args: &EventsArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    let since = args
        .since
        .as_deref()
        .map(|s| parse_time("--since", s))
        .transpose()?
        .map(ns);
    let until = args
        .until
        .as_deref()
        .map(|s| parse_time("--until", s))
        .transpose()?
        .map(ns);
    let mut filters = Vec::new();
    for f in &args.filter {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("bad format of filter (expected name=value): {f:?}"))?;
        if !matches!(k, "container" | "event" | "type") {
            anyhow::bail!("invalid filter {k:?}\nhint: event filters: container, event, type");
        }
        filters.push((k.to_owned(), v.to_owned()));
    }
    let follow = until.is_none();
    let mut out = std::io::stdout();
    let mut failed = None;
    engine.events(since, until, follow, |ev| {
        let id = ev["id"].as_str().unwrap_or("");
        let keep = filters.iter().all(|(k, v)| match k.as_str() {
            // Docker matches a container's id (or a prefix of it) or its name.
            "container" => {
                id.starts_with(v.as_str())
                    || ev["Actor"]["Attributes"]["name"] == v.trim_start_matches('/')
            }
            // Docker matches `health_status`, `exec_create` and `exec_start` as a prefix
            // of the action (`health_status: healthy`).
            "event" if matches!(v.as_str(), "health_status" | "exec_create" | "exec_start") => {
                ev["Action"]
                    .as_str()
                    .is_some_and(|a| a.starts_with(v.as_str()))
            }
            "event" => ev["Action"] == v.as_str(),
            _ => ev["Type"] == v.as_str(),
        });
        if !keep {
            return true;
        }
        let line = match args.format.as_deref() {
            Some("json") => ev.to_string(),
            Some(t) => match crate::format::render(t, ev) {
                Ok(s) => s,
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            },
            None => {
                let t = ev["timeNano"]
                    .as_i64()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0);
                let when = humantime::format_rfc3339_nanos(
                    std::time::UNIX_EPOCH + std::time::Duration::from_nanos(t),
                );
                // Docker's line: the attributes sorted by key, in parentheses.
                let attrs = ev["Actor"]["Attributes"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                let attrs = if attrs.is_empty() {
                    String::new()
                } else {
                    format!(" ({attrs})")
                };
                format!(
                    "{when} container {} {id}{attrs}",
                    ev["Action"].as_str().unwrap_or("")
                )
            }
        };
        writeln!(out, "{line}").is_ok() && out.flush().is_ok()
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
