//! Docker's json-file log: one JSON object per line,
//! `{"log":"hi\n","stream":"stdout","time":"2024-01-01T00:00:00.000000000Z"}`, in
//! `<data>/containers/<id>/<id>-json.log`, rotated by `--log-opt max-size/max-file`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// `--log-opt` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    /// Rotate when the file would pass this size (None: never).
    pub max_size: Option<u64>,
    /// Files kept, the current one included.
    pub max_file: u32,
}

impl LogOptions {
    /// Parses `max-size=10m`, `max-file=3`.
    pub fn parse(opts: &[String]) -> Result<LogOptions> {
        let mut o = LogOptions {
            max_size: None,
            max_file: 1,
        };
        for kv in opts {
            let bad = |hint: &str| Error::Invalid {
                flag: "--log-opt",
                value: kv.clone(),
                hint: hint.into(),
            };
            match kv.split_once('=') {
                Some(("max-size", v)) => {
                    let n = super::units::parse_bytes("--log-opt max-size", v)?;
                    o.max_size = Some(
                        u64::try_from(n)
                            .map_err(|_| bad("size must be positive"))?
                            .max(1),
                    );
                }
                Some(("max-file", v)) => {
                    o.max_file = v
                        .parse()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| bad("max-file is a number >= 1"))?;
                }
                Some(("compress" | "labels" | "env" | "tag", _)) => {}
                _ => return Err(bad("json-file knows max-size=SIZE and max-file=N")),
            }
        }
        Ok(o)
    }
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The text, with its newline.
    pub log: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// RFC 3339 with nanoseconds, UTC.
    pub time: String,
}

/// The log file of container `id` in its directory.
pub fn log_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}-json.log"))
}

/// Appends entries to the log, rotating by size.
pub struct Writer {
    path: PathBuf,
    file: fs_err::File,
    size: u64,
    opts: LogOptions,
    partial: [Vec<u8>; 2],
}

impl Writer {
    /// Opens (appending) the log at `path`.
    pub fn open(path: PathBuf, opts: LogOptions) -> Result<Writer> {
        let file = fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::Io {
                path: path.clone(),
                source: e,
            })?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Writer {
            path,
            file,
            size,
            opts,
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// Adds output of `stream` (0 stdout, 1 stderr); complete lines are written, a
    /// partial one waits for its end (or [`Writer::flush_partial`]).
    pub fn write(&mut self, stream: usize, data: &[u8]) -> Result<()> {
        let idx = stream.min(1);
        self.partial[idx].extend_from_slice(data);
        while let Some(pos) = self.partial[idx].iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial[idx].drain(..=pos).collect();
            self.emit(idx, &line)?;
        }
        // Docker splits very long lines at 16 KiB.
        if self.partial[idx].len() >= 16 * 1024 {
            let line = std::mem::take(&mut self.partial[idx]);
            self.emit(idx, &line)?;
        }
        Ok(())
    }

    /// Writes out unterminated output (at exit).
    pub fn flush_partial(&mut self) -> Result<()> {
        for idx in 0..2 {
            if !self.partial[idx].is_empty() {
                let line = std::mem::take(&mut self.partial[idx]);
                self.emit(idx, &line)?;
            }
        }
        Ok(())
    }

    fn emit(&mut self, idx: usize, line: &[u8]) -> Result<()> {
        let e = Entry {
            log: String::from_utf8_lossy(line).into_owned(),
            stream: if idx == 0 { "stdout" } else { "stderr" }.into(),
            time: humantime::format_rfc3339_nanos(SystemTime::now()).to_string(),
        };
        let mut text = serde_json::to_string(&e).map_err(|e| Error::Json {
            what: "log entry".into(),
            source: e,
        })?;
        text.push('\n');
        if let Some(max) = self.opts.max_size
            && self.size > 0
            && self.size + text.len() as u64 > max
        {
            self.rotate()?;
        }
        self.file
            .write_all(text.as_bytes())
            .map_err(|e| Error::Io {
                path: self.path.clone(),
                source: e,
            })?;
        self.size += text.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> Result<()> {
        let name = |n: u32| PathBuf::from(format!("{}.{n}", self.path.display()));
        if self.opts.max_file <= 1 {
            self.file.set_len(0).map_err(|e| Error::Io {
                path: self.path.clone(),
                source: e,
            })?;
        } else {
            let _ = fs_err::remove_file(name(self.opts.max_file - 1));
            for n in (1..self.opts.max_file - 1).rev() {
                let _ = fs_err::rename(name(n), name(n + 1));
            }
            fs_err::rename(&self.path, name(1)).map_err(|e| Error::Io {
                path: self.path.clone(),
                source: e,
            })?;
            self.file = fs_err::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| Error::Io {
                    path: self.path.clone(),
                    source: e,
                })?;
        }
        self.size = 0;
        Ok(())
    }
}

/// The log files, oldest first (rotated ones, then the current).
pub fn files(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for n in (1..100).rev() {
        let p = PathBuf::from(format!("{}.{n}", path.display()));
        if p.exists() {
            out.push(p);
        }
    }
    out.push(path.to_owned());
    out
}

/// Reads every entry, oldest first.
pub fn read_all(path: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for f in files(path) {
        let Ok(file) = fs_err::File::open(&f) else {
            continue;
        };
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|e| Error::Io {
                path: f.clone(),
                source: e,
            })?;
            if let Ok(e) = serde_json::from_str::<Entry>(&line) {
                out.push(e);
            }
        }
    }
    Ok(out)
}

/// Parses `--since`/`--until`: RFC 3339, a Unix timestamp, or a duration before now
/// (`10m`, `1h30m`).
pub fn parse_time(flag: &'static str, s: &str) -> Result<SystemTime> {
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t);
    }
    if let Ok(secs) = s.parse::<f64>()
        && secs >= 0.0
    {
        return Ok(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs_f64(secs));
    }
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(SystemTime::now() - d);
    }
    Err(Error::Invalid {
        flag,
        value: s.to_owned(),
        hint: "use a timestamp (2024-01-02T15:04:05Z or Unix seconds) or a duration (10m)".into(),
    })
}

/// The time of an entry.
pub fn entry_time(e: &Entry) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(e.time.trim_end_matches('Z')).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_docker_json_and_rotate() {
        let d = tempfile::tempdir().unwrap();
        let path = log_path(d.path(), "abc");
        let opts = LogOptions::parse(&["max-size=200".into(), "max-file=3".into()]).unwrap();
        let mut w = Writer::open(path.clone(), opts).unwrap();
        w.write(0, b"hel").unwrap();
        w.write(0, b"lo\nworld\n").unwrap();
        w.write(1, b"oops").unwrap();
        w.flush_partial().unwrap();
        let all = read_all(&path).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].log, "hello\n");
        assert_eq!(all[2].stream, "stderr");
        assert!(all[0].time.ends_with('Z'));
        assert!(entry_time(&all[0]).is_some());
        for i in 0..20 {
            w.write(0, format!("line {i}\n").as_bytes()).unwrap();
        }
        assert!(PathBuf::from(format!("{}.1", path.display())).exists());
        assert!(PathBuf::from(format!("{}.2", path.display())).exists());
        assert!(!PathBuf::from(format!("{}.3", path.display())).exists());
        let all = read_all(&path).unwrap();
        assert_eq!(all.last().unwrap().log, "line 19\n");
        assert!(LogOptions::parse(&["max-size=12q".into()]).is_err());
        assert!(LogOptions::parse(&["bogus=1".into()]).is_err());
    }
}
