//! `berth logs [-f] [--tail N] [--since T] [--until T] [-t] CONTAINER`.

use std::io::{BufRead, Seek, Write};
use std::time::{Duration, SystemTime};

use berth_engine::Paths;
use berth_engine::containers::logs::{self, Entry};
use berth_store::ContainerStatus;
use clap::Args;

/// Fetch the logs of a container.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow log output.
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end of the logs ("all" for all).
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m).
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs before a timestamp or relative time.
    #[arg(long)]
    pub until: Option<String>,
    /// Show timestamps.
    #[arg(short, long)]
    pub timestamps: bool,
    /// Show extra details (accepted; berth has none to show).
    #[arg(long)]
    pub details: bool,
    /// The container.
    pub container: String,
}

fn print(e: &Entry, ts: bool) {
    let text = if ts {
        format!("{} {}", e.time, e.log)
    } else {
        e.log.clone()
    };
    if e.stream == "stderr" {
        let _ = std::io::stderr().write_all(text.as_bytes());
    } else {
        let _ = std::io::stdout().write_all(text.as_bytes());
    }
}

/// Runs `berth logs`.
pub fn run(paths: &Paths, args: &LogsArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    let (rec, stored) = engine.container(&args.container)?;
    if stored.opts.log_driver.as_deref() == Some("none") {
        anyhow::bail!(
            "configured logging driver does not support reading\nhint: the container was created with --log-driver none"
        );
    }
    let since = args
        .since
        .as_deref()
        .map(|s| logs::parse_time("--since", s))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|s| logs::parse_time("--until", s))
        .transpose()?;
    let tail: Option<usize> = match args.tail.as_str() {
        "all" | "-1" => None,
        n => Some(n.parse().map_err(|_| {
            anyhow::anyhow!("invalid --tail value {n:?}\nhint: a number of lines or all")
        })?),
    };
    let keep = |e: &Entry| {
        let t = logs::entry_time(e);
        since.is_none_or(|s| t.is_some_and(|t| t >= s))
            && until.is_none_or(|u| t.is_some_and(|t| t < u))
    };
    let path = logs::log_path(&engine.store().container_dir(&rec.id)?, &rec.id);
    let entries: Vec<Entry> = logs::read_all(&path)?
        .into_iter()
        .filter(|e| keep(e))
        .collect();
    let skip = tail.map_or(0, |n| entries.len().saturating_sub(n));
    for e in &entries[skip..] {
        print(e, args.timestamps);
    }
    let _ = std::io::stdout().flush();
    if !args.follow {
        return Ok(());
    }
    // Follow: read new lines from the current file; a shrink means it was rotated.
    let mut offset = fs_err::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let mut partial = String::new();
    loop {
        let running = matches!(
            engine
                .store()
                .get_container(&rec.id)
                .map(|c| c.state.status),
            Ok(ContainerStatus::Running | ContainerStatus::Restarting | ContainerStatus::Paused)
        );
        let len = fs_err::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if len < offset {
            offset = 0;
        }
        if len > offset
            && let Ok(mut f) = fs_err::File::open(&path)
        {
            f.seek(std::io::SeekFrom::Start(offset))?;
            let mut r = std::io::BufReader::new(f);
            loop {
                let mut line = String::new();
                let n = r.read_line(&mut line)?;
                if n == 0 {
                    break;
                }
                offset += n as u64;
                partial.push_str(&line);
                if partial.ends_with('\n') {
                    if let Ok(e) = serde_json::from_str::<Entry>(&partial)
                        && keep(&e)
                    {
                        print(&e, args.timestamps);
                    }
                    partial.clear();
                }
            }
            let _ = std::io::stdout().flush();
        }
        if !running {
            return Ok(());
        }
        if until.is_some_and(|u| SystemTime::now() >= u) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
