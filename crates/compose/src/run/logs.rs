//! `logs`: the json-file logs of a project's containers merged by time, optionally
//! followed (new lines of every container, containers that appear included) until no
//! container of the selection runs any more.

use std::collections::BTreeMap;
use std::io::{BufRead, Seek};
use std::path::PathBuf;
use std::time::Duration;

use berth_engine::containers::logs::{self, Entry};

use super::{Compose, ServiceContainer, is_running};
use crate::error::Result;

/// The flags of `logs`.
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    /// Services (empty: all).
    pub services: Vec<String>,
    /// `-f`.
    pub follow: bool,
    /// `--tail N` per container (None: all).
    pub tail: Option<usize>,
    /// Following ends when this turns true (a signal handler's flag).
    pub cancel: Option<&'static std::sync::atomic::AtomicBool>,
}

/// One line of one container.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// Container name.
    pub container: String,
    /// Service name.
    pub service: String,
    /// Container number.
    pub number: u32,
    /// The line as logged.
    pub entry: Entry,
}

struct Followed {
    path: PathBuf,
    offset: u64,
    partial: String,
    line: LogLine,
}

impl Compose<'_> {
    fn log_file(&self, c: &ServiceContainer) -> Result<PathBuf> {
        Ok(logs::log_path(
            &self.engine.store().container_dir(&c.record.id)?,
            &c.record.id,
        ))
    }

    /// Emits the logs of the selected containers to `sink` in time order; with `follow`,
    /// keeps emitting new lines until no selected container runs or `sink` returns false.
    pub fn logs(&self, opts: &LogsOptions, sink: &mut dyn FnMut(&LogLine) -> bool) -> Result<()> {
        let mut lines: Vec<LogLine> = Vec::new();
        let mut followed: BTreeMap<String, Followed> = BTreeMap::new();
        for c in self.service_containers(&opts.services)? {
            let path = self.log_file(&c)?;
            let entries = logs::read_all(&path)?;
            let skip = opts.tail.map_or(0, |n| entries.len().saturating_sub(n));
            let template = LogLine {
                container: c.record.name.clone(),
                service: c.service.clone(),
                number: c.number,
                entry: Entry {
                    log: String::new(),
                    stream: String::new(),
                    time: String::new(),
                },
            };
            for e in entries.into_iter().skip(skip) {
                lines.push(LogLine {
                    entry: e,
                    ..template.clone()
                });
            }
            let offset = fs_err::metadata(&path).map(|m| m.len()).unwrap_or(0);
            followed.insert(
                c.record.id.clone(),
                Followed {
                    path,
                    offset,
                    partial: String::new(),
                    line: template,
                },
            );
        }
        // RFC 3339 in UTC with fixed-width nanoseconds sorts as text.
        lines.sort_by(|a, b| a.entry.time.cmp(&b.entry.time));
        for l in &lines {
            if !sink(l) {
                return Ok(());
            }
        }
        if !opts.follow {
            return Ok(());
        }
        loop {
            let current = self.service_containers(&opts.services)?;
            for c in &current {
                if !followed.contains_key(&c.record.id) {
                    let path = self.log_file(c)?;
                    followed.insert(
                        c.record.id.clone(),
                        Followed {
                            path,
                            offset: 0,
                            partial: String::new(),
                            line: LogLine {
                                container: c.record.name.clone(),
                                service: c.service.clone(),
                                number: c.number,
                                entry: Entry {
                                    log: String::new(),
                                    stream: String::new(),
                                    time: String::new(),
                                },
                            },
                        },
                    );
                }
            }
            let mut fresh: Vec<LogLine> = Vec::new();
            for f in followed.values_mut() {
                read_new(f, &mut fresh)?;
            }
            fresh.sort_by(|a, b| a.entry.time.cmp(&b.entry.time));
            for l in &fresh {
                if !sink(l) {
                    return Ok(());
                }
            }
            let cancelled = opts
                .cancel
                .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed));
            if cancelled {
                return Ok(());
            }
            if !current.iter().any(|c| is_running(c.status)) {
                // One last read: lines written between the read above and the exit.
                let mut last = Vec::new();
                for f in followed.values_mut() {
                    read_new(f, &mut last)?;
                }
                last.sort_by(|a, b| a.entry.time.cmp(&b.entry.time));
                for l in &last {
                    if !sink(l) {
                        break;
                    }
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn read_new(f: &mut Followed, out: &mut Vec<LogLine>) -> Result<()> {
    let len = fs_err::metadata(&f.path).map(|m| m.len()).unwrap_or(0);
    if len < f.offset {
        // Rotated: the current file starts over.
        f.offset = 0;
    }
    if len <= f.offset {
        return Ok(());
    }
    let Ok(mut file) = fs_err::File::open(&f.path) else {
        return Ok(());
    };
    file.seek(std::io::SeekFrom::Start(f.offset))?;
    let mut r = std::io::BufReader::new(file);
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line)?;
        if n == 0 {
            break;
        }
        f.offset += n as u64;
        f.partial.push_str(&line);
        if f.partial.ends_with('\n') {
            if let Ok(e) = serde_json::from_str::<Entry>(&f.partial) {
                out.push(LogLine {
                    entry: e,
                    ..f.line.clone()
                });
            }
            f.partial.clear();
        }
    }
    Ok(())
}
