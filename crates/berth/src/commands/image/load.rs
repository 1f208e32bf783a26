//! `berth load [-i FILE] [-q]`.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use berth_engine::Paths;
use clap::Args;

/// Load images from a tar archive (docker-archive, OCI layout or oci-archive) or STDIN.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from this archive file (or OCI layout directory) instead of STDIN.
    #[arg(short, long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Suppress the load output.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs `load`.
pub fn run(paths: &Paths, args: &LoadArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    let loaded = match &args.input {
        Some(p) => engine
            .load(p)
            .with_context(|| format!("loading {}", p.display()))?,
        None => {
            if nix::unistd::isatty(std::io::stdin()).unwrap_or(false) {
                anyhow::bail!(
                    "requested load from stdin, but stdin is empty\nhint: pipe an archive in, or pass -i FILE"
                );
            }
            engine
                .load_reader(std::io::stdin().lock())
                .context("loading from stdin")?
        }
    };
    if args.quiet {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    for img in loaded {
        if img.tags.is_empty() {
            writeln!(out, "Loaded image ID: {}", img.id)?;
        }
        for t in img.tags {
            writeln!(out, "Loaded image: {}", berth_engine::images::familiar(&t))?;
        }
    }
    Ok(())
}
