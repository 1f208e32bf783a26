//! `compose logs`: every selected container's lines, merged by time, each behind a
//! `service-N  | ` prefix (coloured per service on a terminal).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write as _};

use berth_compose::run::{Compose, LogLine, LogsOptions};
use berth_engine::Paths;
use clap::Args;

use super::{ComposeArgs, open};

/// `logs` flags.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow log output.
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end of the logs for each container.
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show timestamps.
    #[arg(short, long)]
    pub timestamps: bool,
    /// Produce monochrome output.
    #[arg(long)]
    pub no_color: bool,
    /// Don't print prefix in logs.
    #[arg(long)]
    pub no_log_prefix: bool,
    /// Services (default: all).
    pub services: Vec<String>,
}

/// Docker Compose's palette for service prefixes.
const COLOURS: [&str; 6] = ["36", "33", "32", "35", "34", "96"];

/// Prints the logs as `logs` and attached `up` do.
pub fn print_logs(
    compose: &Compose<'_>,
    opts: &LogsOptions,
    timestamps: bool,
) -> anyhow::Result<()> {
    print_with(
        compose,
        opts,
        timestamps,
        std::io::stdout().is_terminal(),
        true,
    )
}

fn print_with(
    compose: &Compose<'_>,
    opts: &LogsOptions,
    timestamps: bool,
    colour: bool,
    prefix: bool,
) -> anyhow::Result<()> {
    let names: Vec<String> = compose
        .service_containers(&opts.services)?
        .iter()
        .map(|c| format!("{}-{}", c.service, c.number))
        .collect();
    let mut width = names.iter().map(String::len).max().unwrap_or(0);
    let services: Vec<String> = compose.project().model.services.keys().cloned().collect();
    let colour_of: BTreeMap<&str, &str> = services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), COLOURS[i % COLOURS.len()]))
        .collect();
    let mut sink = |l: &LogLine| {
        let mut out = std::io::stdout().lock();
        let name = format!("{}-{}", l.service, l.number);
        width = width.max(name.len());
        let mut line = String::new();
        if prefix {
            let p = format!("{name:<width$}  | ");
            match colour_of.get(l.service.as_str()) {
                Some(c) if colour => line.push_str(&format!("\x1b[{c}m{p}\x1b[0m")),
                _ => line.push_str(&p),
            }
        }
        if timestamps {
            line.push_str(&l.entry.time);
            line.push(' ');
        }
        line.push_str(&l.entry.log);
        if !line.ends_with('\n') {
            line.push('\n');
        }
        out.write_all(line.as_bytes()).is_ok() && out.flush().is_ok()
    };
    compose.logs(opts, &mut sink)?;
    Ok(())
}

/// Runs `logs`.
pub fn run(paths: &Paths, g: &ComposeArgs, a: &LogsArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    let compose = Compose::new(&engine, &project);
    let tail = match a.tail.as_str() {
        "all" | "-1" => None,
        n => Some(n.parse().map_err(|_| {
            anyhow::anyhow!("invalid --tail value {n:?}\nhint: a number of lines or all")
        })?),
    };
    let opts = LogsOptions {
        services: a.services.clone(),
        follow: a.follow,
        tail,
        cancel: None,
    };
    let colour = std::io::stdout().is_terminal() && !a.no_color;
    print_with(&compose, &opts, a.timestamps, colour, !a.no_log_prefix)
}
