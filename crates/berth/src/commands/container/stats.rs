//! `berth stats [--no-stream] [--format F] [CONTAINER...]`.

use berth_engine::Paths;
use berth_store::{ContainerFilter, ContainerStatus};
use clap::Args;

use crate::format::human_size;

/// Display a live stream of container(s) resource usage statistics.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running).
    #[arg(short, long)]
    pub all: bool,
    /// Disable streaming stats and only pull the first result.
    #[arg(long)]
    pub no_stream: bool,
    /// Format output using a Go template or `json`.
    #[arg(long)]
    pub format: Option<String>,
    /// Containers (default: all running).
    pub containers: Vec<String>,
}

/// Runs `berth stats` (one sample; streaming samples every second until interrupted).
pub fn run(paths: &Paths, args: &StatsArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    let names: Vec<String> = if args.containers.is_empty() {
        let f = ContainerFilter {
            statuses: if args.all {
                vec![]
            } else {
                vec![ContainerStatus::Running]
            },
            ..Default::default()
        };
        engine
            .store()
            .list_containers(&f)?
            .into_iter()
            .map(|c| c.id)
            .collect()
    } else {
        args.containers.clone()
    };
    loop {
        let mut rows = Vec::new();
        for n in &names {
            let mut s = engine.container_stats(n)?;
            let usage = s["MemUsageBytes"].as_u64().unwrap_or(0);
            let limit = s["MemLimitBytes"].as_u64().unwrap_or(0);
            s["MemUsage"] = format!("{} / {}", human_size(usage), human_size(limit)).into();
            rows.push(s);
        }
        match args.format.as_deref() {
            Some("json") => rows.iter().for_each(|r| println!("{r}")),
            Some(t) => print!(
                "{}",
                crate::format::render_table(
                    t,
                    &rows,
                    &[
                        ("ID", "CONTAINER ID"),
                        ("MemUsage", "MEM USAGE / LIMIT"),
                        ("MemPerc", "MEM %")
                    ]
                )?
            ),
            None => {
                let mut lines =
                    vec!["CONTAINER ID\tNAME\tMEM USAGE / LIMIT\tMEM %\tPIDS".to_owned()];
                for r in &rows {
                    let s = |k: &str| {
                        r[k].as_str()
                            .map_or_else(|| r[k].to_string(), str::to_owned)
                    };
                    lines.push(
                        [s("ID"), s("Name"), s("MemUsage"), s("MemPerc"), s("PIDs")].join("\t"),
                    );
                }
                print!("{}", crate::format::tabwrite(&lines));
            }
        }
        if args.no_stream {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}
