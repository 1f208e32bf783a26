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

/// Formats lines as `logs` and attached `up` print them: `service-N  | text`, the prefix
/// padded to the longest name and coloured per service on a terminal.
pub struct LinePrinter {
    width: usize,
    colour_of: BTreeMap<String, &'static str>,
    colour: bool,
    prefix: bool,
    timestamps: bool,
}

impl LinePrinter {
    /// A printer for `compose`'s services; `names` are the `service-N` names shown first.
    pub fn new(
        compose: &Compose<'_>,
        names: &[String],
        colour: bool,
        prefix: bool,
        timestamps: bool,
    ) -> LinePrinter {
        LinePrinter {
            width: names.iter().map(String::len).max().unwrap_or(0),
            colour_of: compose
                .project()
                .model
                .services
                .keys()
                .enumerate()
                .map(|(i, s)| (s.clone(), COLOURS[i % COLOURS.len()]))
                .collect(),
            colour,
            prefix,
            timestamps,
        }
    }

    fn prefixed(&mut self, service: &str, name: &str, text: &str) -> String {
        self.width = self.width.max(name.len());
        let mut line = String::new();
        if self.prefix {
            let width = self.width;
            let p = format!("{name:<width$}  | ");
            match self.colour_of.get(service) {
                Some(c) if self.colour => line.push_str(&format!("\x1b[{c}m{p}\x1b[0m")),
                _ => line.push_str(&p),
            }
        }
        line.push_str(text);
        if !line.ends_with('\n') {
            line.push('\n');
        }
        line
    }

    /// One log line, ready to print.
    pub fn line(&mut self, l: &LogLine) -> String {
        let name = format!("{}-{}", l.service, l.number);
        let text = if self.timestamps {
            format!("{} {}", l.entry.time, l.entry.log)
        } else {
            l.entry.log.clone()
        };
        self.prefixed(&l.service, &name, &text)
    }

    /// `web-1 exited with code 0`, coloured as the service's prefix.
    pub fn exited(&self, l: &LogLine, code: i32) -> String {
        let text = format!("{}-{} exited with code {code}", l.service, l.number);
        match self.colour_of.get(&l.service) {
            Some(c) if self.colour => format!("\x1b[{c}m{text}\x1b[0m\n"),
            _ => format!("{text}\n"),
        }
    }
}

/// Writes `text` to stdout; false once stdout is gone.
pub fn emit(text: &str) -> bool {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).is_ok() && out.flush().is_ok()
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
    let mut p = LinePrinter::new(compose, &names, colour, prefix, timestamps);
    compose.logs(opts, &mut |l: &LogLine| emit(&p.line(l)))?;
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
