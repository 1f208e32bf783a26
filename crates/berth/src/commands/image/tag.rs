//! `berth tag SOURCE TARGET`.

use berth_engine::Paths;
use clap::Args;

/// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// The image to tag (name, id).
    pub source: String,
    /// The new name: NAME[:TAG].
    pub target: String,
}

/// Runs `tag`.
pub fn run(paths: &Paths, args: &TagArgs) -> anyhow::Result<()> {
    berth_image::Reference::parse(&args.target)?;
    let engine = super::engine(paths)?;
    engine.tag(&args.source, &args.target)?;
    Ok(())
}
