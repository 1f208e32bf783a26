//! `berth ps [-a] [-q] [-s] [-l] [-n N] [--no-trunc] [--filter K=V] [--format F]`.

use std::io::Write as _;

use berth_engine::containers::health::Health;
use berth_engine::containers::inspect::status_text;
use berth_engine::{Engine, Paths};
use berth_store::{ContainerFilter, ContainerRecord, ContainerStatus, LabelFilter};
use clap::Args;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::format;

/// List containers.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running).
    #[arg(short, long)]
    pub all: bool,
    /// Only display container IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Display total file sizes.
    #[arg(short, long)]
    pub size: bool,
    /// Show the latest created container (includes all states).
    #[arg(short, long)]
    pub latest: bool,
    /// Show n last created containers (includes all states).
    #[arg(short = 'n', long)]
    pub last: Option<usize>,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Filter output based on conditions provided (status, name, label, ancestor, id,
    /// exited, health, before, since).
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a Go template, or `json`, or `table`.
    #[arg(long)]
    pub format: Option<String>,
}

fn status_of(s: &str) -> anyhow::Result<ContainerStatus> {
    Ok(match s {
        "created" => ContainerStatus::Created,
        "running" => ContainerStatus::Running,
        "paused" => ContainerStatus::Paused,
        "restarting" => ContainerStatus::Restarting,
        "removing" => ContainerStatus::Removing,
        "exited" => ContainerStatus::Exited,
        "dead" => ContainerStatus::Dead,
        _ => anyhow::bail!(
            "invalid filter 'status={s}'\nhint: status is one of created, restarting, running, removing, paused, exited, dead"
        ),
    })
}

/// `--filter health=…`: the container's health status, or `none` without a check.
fn health_of(c: &ContainerRecord) -> String {
    Health::of(&c.state).map_or_else(|| "none".to_owned(), |h| h.status)
}

/// The filters applied to the listed records (the store does not index them).
#[derive(Default)]
struct Post {
    /// `health=`: any of these statuses.
    health: Vec<String>,
    /// `before=CONTAINER`: created before it (ns).
    before: Option<i64>,
    /// `since=CONTAINER`: created after it (ns).
    since: Option<i64>,
}

impl Post {
    fn is_empty(&self) -> bool {
        self.health.is_empty() && self.before.is_none() && self.since.is_none()
    }

    fn keeps(&self, c: &ContainerRecord) -> bool {
        (self.health.is_empty() || self.health.contains(&health_of(c)))
            && self.before.is_none_or(|t| c.created < t)
            && self.since.is_none_or(|t| c.created > t)
    }
}

/// Builds the store filter from `ps`'s flags, and what is checked on the records.
fn filter(engine: &Engine, args: &PsArgs) -> anyhow::Result<(ContainerFilter, Post)> {
    let mut f = ContainerFilter::default();
    let mut post = Post::default();
    let created = |v: &str| -> anyhow::Result<i64> { Ok(engine.store().get_container(v)?.created) };
    for kv in &args.filter {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("bad format of filter (expected name=value): {kv:?}"))?;
        match k {
            "status" => f.statuses.push(status_of(v)?),
            "name" => f.names.push(v.to_owned()),
            "id" => f.ids.push(v.to_owned()),
            "health" => {
                if !matches!(v, "starting" | "healthy" | "unhealthy" | "none") {
                    anyhow::bail!(
                        "invalid filter 'health={v}'\nhint: health is one of starting, healthy, unhealthy, none"
                    );
                }
                post.health.push(v.to_owned());
            }
            "before" => post.before = Some(created(v)?),
            "since" => post.since = Some(created(v)?),
            "label" => f.labels.push(LabelFilter::parse(v)),
            "exited" => f.exit_codes.push(
                v.parse()
                    .map_err(|_| anyhow::anyhow!("invalid filter 'exited={v}': not a number"))?,
            ),
            "ancestor" => match engine.find_image(v) {
                Ok(img) => f.image_ids.push(img.id),
                // An unknown image matches nothing, as Docker.
                Err(_) => f.image_ids.push(format!("missing:{v}")),
            },
            _ => anyhow::bail!(
                "invalid filter {k:?}\nhint: ps filters: status, name, label, ancestor, id, exited, health, before, since"
            ),
        }
    }
    let all = args.all || args.latest || args.last.is_some() || !f.exit_codes.is_empty();
    if !all && f.statuses.is_empty() {
        f.statuses = vec![
            ContainerStatus::Running,
            ContainerStatus::Paused,
            ContainerStatus::Restarting,
        ];
    }
    f.limit = if args.latest { Some(1) } else { args.last };
    f.include_config = !args.quiet;
    Ok((f, post))
}

/// The part of a container's stored config (`containers::Stored`) that a listing
/// shows. Deserialising only this skips the flags and the image config without
/// building them: with 1,000 containers, building every full config was most of
/// `ps`'s time.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Listed {
    path: String,
    args: Vec<String>,
    mounts: Vec<ListedMount>,
}

/// A mount as `ps` shows it (field names as `containers::MountPoint` stores them).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct ListedMount {
    name: String,
    source: String,
}

impl Listed {
    fn parse(json: Option<&str>) -> Listed {
        json.filter(|j| !j.is_empty())
            .and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_default()
    }
}

/// Docker's `.Mounts`: volume names, else host paths; cut to 15 characters unless
/// `--no-trunc`.
fn mounts_of(stored: &Listed, no_trunc: bool) -> String {
    stored
        .mounts
        .iter()
        .map(|m| {
            let name = if m.name.is_empty() {
                &m.source
            } else {
                &m.name
            };
            if !no_trunc && name.chars().count() > 15 {
                name.chars().take(14).collect::<String>() + "…"
            } else {
                name.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn command_of(stored: &Listed, no_trunc: bool) -> String {
    let mut cmd = std::iter::once(stored.path.clone())
        .chain(stored.args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    if !no_trunc && cmd.chars().count() > 20 {
        cmd = cmd.chars().take(19).collect::<String>() + "…";
    }
    format!("\"{cmd}\"")
}

fn row(engine: &Engine, c: &ContainerRecord, args: &PsArgs) -> Value {
    let stored = Listed::parse(c.config.as_deref());
    let id = if args.no_trunc {
        c.id.clone()
    } else {
        c.id.chars().take(12).collect()
    };
    let mut v = json!({
        "ID": id,
        "Image": c.image_ref,
        "Command": command_of(&stored, args.no_trunc),
        "CreatedAt": berth_engine::containers::inspect::rfc3339(Some(c.created)),
        "RunningFor": format::since_ns(c.created),
        "Status": status_text(c),
        "State": c.state.status.as_str(),
        "Ports": berth_engine::networks::ports::ps_text(&c.state),
        "Names": c.name,
        "Labels": c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
        "Mounts": mounts_of(&stored, args.no_trunc),
        "Networks": "",
        "Size": "",
    });
    if args.size {
        let upper = engine
            .store()
            .container_dir(&c.id)
            .map(|d| d.join("upper"))
            .unwrap_or_default();
        let rw = super::dir_size(&upper);
        let image = c
            .image_id
            .as_deref()
            .and_then(|i| engine.store().get_image(i).ok())
            .map_or(0, |i| i.size);
        // Docker's: the container's own files, then with its image's.
        v["Size"] = json!(format!(
            "{} (virtual {})",
            format::human_size(rw),
            format::human_size(rw + image)
        ));
    }
    v
}

/// Runs `berth ps`.
pub fn run(paths: &Paths, args: &PsArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    // A container whose monitor was killed shows as exited, not "Up" for ever.
    engine.reconcile_running()?;
    let (mut f, post) = filter(&engine, args)?;
    let limit = f.limit;
    if !post.is_empty() {
        // -n/-l count the containers that pass every filter.
        f.limit = None;
    }
    let mut list = engine.store().list_containers(&f)?;
    if !post.is_empty() {
        list.retain(|c| post.keeps(c));
        if let Some(n) = limit {
            list.truncate(n);
        }
    }
    let mut out = std::io::stdout().lock();
    if args.quiet {
        let mut s = String::with_capacity(list.len() * 13);
        for c in &list {
            if args.no_trunc {
                s.push_str(&c.id);
            } else {
                s.push_str(&c.id[..12.min(c.id.len())]);
            }
            s.push('\n');
        }
        out.write_all(s.as_bytes())?;
        return Ok(());
    }
    let rows: Vec<Value> = list.iter().map(|c| row(&engine, c, args)).collect();
    match args.format.as_deref() {
        Some("json") => {
            for r in &rows {
                writeln!(out, "{r}")?;
            }
        }
        Some(t) if t != "table" => {
            let headers = [
                ("ID", "CONTAINER ID"),
                ("Names", "NAMES"),
                ("RunningFor", "CREATED"),
                ("CreatedAt", "CREATED AT"),
            ];
            out.write_all(format::render_table(t, &rows, &headers)?.as_bytes())?;
        }
        _ => {
            let mut lines = vec![if args.size {
                "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\tSIZE".to_owned()
            } else {
                "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES".to_owned()
            }];
            for r in &rows {
                let s = |k: &str| r[k].as_str().unwrap_or("").to_owned();
                let mut l = [
                    s("ID"),
                    s("Image"),
                    s("Command"),
                    s("RunningFor"),
                    s("Status"),
                    s("Ports"),
                    s("Names"),
                ]
                .join("\t");
                if args.size {
                    l.push('\t');
                    l.push_str(&s("Size"));
                }
                lines.push(l);
            }
            out.write_all(format::tabwrite(&lines).as_bytes())?;
        }
    }
    Ok(())
}
