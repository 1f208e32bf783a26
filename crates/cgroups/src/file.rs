//! Small helpers for cgroup control files: every error names the file and the value.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::path::Path;

use crate::Error;

/// Reads a whole control file.
pub(crate) fn read(path: &Path) -> Result<String, Error> {
    let mut text = String::new();
    OpenOptions::new()
        .read(true)
        .open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(text)
}

/// Reads a control file, `None` if it does not exist (an optional kernel feature).
pub(crate) fn read_opt(path: &Path) -> Result<Option<String>, Error> {
    match read(path) {
        Ok(t) => Ok(Some(t)),
        Err(Error::Read { source, .. }) if source.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads a space separated list (`cgroup.controllers`).
pub(crate) fn read_words(path: &Path) -> Result<Vec<String>, Error> {
    Ok(read(path)?.split_whitespace().map(str::to_string).collect())
}

/// Parses one number; `max` (v2 for "no limit") reads as `u64::MAX`.
pub(crate) fn parse_u64(path: &Path, text: &str) -> Result<u64, Error> {
    let t = text.trim();
    if t == "max" {
        return Ok(u64::MAX);
    }
    t.parse().map_err(|_| Error::Parse {
        path: path.to_path_buf(),
        content: t.to_string(),
    })
}

/// Reads a single number, `None` if the file does not exist.
pub(crate) fn read_u64_opt(path: &Path) -> Result<Option<u64>, Error> {
    read_opt(path)?.map(|t| parse_u64(path, &t)).transpose()
}

/// Reads a single number, 0 if the file does not exist (stats are best effort per file).
pub(crate) fn read_u64_or_zero(path: &Path) -> Result<u64, Error> {
    Ok(read_u64_opt(path)?.unwrap_or(0))
}

/// Reads a flat keyed file (`key value` per line: memory.stat, cpu.stat, memory.events).
pub(crate) fn read_keyed(path: &Path) -> Result<BTreeMap<String, u64>, Error> {
    let Some(text) = read_opt(path)? else {
        return Ok(BTreeMap::new());
    };
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        if let (Some(k), Some(v), None) = (it.next(), it.next(), it.next()) {
            map.insert(k.to_string(), parse_u64(path, v)?);
        }
    }
    Ok(map)
}

/// Writes one value to a control file in a single write(2), as cgroupfs requires.
pub(crate) fn write(path: &Path, value: &str) -> Result<(), Error> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|source| Error::Write {
            path: path.to_path_buf(),
            value: value.to_string(),
            source,
        })
}

/// Writes a value if the control file exists; `Ok(false)` when it does not.
pub(crate) fn write_if_exists(path: &Path, value: &str) -> Result<bool, Error> {
    match write(path, value) {
        Ok(()) => Ok(true),
        Err(Error::Write { source, .. }) if source.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether `e` is a failed access to a file that does not exist.
pub(crate) fn is_not_found(e: &Error) -> bool {
    e.raw_os_error() == Some(libc::ENOENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_max() {
        let p = Path::new("x");
        assert_eq!(parse_u64(p, "42\n").unwrap(), 42);
        assert_eq!(parse_u64(p, "max\n").unwrap(), u64::MAX);
        assert!(parse_u64(p, "12k").is_err());
    }

    #[test]
    fn keyed_file_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("memory.events");
        fs_err::write(&p, "low 0\nhigh 3\noom_kill 2\n").unwrap();
        let m = read_keyed(&p).unwrap();
        assert_eq!(m["oom_kill"], 2);
        assert_eq!(m["high"], 3);
        assert!(read_keyed(&dir.path().join("nope")).unwrap().is_empty());
        assert!(!write_if_exists(&dir.path().join("nope"), "1").unwrap());
        let q = dir.path().join("pids.max");
        fs_err::write(&q, "").unwrap();
        assert!(write_if_exists(&q, "max").unwrap());
        assert_eq!(read(&q).unwrap(), "max");
    }
}
