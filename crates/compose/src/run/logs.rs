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

/// What following a project's output yields.
#[derive(Debug, Clone, Copy)]
pub enum Output<'l> {
    /// A line of a container.
    Line(&'l LogLine),
    /// A followed container stopped (after its last line): `web-1 exited with code 0`.
    Exited {
        /// The container's service, number and name, as on its lines (no text).
        who: &'l LogLine,
        /// Its exit code.
        code: i32,
    },
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
        self.follow(opts, &mut |o| match o {
            Output::Line(l) => sink(l),
            Output::Exited { .. } => true,
        })
    }

    /// Like [`Compose::logs`], and when following also reports each container that stops
    /// (containers found stopped when following starts included), after its last line:
    /// what attached `up` prints and acts on (`--abort-on-container-exit`).
    pub fn follow(
        &self,
        opts: &LogsOptions,
        sink: &mut dyn FnMut(Output<'_>) -> bool,
    ) -> Result<()> {
        let mut lines: Vec<LogLine> = Vec::new();
        let mut followed: BTreeMap<String, Followed> = BTreeMap::new();
        // Containers seen running; one that stops is reported once.
        let mut running: BTreeMap<String, bool> = BTreeMap::new();
        let first = self.service_containers(&opts.services)?;
        for c in &first {
            let path = self.log_file(c)?;
            let entries = logs::read_all(&path)?;
            let skip = opts.tail.map_or(0, |n| entries.len().saturating_sub(n));
            let template = template(c);
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
            running.insert(c.record.id.clone(), true);
        }
        // RFC 3339 in UTC with fixed-width nanoseconds sorts as text.
        lines.sort_by(|a, b| a.entry.time.cmp(&b.entry.time));
        for l in &lines {
            if !sink(Output::Line(l)) {
                return Ok(());
            }
        }
        if !opts.follow {
            return Ok(());
        }
        let mut current = first;
        loop {
            for c in &current {
                if !followed.contains_key(&c.record.id) {
                    let path = self.log_file(c)?;
                    followed.insert(
                        c.record.id.clone(),
                        Followed {
                            path,
                            offset: 0,
                            partial: String::new(),
                            line: template(c),
                        },
                    );
                }
            }
            // The states were read before the logs: a container seen stopped has written
            // its last line, so its exit follows all of its lines.
            let mut fresh: Vec<LogLine> = Vec::new();
            for f in followed.values_mut() {
                read_new(f, &mut fresh)?;
            }
            fresh.sort_by(|a, b| a.entry.time.cmp(&b.entry.time));
            for l in &fresh {
                if !sink(Output::Line(l)) {
                    return Ok(());
                }
            }
            for c in &current {
                let was = running.insert(c.record.id.clone(), is_running(c.status));
                if was != Some(false) && !is_running(c.status) {
                    let who = template(c);
                    let code = c.record.state.exit_code.unwrap_or(0);
                    if !sink(Output::Exited { who: &who, code }) {
                        return Ok(());
                    }
                }
            }
            let cancelled = opts
                .cancel
                .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed));
            if cancelled || !current.iter().any(|c| is_running(c.status)) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
            current = self.service_containers(&opts.services)?;
        }
    }
}

fn template(c: &ServiceContainer) -> LogLine {
    LogLine {
        container: c.record.name.clone(),
        service: c.service.clone(),
        number: c.number,
        entry: Entry {
            log: String::new(),
            stream: String::new(),
            time: String::new(),
        },
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
