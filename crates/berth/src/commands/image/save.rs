//! `berth save [-o FILE] [--format docker-archive|oci-archive] IMAGE…`.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;

use anyhow::Context as _;
use berth_engine::Paths;
use berth_engine::images::SaveFormat;
use clap::Args;

/// Save one or more images to a tar archive (streamed to STDOUT by default).
///
/// The default is `docker save`'s docker-archive; `--format oci-archive` (or `oci`) writes
/// a tar of an OCI image layout instead, as podman's `--format oci-archive` does.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to a file instead of STDOUT.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Archive format: docker-archive (default) or oci-archive.
    #[arg(long, default_value = "docker-archive", value_parser = ["docker-archive", "oci-archive", "oci"])]
    pub format: String,
    /// Images (names, ids).
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// Runs `save`.
pub fn run(paths: &Paths, args: &SaveArgs) -> anyhow::Result<()> {
    let format = if args.format == "docker-archive" {
        SaveFormat::DockerArchive
    } else {
        SaveFormat::OciArchive
    };
    let engine = super::engine(paths)?;
    match &args.output {
        Some(p) => {
            // Written next to the target and renamed, so a failed save leaves no half file.
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let mut tmp = tempfile::Builder::new()
                .prefix(".berth-save-")
                .tempfile_in(dir)
                .with_context(|| format!("creating a file in {}", dir.display()))?;
            engine.save(
                &args.images,
                format,
                std::io::BufWriter::new(tmp.as_file_mut()),
            )?;
            tmp.persist(p)
                .with_context(|| format!("writing {}", p.display()))?;
        }
        None => {
            if std::io::stdout().is_terminal() {
                anyhow::bail!(
                    "cowardly refusing to save to a terminal\nhint: use the -o flag or redirect"
                );
            }
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            engine.save(&args.images, format, &mut out)?;
            out.flush()?;
        }
    }
    Ok(())
}
