//! `berth push NAME[:TAG]`.

use std::io::Write as _;

use anyhow::Context as _;
use berth_engine::Paths;
use berth_engine::images::PushEvent;
use clap::Args;

/// Upload an image to a registry.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Suppress verbose output.
    #[arg(short, long)]
    pub quiet: bool,
    /// The image: NAME[:TAG].
    pub name: String,
}

/// Runs `push`.
pub fn run(paths: &Paths, args: &PushArgs) -> anyhow::Result<()> {
    let r = berth_image::Reference::parse(&args.name)?;
    let engine = super::engine(paths)?;
    let mut out = std::io::stdout().lock();
    if !args.quiet {
        writeln!(out, "The push refers to repository [{}]", r.name())?;
    }
    let quiet = args.quiet;
    let mut print = |ev: PushEvent| {
        if quiet {
            return;
        }
        let line = match ev {
            PushEvent::Preparing { layer } => format!("{layer}: Preparing"),
            PushEvent::Exists { layer } => format!("{layer}: Layer already exists"),
            PushEvent::Mounted { layer, from } => format!("{layer}: Mounted from {from}"),
            PushEvent::Pushed { layer } => format!("{layer}: Pushed"),
        };
        let _ = writeln!(std::io::stdout(), "{line}");
    };
    let (digest, size) = engine
        .push(&args.name, &mut print)
        .with_context(|| format!("pushing {}", r.familiar_name()))?;
    let tag = r.tag().unwrap_or("latest");
    if args.quiet {
        writeln!(out, "{}", r.familiar_name())?;
    } else {
        writeln!(out, "{tag}: digest: {digest} size: {size}")?;
    }
    Ok(())
}
