//! `berth export [-o FILE] CONTAINER`.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use berth_engine::Paths;
use clap::Args;

/// Export a container's filesystem as a tar archive.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// The container.
    pub container: String,
}

/// Runs `berth export`.
pub fn run(paths: &Paths, args: &ExportArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    match &args.output {
        Some(p) => engine.export_container(
            &args.container,
            std::io::BufWriter::new(fs_err::File::create(p)?),
        )?,
        None => {
            if std::io::stdout().is_terminal() {
                anyhow::bail!(
                    "cowardly refusing to write a tar archive to a terminal\nhint: use -o FILE or redirect stdout"
                );
            }
            engine.export_container(
                &args.container,
                std::io::BufWriter::new(std::io::stdout().lock()),
            )?;
        }
    }
    Ok(())
}
