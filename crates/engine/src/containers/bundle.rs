//! A container's bundle `config.json`: written whole at create, and edited in place
//! where a later step decides part of it (`update`'s limits, namespaces shared with
//! other containers at start).

use std::path::Path;

use serde_json::Value;

use crate::{Error, Result};

/// Writes `config.json` in `dir` atomically.
pub(super) fn write_spec(dir: &Path, spec: &impl serde::Serialize) -> Result<()> {
    let path = dir.join("config.json");
    let text = serde_json::to_vec_pretty(spec).map_err(|e| Error::Json {
        what: "OCI spec".into(),
        source: e,
    })?;
    let tmp = dir.join(".config.json.tmp");
    fs_err::write(&tmp, text).map_err(|e| Error::Io {
        path: tmp.clone(),
        source: e,
    })?;
    fs_err::rename(&tmp, &path).map_err(|e| Error::Io { path, source: e })
}

/// Reads `config.json` in `dir`, lets `f` change it (returning whether it did) and
/// writes it back only then.
pub(crate) fn edit_spec(dir: &Path, f: impl FnOnce(&mut Value) -> Result<bool>) -> Result<()> {
    let path = dir.join("config.json");
    let text = fs_err::read(&path).map_err(|e| Error::Io {
        path: path.clone(),
        source: e,
    })?;
    let mut spec: Value = serde_json::from_slice(&text).map_err(|e| Error::Json {
        what: path.display().to_string(),
        source: e,
    })?;
    if f(&mut spec)? {
        write_spec(dir, &spec)?;
    }
    Ok(())
}

/// A spec's `process.env` as strings (entries that are not strings are dropped).
pub(crate) fn process_env(process: &Value) -> Vec<String> {
    process["env"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
