//! `berth system df [-v] [--format F]`: disk used by images, containers, volumes and
//! the build cache, with Docker's columns and reclaimable figures.

use berth_engine::Paths;
use berth_engine::containers::Stored;
use berth_engine::system::DiskUsage;
use clap::Args;
use serde_json::{Value, json};

use crate::format::{self, human_size4};

/// Show berth disk usage.
#[derive(Debug, Args)]
pub struct DfArgs {
    /// Show detailed information on space usage.
    #[arg(short, long)]
    pub verbose: bool,
    /// Format output using a Go template or `json`.
    #[arg(long)]
    pub format: Option<String>,
}

/// `SIZE (PCT%)` as Docker prints a reclaimable figure.
fn reclaimable(part: u64, total: u64) -> String {
    match (part * 100).checked_div(total) {
        Some(pct) => format!("{} ({pct}%)", human_size4(part)),
        None => human_size4(part),
    }
}

fn summary(du: &DiskUsage, cache: berth_build::CacheUsage) -> Vec<Value> {
    let c_total: u64 = du.containers.iter().map(|c| c.size_rw).sum();
    let c_idle: u64 = du
        .containers
        .iter()
        .filter(|c| !c.record.state.status.is_active())
        .map(|c| c.size_rw)
        .sum();
    let v_total: u64 = du.volumes.iter().map(|v| v.size).sum();
    let v_idle: u64 = du
        .volumes
        .iter()
        .filter(|v| v.links == 0)
        .map(|v| v.size)
        .sum();
    let row = |t: &str, total: usize, act: usize, size: u64, rec: String| json!({"Type": t, "TotalCount": total, "Active": act, "Size": human_size4(size), "Reclaimable": rec});
    vec![
        row(
            "Images",
            du.images.len(),
            du.images.iter().filter(|i| i.containers > 0).count(),
            du.layers_size,
            reclaimable(du.images_reclaimable(), du.layers_size),
        ),
        row(
            "Containers",
            du.containers.len(),
            du.containers
                .iter()
                .filter(|c| c.record.state.status.is_active())
                .count(),
            c_total,
            reclaimable(c_idle, c_total),
        ),
        row(
            "Local Volumes",
            du.volumes.len(),
            du.volumes.iter().filter(|v| v.links > 0).count(),
            v_total,
            reclaimable(v_idle, v_total),
        ),
        row(
            "Build Cache",
            cache.entries,
            0,
            cache.size,
            reclaimable(cache.size, cache.size),
        ),
    ]
}

/// Runs `berth system df`.
pub fn run(paths: &Paths, args: &DfArgs) -> anyhow::Result<()> {
    let engine = super::super::container::engine(paths)?;
    engine.reconcile_running()?;
    let du = engine.disk_usage()?;
    let cache = berth_build::Cache::open(&paths.data)?.usage(&engine)?;
    let headers: &[(&str, &str)] = &[
        ("Type", "TYPE"),
        ("TotalCount", "TOTAL"),
        ("Active", "ACTIVE"),
        ("Size", "SIZE"),
        ("Reclaimable", "RECLAIMABLE"),
    ];
    let rows = summary(&du, cache);
    match args.format.as_deref() {
        Some("json") => rows.iter().for_each(|r| println!("{r}")),
        Some(t) => print!("{}", format::render_table(t, &rows, headers)?),
        None if args.verbose => print!("{}", verbose(&du, cache)?),
        None => print!(
            "{}",
            format::render_table(
                "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
                &rows,
                headers
            )?
        ),
    }
    Ok(())
}

fn verbose(du: &DiskUsage, cache: berth_build::CacheUsage) -> anyhow::Result<String> {
    let mut out = String::from("Images space usage:\n\n");
    let mut lines = vec![
        "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS".to_owned(),
    ];
    for i in &du.images {
        let id: String =
            i.id.trim_start_matches("sha256:")
                .chars()
                .take(12)
                .collect();
        let mut names: Vec<(String, String)> = i
            .tags
            .iter()
            .map(|t| berth_engine::images::repo_and_tag(t))
            .collect();
        if names.is_empty() {
            names.push(("<none>".into(), "<none>".into()));
        }
        for (repo, tag) in names {
            lines.push(
                [
                    repo,
                    tag,
                    id.clone(),
                    format::since_ns(i.created),
                    human_size4(i.size),
                    human_size4(i.shared_size),
                    human_size4(i.size - i.shared_size.min(i.size)),
                    i.containers.to_string(),
                ]
                .join("\t"),
            );
        }
    }
    out.push_str(&format::tabwrite(&lines));
    out.push_str("\nContainers space usage:\n\n");
    let mut lines = vec![
        "CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES".to_owned(),
    ];
    for c in &du.containers {
        let r = &c.record;
        let stored = Stored::parse(&r.id, r.config.as_deref()).unwrap_or_default();
        lines.push(
            [
                r.id.chars().take(12).collect(),
                r.image_ref.clone(),
                crate::commands::container::ps::command_of(&stored.path, &stored.args, false),
                c.volumes.to_string(),
                human_size4(c.size_rw),
                format::since_ns(r.created),
                berth_engine::containers::inspect::status_text(r),
                r.name.clone(),
            ]
            .join("\t"),
        );
    }
    out.push_str(&format::tabwrite(&lines));
    out.push_str("\nLocal Volumes space usage:\n\n");
    let mut lines = vec!["VOLUME NAME\tLINKS\tSIZE".to_owned()];
    for v in &du.volumes {
        lines.push(format!("{}\t{}\t{}", v.name, v.links, human_size4(v.size)));
    }
    out.push_str(&format::tabwrite(&lines));
    out.push_str(&format!(
        "\nBuild cache usage: {} ({} steps, {} layers no image uses)\n",
        human_size4(cache.size),
        cache.entries,
        cache.layers
    ));
    Ok(out)
}
