//! `berth stats [-a] [--no-stream] [--no-trunc] [--format F] [CONTAINER...]`.

use std::collections::HashMap;
use std::io::Write as _;
use std::time::Duration;

use berth_engine::containers::stats::StatsSample;
use berth_engine::{Engine, Paths};
use berth_store::{ContainerFilter, ContainerStatus};
use clap::Args;
use serde_json::{Value, json};

use crate::format::{bytes_size, human_size};

/// How far apart the two samples behind a `--no-stream` CPU % are.
const CPU_WINDOW: Duration = Duration::from_millis(500);
/// How often the streaming table is redrawn (Docker's interval).
const REFRESH: Duration = Duration::from_secs(1);

/// Display a live stream of container(s) resource usage statistics.
#[derive(Debug, Args)]
pub struct StatsArgs {
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
    /// Containers (default: all running).
    pub containers: Vec<String>,
}

/// Runs `berth stats`: one table with `--no-stream`, else a table redrawn every second
/// until interrupted. Without names it follows the running (or, with `-a`, all)
/// containers as they come and go.
pub fn run(paths: &Paths, args: &StatsArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    let targets = || -> anyhow::Result<Vec<String>> {
        if !args.containers.is_empty() {
            return Ok(args.containers.clone());
        }
        let f = ContainerFilter {
            statuses: if args.all {
                vec![]
            } else {
                vec![ContainerStatus::Running]
            },
            ..Default::default()
        };
        Ok(engine
            .store()
            .list_containers(&f)?
            .into_iter()
            .map(|c| c.id[..12].to_owned())
            .collect())
    };
    show(&engine, &targets, args)
}

/// Prints stats of the containers `targets` names (asked again before every redraw),
/// as `args` says; shared with `compose stats`.
pub fn show(
    engine: &Engine,
    targets: &dyn Fn() -> anyhow::Result<Vec<String>>,
    args: &StatsArgs,
) -> anyhow::Result<()> {
    let mut prev: HashMap<String, StatsSample> = HashMap::new();
    loop {
        let names = targets()?;
        let sample_all = || -> anyhow::Result<Vec<StatsSample>> {
            names
                .iter()
                .map(|n| Ok(engine.container_stats(n)?))
                .collect()
        };
        let mut cur = sample_all()?;
        // CPU % needs two samples; the first round takes a short second look.
        if cur.iter().any(|s| s.pids > 0 && !prev.contains_key(&s.id)) {
            for s in &cur {
                prev.insert(s.id.clone(), s.clone());
            }
            std::thread::sleep(CPU_WINDOW);
            cur = sample_all()?;
        }
        let rows: Vec<Value> = names
            .iter()
            .zip(&cur)
            .map(|(label, s)| row(label, s, prev.get(&s.id), args.no_trunc))
            .collect();
        let mut out = String::new();
        if !args.no_stream {
            // Docker clears the screen and homes the cursor before each redraw.
            out.push_str("\x1b[2J\x1b[H");
        }
        out.push_str(&render(&rows, args.format.as_deref())?);
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(out.as_bytes())?;
        stdout.flush()?;
        if args.no_stream {
            return Ok(());
        }
        prev = cur.into_iter().map(|s| (s.id.clone(), s)).collect();
        std::thread::sleep(REFRESH);
    }
}

/// One row in Docker's `stats --format` field names.
fn row(label: &str, s: &StatsSample, prev: Option<&StatsSample>, no_trunc: bool) -> Value {
    let cpu = prev.map_or(0.0, |p| s.cpu_percent(p));
    let id = if no_trunc { &s.id[..] } else { &s.id[..12] };
    json!({
        "Container": label,
        "ID": id,
        "Name": s.name,
        "CPUPerc": format!("{cpu:.2}%"),
        "MemUsage": format!("{} / {}", bytes_size(s.mem_usage), bytes_size(s.mem_limit)),
        "MemPerc": format!("{:.2}%", s.mem_percent()),
        "NetIO": format!("{} / {}", human_size(s.net_rx), human_size(s.net_tx)),
        "BlockIO": format!("{} / {}", human_size(s.blk_read), human_size(s.blk_write)),
        "PIDs": s.pids.to_string(),
    })
}

fn render(rows: &[Value], format: Option<&str>) -> anyhow::Result<String> {
    const DEFAULT: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
    const HEADERS: &[(&str, &str)] = &[
        ("Container", "CONTAINER"),
        ("ID", "CONTAINER ID"),
        ("Name", "NAME"),
        ("CPUPerc", "CPU %"),
        ("MemUsage", "MEM USAGE / LIMIT"),
        ("MemPerc", "MEM %"),
        ("NetIO", "NET I/O"),
        ("BlockIO", "BLOCK I/O"),
        ("PIDs", "PIDS"),
    ];
    match format {
        Some("json") => Ok(rows.iter().map(|r| format!("{r}\n")).collect()),
        Some(t) => crate::format::render_table(t, rows, HEADERS),
        None => crate::format::render_table(DEFAULT, rows, HEADERS),
    }
}
