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

/// The COMMAND column: the process and its arguments, quoted, cut at 20 characters.
pub(crate) fn command_of(path: &str, args: &[String], no_trunc: bool) -> String {
    let mut cmd = std::iter::once(path.to_owned())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    if !no_trunc && cmd.chars().count() > 20 {
        cmd = cmd.chars().take(19).collect::<String>() + "…";
    }
    format!("\"{cmd}\"")
}

/// One listed container, as the strings `ps` prints. The table is written from these
/// directly; `--format` gets them as a JSON object (Docker's field names).
struct Row {
    id: String,
    image: String,
    command: String,
    created_at: String,
    running_for: String,
    status: String,
    state: &'static str,
    ports: String,
    names: String,
    labels: String,
    mounts: String,
    size: String,
}

impl Row {
    fn to_value(&self) -> Value {
        json!({
            "ID": self.id,
            "Image": self.image,
            "Command": self.command,
            "CreatedAt": self.created_at,
            "RunningFor": self.running_for,
            "Status": self.status,
            "State": self.state,
            "Ports": self.ports,
            "Names": self.names,
            "Labels": self.labels,
            "Mounts": self.mounts,
            "Networks": "",
            "Size": self.size,
        })
    }
}

fn row(engine: &Engine, c: &ContainerRecord, args: &PsArgs, want_created_at: bool) -> Row {
    let stored = Listed::parse(c.config.as_deref());
    let id = if args.no_trunc {
        c.id.clone()
    } else {
        c.id.chars().take(12).collect()
    };
    let mut labels = String::new();
    for (k, v) in &c.labels {
        if !labels.is_empty() {
            labels.push(',');
        }
        labels.push_str(k);
        labels.push('=');
        labels.push_str(v);
    }
    let mut r = Row {
        id,
        image: c.image_ref.clone(),
        command: command_of(&stored.path, &stored.args, args.no_trunc),
        // The table does not show it; formatting a date per row is not free.
        created_at: if want_created_at {
            berth_engine::containers::inspect::rfc3339(Some(c.created))
        } else {
            String::new()
        },
        running_for: format::since_ns(c.created),
        status: status_text(c),
        state: c.state.status.as_str(),
        ports: berth_engine::networks::ports::ps_text(&c.state),
        names: c.name.clone(),
        labels,
        mounts: mounts_of(&stored, args.no_trunc),
        size: String::new(),
    };
    if args.size {
        let upper = engine
            .store()
            .container_dir(&c.id)
            .map(|d| d.join("upper"))
            .unwrap_or_default();
        let rw = berth_store::tree_size(&upper);
        let image = c
            .image_id
            .as_deref()
            .and_then(|i| engine.store().get_image(i).ok())
            .map_or(0, |i| i.size);
        // Docker's: the container's own files, then with its image's.
        r.size = format!(
            "{} (virtual {})",
            format::human_size(rw),
            format::human_size(rw + image)
        );
    }
    r
}

/// Runs `berth ps`.
pub fn run(paths: &Paths, args: &PsArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    // A container whose monitor was killed shows as exited, not "Up" for ever.
    engine.reconcile_running()?;
    let (mut f, post) = filter(&engine, args)?;
    // Every column and filter reads only these of a state's extra keys.
    f.state_keys = Some(berth_engine::containers::inspect::listing_state_keys());
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
    let table = !matches!(args.format.as_deref(), Some(t) if t != "table");
    let rows: Vec<Row> = list.iter().map(|c| row(&engine, c, args, !table)).collect();
    match args.format.as_deref() {
        Some("json") => {
            for r in &rows {
                writeln!(out, "{}", r.to_value())?;
            }
        }
        Some(t) if t != "table" => {
            let headers = [
                ("ID", "CONTAINER ID"),
                ("Names", "NAMES"),
                ("RunningFor", "CREATED"),
                ("CreatedAt", "CREATED AT"),
            ];
            let values: Vec<Value> = rows.iter().map(Row::to_value).collect();
            out.write_all(format::render_table(t, &values, &headers)?.as_bytes())?;
        }
        _ => {
            let mut lines = Vec::with_capacity(rows.len() + 1);
            lines.push(if args.size {
                "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\tSIZE".to_owned()
            } else {
                "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES".to_owned()
            });
            for r in &rows {
                let mut l = [
                    r.id.as_str(),
                    &r.image,
                    &r.command,
                    &r.running_for,
                    &r.status,
                    &r.ports,
                    &r.names,
                ]
                .join("\t");
                if args.size {
                    l.push('\t');
                    l.push_str(&r.size);
                }
                lines.push(l);
            }
            out.write_all(format::tabwrite(&lines).as_bytes())?;
        }
    }
    Ok(())
}
