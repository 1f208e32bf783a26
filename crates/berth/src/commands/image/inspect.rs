//! `berth image inspect [-f FORMAT] IMAGE…`.

use std::io::Write as _;

use berth_engine::Paths;
use clap::Args;

use crate::format;

/// Display detailed information on one or more images.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format the output using a Go template.
    #[arg(short, long)]
    pub format: Option<String>,
    /// Images (names, ids).
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// Runs `image inspect`: all found images are printed, then the errors (exit 125 if any).
pub fn run(paths: &Paths, args: &InspectArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in &args.images {
        match engine.inspect_image(name) {
            Ok(v) => found.push(v),
            Err(e) => errors.push(format!("{e}")),
        }
    }
    let mut out = std::io::stdout().lock();
    match &args.format {
        Some(f) => {
            for v in &found {
                writeln!(out, "{}", format::render(f, v)?)?;
            }
        }
        None => writeln!(out, "{}", serde_json::to_string_pretty(&found)?)?,
    }
    if errors.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{}", errors.join("\n"))
    }
}
