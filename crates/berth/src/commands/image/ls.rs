//! `berth images` / `berth image ls`.

use std::io::Write as _;

use berth_engine::Paths;
use berth_engine::images::repo_and_tag;
use berth_store::{ImageFilter, LabelFilter};
use clap::Args;
use serde_json::json;

use crate::format;

/// List images.
#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images).
    #[arg(short, long)]
    pub all: bool,
    /// Only show image IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Show digests.
    #[arg(long)]
    pub digests: bool,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Filter output: dangling=true|false, reference=PATTERN, label=KEY[=VALUE],
    /// before=IMAGE, since=IMAGE.
    #[arg(short, long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Format output using a Go template (`table …`, `{{json .}}`).
    #[arg(long)]
    pub format: Option<String>,
    /// Only images of this repository (and tag).
    pub repository: Option<String>,
}

fn parse_filters(args: &ImagesArgs) -> anyhow::Result<ImageFilter> {
    let mut f = ImageFilter {
        all: args.all,
        ..ImageFilter::default()
    };
    for s in &args.filters {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("bad format of filter (expected name=value): {s}"))?;
        match k {
            "dangling" => {
                f.dangling = Some(match v {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => anyhow::bail!(
                        "invalid filter 'dangling={v}'\nhint: use dangling=true or dangling=false"
                    ),
                });
            }
            "reference" => f.references.push(v.to_owned()),
            "label" => f.labels.push(LabelFilter::parse(v)),
            "before" => f.before = Some(v.to_owned()),
            "since" => f.since = Some(v.to_owned()),
            _ => anyhow::bail!(
                "invalid filter '{k}'\nhint: images filters are dangling, reference, label, before, since"
            ),
        }
    }
    if let Some(r) = &args.repository {
        f.references.push(r.clone());
    }
    Ok(f)
}

/// Runs `images`.
pub fn run(paths: &Paths, args: &ImagesArgs) -> anyhow::Result<()> {
    let filter = parse_filters(args)?;
    let engine = super::engine(paths)?;
    let images = engine.list_images(&filter)?;
    let mut out = std::io::stdout().lock();
    if args.quiet {
        let mut seen = Vec::new();
        for img in &images {
            let id = if args.no_trunc {
                img.id.clone()
            } else {
                short(&img.id)
            };
            if !seen.contains(&id) {
                writeln!(out, "{id}")?;
                seen.push(id);
            }
        }
        return Ok(());
    }
    let mut rows = Vec::new();
    for img in &images {
        let digest = engine
            .image_digest(img)
            .unwrap_or_else(|| "<none>".to_owned());
        let id = if args.no_trunc {
            img.id.clone()
        } else {
            short(&img.id)
        };
        let mut names: Vec<(String, String)> = img.tags.iter().map(|t| repo_and_tag(t)).collect();
        if names.is_empty() {
            names.push(("<none>".to_owned(), "<none>".to_owned()));
        }
        for (repo, tag) in names {
            rows.push(json!({
                "Repository": repo,
                "Tag": tag,
                "ID": id,
                "Digest": digest,
                "CreatedSince": format::since_ns(img.created),
                "CreatedAt": berth_engine::images::format_time_ns(img.created),
                "Size": format::human_size(img.size),
                "VirtualSize": format::human_size(img.size),
                "SharedSize": "N/A",
                "UniqueSize": "N/A",
                "Containers": "N/A",
                "Labels": img.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
            }));
        }
    }
    let tmpl = match &args.format {
        Some(f) => f.clone(),
        None if args.digests => {
            "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                .to_owned()
        }
        None => "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}".to_owned(),
    };
    let headers = [
        ("ID", "IMAGE ID"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
    ];
    write!(out, "{}", format::render_table(&tmpl, &rows, &headers)?)?;
    Ok(())
}

fn short(id: &str) -> String {
    id.strip_prefix("sha256:")
        .unwrap_or(id)
        .chars()
        .take(12)
        .collect()
}
