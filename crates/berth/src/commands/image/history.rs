//! `berth history IMAGE`.

use std::io::Write as _;

use berth_engine::Paths;
use clap::Args;
use serde_json::json;

use crate::format;

/// Show the history of an image.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Print sizes and dates in human readable format.
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub human: bool,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Format output using a Go template.
    #[arg(long)]
    pub format: Option<String>,
    /// The image.
    pub image: String,
}

/// Runs `history`.
pub fn run(paths: &Paths, args: &HistoryArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    let entries = engine.image_history(&args.image)?;
    let mut out = std::io::stdout().lock();
    let id = |s: &str| {
        if args.no_trunc || s == "<missing>" {
            s.to_owned()
        } else {
            s.strip_prefix("sha256:")
                .unwrap_or(s)
                .chars()
                .take(12)
                .collect()
        }
    };
    if args.quiet {
        for e in &entries {
            writeln!(out, "{}", id(&e.id))?;
        }
        return Ok(());
    }
    let rows: Vec<_> = entries
        .iter()
        .map(|e| {
            let by = e.created_by.replace('\t', " ");
            let by = if args.no_trunc || by.chars().count() <= 45 {
                by
            } else {
                by.chars().take(44).collect::<String>() + "…"
            };
            json!({
                "ID": id(&e.id),
                "CreatedSince": if args.human { format::since_ns(e.created) } else { berth_engine::images::format_time_ns(e.created) },
                "CreatedAt": berth_engine::images::format_time_ns(e.created),
                "CreatedBy": by,
                "Size": if args.human { format::human_size(e.size) } else { e.size.to_string() },
                "Comment": e.comment,
            })
        })
        .collect();
    let tmpl = args.format.clone().unwrap_or_else(|| {
        "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}".to_owned()
    });
    let headers = [
        ("ID", "IMAGE"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("CreatedBy", "CREATED BY"),
    ];
    write!(out, "{}", format::render_table(&tmpl, &rows, &headers)?)?;
    Ok(())
}
