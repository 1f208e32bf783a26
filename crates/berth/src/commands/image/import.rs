//! `berth import FILE|URL|- [REPO[:TAG]] [-c CHANGE]… [-m MSG]`.

use std::io::Write as _;

use anyhow::Context as _;
use berth_engine::Paths;
use berth_engine::images::{ImportOptions, parse_change};
use clap::Args;

/// Import the contents from a tarball to create a filesystem image.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A tarball path, an http(s) URL, or `-` for STDIN.
    pub file: String,
    /// Name the image REPO[:TAG].
    pub reference: Option<String>,
    /// Apply a Dockerfile instruction to the image (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
    /// USER, VOLUME, WORKDIR, STOPSIGNAL).
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub changes: Vec<String>,
    /// Commit message for the imported image.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Set platform (os/arch[/variant]) of the image.
    #[arg(long)]
    pub platform: Option<String>,
}

/// Runs `import`.
pub fn run(paths: &Paths, args: &ImportArgs) -> anyhow::Result<()> {
    let changes = args
        .changes
        .iter()
        .map(|c| parse_change(c))
        .collect::<Result<Vec<_>, _>>()?;
    let platform = args
        .platform
        .as_deref()
        .map(berth_image::Platform::parse)
        .transpose()?;
    if let Some(r) = &args.reference {
        // Check the name before reading a possibly large tarball.
        berth_image::Reference::parse(r)?;
    }
    let opts = ImportOptions {
        reference: args.reference.clone(),
        changes,
        message: args.message.clone(),
        source: args.file.clone(),
        platform,
    };
    let engine = super::engine(paths)?;
    let id = if args.file == "-" {
        engine.import(std::io::stdin().lock(), &opts)
    } else if args.file.starts_with("http://") || args.file.starts_with("https://") {
        engine.import_url(&args.file, &opts)
    } else {
        let f = fs_err::File::open(&args.file)?;
        engine.import(f, &opts)
    }
    .with_context(|| format!("importing {}", args.file))?;
    writeln!(std::io::stdout(), "{id}")?;
    Ok(())
}
