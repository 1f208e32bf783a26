//! `berth pull [-q] [--platform P] NAME[:TAG|@DIGEST]`.

use std::collections::HashMap;
use std::io::{IsTerminal as _, Write as _};

use anyhow::Context as _;
use berth_engine::Paths;
use berth_engine::images::{PullEvent, PullOptions};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Download an image from a registry.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Suppress verbose output: print only the image reference.
    #[arg(short, long)]
    pub quiet: bool,
    /// Set platform (os/arch[/variant]) if the image is multi-platform.
    #[arg(long)]
    pub platform: Option<String>,
    /// The image: NAME[:TAG|@DIGEST].
    pub name: String,
}

/// Prints pull progress: bars on a terminal, Docker's plain lines otherwise.
enum Printer {
    Quiet,
    Plain,
    Bars {
        multi: MultiProgress,
        bars: HashMap<String, ProgressBar>,
    },
}

impl Printer {
    fn new(quiet: bool) -> Printer {
        if quiet {
            Printer::Quiet
        } else if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
            Printer::Bars {
                multi: MultiProgress::new(),
                bars: HashMap::new(),
            }
        } else {
            Printer::Plain
        }
    }

    fn line(&self, s: &str) {
        match self {
            Printer::Quiet => {}
            Printer::Plain => {
                let _ = writeln!(std::io::stdout(), "{s}");
            }
            Printer::Bars { multi, .. } => {
                let _ = multi.println(s);
            }
        }
    }

    fn event(&mut self, ev: PullEvent) {
        let layer_line = |layer: &str, what: &str| format!("{layer}: {what}");
        match self {
            Printer::Quiet => {}
            Printer::Plain => {
                let text = match ev {
                    PullEvent::Resolved { .. } | PullEvent::Downloading { .. } => return,
                    PullEvent::AlreadyExists { layer } => layer_line(&layer, "Already exists"),
                    PullEvent::Waiting { layer, .. } => layer_line(&layer, "Pulling fs layer"),
                    PullEvent::DownloadComplete { layer } => {
                        format!(
                            "{}\n{}",
                            layer_line(&layer, "Verifying Checksum"),
                            layer_line(&layer, "Download complete")
                        )
                    }
                    PullEvent::Retrying { layer, error } => {
                        layer_line(&layer, &format!("Retrying ({error})"))
                    }
                    PullEvent::PullComplete { layer } => layer_line(&layer, "Pull complete"),
                };
                let _ = writeln!(std::io::stdout(), "{text}");
            }
            Printer::Bars { multi, bars } => {
                let style = ProgressStyle::with_template(
                    "{prefix}: {msg:20} [{bar:30}] {bytes}/{total_bytes}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
                match ev {
                    PullEvent::Resolved { .. } => {}
                    PullEvent::AlreadyExists { layer } => {
                        let _ = multi.println(layer_line(&layer, "Already exists"));
                    }
                    PullEvent::Waiting { layer, total } => {
                        let b = multi.add(ProgressBar::new(total));
                        b.set_style(style);
                        b.set_prefix(layer.clone());
                        b.set_message("Pulling fs layer");
                        bars.insert(layer, b);
                    }
                    PullEvent::Downloading { layer, current, .. } => {
                        if let Some(b) = bars.get(&layer) {
                            b.set_message("Downloading");
                            b.set_position(current);
                        }
                    }
                    PullEvent::DownloadComplete { layer } => {
                        if let Some(b) = bars.get(&layer) {
                            b.set_message("Download complete");
                            b.set_position(b.length().unwrap_or(0));
                        }
                    }
                    PullEvent::Retrying { layer, .. } => {
                        if let Some(b) = bars.get(&layer) {
                            b.set_message("Retrying");
                            b.set_position(0);
                        }
                    }
                    PullEvent::PullComplete { layer } => {
                        if let Some(b) = bars.remove(&layer) {
                            b.finish_and_clear();
                        }
                        let _ = multi.println(layer_line(&layer, "Pull complete"));
                    }
                }
            }
        }
    }
}

/// Runs `pull`.
pub fn run(paths: &Paths, args: &PullArgs) -> anyhow::Result<()> {
    let r = berth_image::Reference::parse(&args.name)?;
    let platform = args
        .platform
        .as_deref()
        .map(berth_image::Platform::parse)
        .transpose()?;
    let engine = super::engine(paths)?;
    let mut printer = Printer::new(args.quiet);
    let what = r.tag().map_or_else(|| r.api_reference(), str::to_owned);
    printer.line(&format!("{what}: Pulling from {}", r.repository()));
    let opts = PullOptions { platform };
    let outcome = engine
        .pull(&args.name, &opts, &mut |ev| printer.event(ev))
        .with_context(|| format!("pulling {}", r.familiar_name()))?;
    if let Printer::Bars { bars, .. } = &mut printer {
        for (_, b) in bars.drain() {
            b.finish_and_clear();
        }
    }
    printer.line(&format!("Digest: {}", outcome.digest));
    let status = if outcome.downloaded {
        "Downloaded newer image for"
    } else {
        "Image is up to date for"
    };
    printer.line(&format!("Status: {status} {}", r.familiar_name()));
    writeln!(std::io::stdout(), "{}", outcome.reference)?;
    Ok(())
}
