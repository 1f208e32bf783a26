//! The `run`/`create` flags that pick host-side machinery rather than kernel settings:
//! `--runtime` (berth is its own OCI runtime), `--gpus` (Docker's device requests) and
//! `--storage-opt` (a quota on the container's writable layer). Each is checked as
//! Docker's daemon checks it, before anything is created.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The runtime names berth answers to: its own runtime, which speaks runc's command line.
pub const RUNTIMES: &[&str] = &["runc", "berth"];

/// The flags (stored with the container as given, after parsing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostOptions {
    /// `--runtime NAME`.
    pub runtime: Option<String>,
    /// `--gpus`, as Docker's `HostConfig.DeviceRequests`.
    pub gpus: Vec<DeviceRequest>,
    /// `--storage-opt KEY=VALUE`.
    pub storage_opt: BTreeMap<String, String>,
}

/// One device request (`HostConfig.DeviceRequests` entry), as Docker's CLI makes it from
/// `--gpus`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceRequest {
    /// `driver=`; empty picks whichever driver has the capabilities.
    pub driver: String,
    /// How many devices (-1: all).
    pub count: i64,
    /// `device=0,2`.
    #[serde(rename = "DeviceIDs")]
    pub device_ids: Option<Vec<String>>,
    /// `capabilities=…` (always with `gpu`).
    pub capabilities: Vec<Vec<String>>,
    /// `options=…`.
    pub options: BTreeMap<String, String>,
}

fn refused(message: String) -> Error {
    Error::Refused { message }
}

/// Splits one CSV record (Docker's CLI reads `--gpus` with a CSV reader, so
/// `'"device=0,2"'` keeps its comma).
fn csv_fields(s: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(Error::Invalid {
            flag: "--gpus",
            value: s.to_owned(),
            hint: "a quote is not closed".into(),
        });
    }
    out.push(cur);
    Ok(out)
}

/// Parses a `--gpus` value as Docker's CLI does: `all`, a count, `device=0,2` (quoted when
/// it has several ids: `'"device=0,2"'`), `driver=`, `count=`, `capabilities=`, `options=`.
pub fn parse_gpus(s: &str) -> Result<DeviceRequest> {
    let bad = |hint: String| Error::Invalid {
        flag: "--gpus",
        value: s.to_owned(),
        hint,
    };
    let count = |v: &str| -> Result<i64> {
        match v {
            "all" => Ok(-1),
            n => n
                .parse::<i64>()
                .map_err(|_| bad(format!("count must be an integer or all, not {n:?}"))),
        }
    };
    let mut req = DeviceRequest::default();
    let mut seen: Vec<String> = Vec::new();
    let mut has_count = false;
    for field in csv_fields(s)? {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (field.clone(), None),
        };
        if seen.contains(&key) {
            return Err(bad(format!(
                "gpu request key {key:?} can be given only once"
            )));
        }
        seen.push(key.clone());
        let Some(val) = val else {
            req.count = count(&key)?;
            has_count = true;
            continue;
        };
        match key.as_str() {
            "driver" => req.driver = val,
            "count" => {
                req.count = count(&val)?;
                has_count = true;
            }
            "device" => req.device_ids = Some(val.split(',').map(str::to_owned).collect()),
            "capabilities" => {
                let mut caps: Vec<String> = val.split(',').map(str::to_owned).collect();
                caps.push("gpu".into());
                req.capabilities = vec![caps];
            }
            "options" => {
                for kv in csv_fields(&val)? {
                    let (k, v) = kv.split_once('=').unwrap_or((&kv, ""));
                    req.options.insert(k.to_owned(), v.to_owned());
                }
            }
            k => {
                return Err(bad(format!(
                    "unexpected key {k:?}; use all, a count, or driver=, count=, device=, capabilities=, options="
                )));
            }
        }
    }
    if !has_count && req.device_ids.is_none() {
        req.count = 1;
    }
    if req.capabilities.is_empty() {
        req.capabilities = vec![vec!["gpu".into()]];
    }
    Ok(req)
}

/// Parses `--storage-opt KEY=VALUE` entries.
pub fn parse_storage_opts(list: &[String]) -> Result<BTreeMap<String, String>> {
    list.iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_ascii_lowercase(), v.to_owned())),
            _ => Err(Error::Invalid {
                flag: "--storage-opt",
                value: kv.clone(),
                hint: "use KEY=VALUE, e.g. size=10G".into(),
            }),
        })
        .collect()
}

/// Whether `dir` sits on xfs mounted with project quotas (`pquota`/`prjquota`), the only
/// place Docker's overlay2 driver can limit a container's writable layer.
fn xfs_project_quota(dir: &Path) -> Result<bool> {
    let st = nix::sys::statfs::statfs(dir).map_err(|e| Error::Sys {
        what: format!("statfs {}", dir.display()),
        source: e,
    })?;
    if st.filesystem_type() != nix::sys::statfs::XFS_SUPER_MAGIC {
        return Ok(false);
    }
    // The mount that holds `dir`: the longest mount point that prefixes it.
    let info = fs_err::read_to_string("/proc/self/mountinfo").map_err(|e| Error::Io {
        path: "/proc/self/mountinfo".into(),
        source: e,
    })?;
    let best = info
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let sep = f.iter().position(|x| *x == "-")?;
            Some((*f.get(4)?, *f.get(sep + 3)?))
        })
        .filter(|(mp, _)| dir.starts_with(mp))
        .max_by_key(|(mp, _)| mp.len());
    Ok(best.is_some_and(|(_, opts)| {
        opts.split(',')
            .any(|o| matches!(o, "prjquota" | "pquota" | "pqnoenforce"))
    }))
}

impl HostOptions {
    /// Checks every value as Docker's daemon does; `storage` is where the container's
    /// writable layer will live.
    pub fn validate(&self, storage: &Path) -> Result<()> {
        if let Some(r) = self.runtime.as_deref()
            && !r.is_empty()
            && !RUNTIMES.contains(&r)
        {
            return Err(refused(format!(
                "unknown or invalid runtime name: {r}\nhint: berth is its own OCI runtime; use --runtime runc (or berth), or leave it out"
            )));
        }
        if let Some(req) = self.gpus.first() {
            // Docker registers the NVIDIA driver only where the NVIDIA container toolkit is
            // installed; berth drives no device driver plugins at all.
            let caps: Vec<String> = req
                .capabilities
                .iter()
                .map(|c| format!("[{}]", c.join(" ")))
                .collect();
            return Err(refused(format!(
                "could not select device driver {:?} with capabilities: [{}]\nhint: berth has no GPU device driver; --gpus is not supported",
                req.driver,
                caps.join(" ")
            )));
        }
        for (k, v) in &self.storage_opt {
            if k != "size" {
                return Err(Error::Invalid {
                    flag: "--storage-opt",
                    value: format!("{k}={v}"),
                    hint: format!("unknown storage option {k:?}; overlay supports only size"),
                });
            }
            super::units::parse_bytes("--storage-opt", v)?;
        }
        if !self.storage_opt.is_empty() {
            let quota = xfs_project_quota(storage)?;
            return Err(refused(if quota {
                format!(
                    "--storage-opt size is not supported by berth yet ({} is on xfs with project quotas, but berth sets no quotas)",
                    storage.display()
                )
            } else {
                "--storage-opt is supported only for overlay over xfs with 'pquota' mount option"
                    .to_owned()
            }));
        }
        Ok(())
    }

    /// `HostConfig.Runtime`: what was asked, `runc` (Docker's default name) otherwise.
    pub fn runtime_name(&self) -> &str {
        self.runtime
            .as_deref()
            .filter(|r| !r.is_empty())
            .unwrap_or("runc")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpus_parse_like_docker() {
        let all = parse_gpus("all").unwrap();
        assert_eq!(all.count, -1);
        assert_eq!(all.capabilities, vec![vec!["gpu".to_owned()]]);
        assert_eq!(parse_gpus("2").unwrap().count, 2);
        let d = parse_gpus("\"device=0,2\"").unwrap();
        assert_eq!(d.device_ids, Some(vec!["0".to_owned(), "2".to_owned()]));
        assert_eq!(d.count, 0);
        let c = parse_gpus("\"capabilities=compute,utility\",driver=nvidia").unwrap();
        assert_eq!(c.capabilities, vec![vec!["compute", "utility", "gpu"]]);
        assert_eq!(c.driver, "nvidia");
        assert_eq!(parse_gpus("driver=nvidia").unwrap().count, 1);
        assert!(parse_gpus("two").is_err());
        assert!(parse_gpus("count=1,count=2").is_err());
        assert!(parse_gpus("color=red").is_err());
        assert!(parse_gpus("\"device=0").is_err());
    }

    #[test]
    fn gpus_and_runtimes_are_refused_as_docker_does() {
        let h = HostOptions {
            gpus: vec![parse_gpus("all").unwrap()],
            ..HostOptions::default()
        };
        let e = h.validate(Path::new("/")).unwrap_err().to_string();
        assert!(
            e.starts_with("could not select device driver \"\" with capabilities: [[gpu]]"),
            "{e}"
        );
        let h = HostOptions {
            runtime: Some("crun".into()),
            ..HostOptions::default()
        };
        let e = h.validate(Path::new("/")).unwrap_err().to_string();
        assert!(
            e.starts_with("unknown or invalid runtime name: crun"),
            "{e}"
        );
        let ok = HostOptions {
            runtime: Some("runc".into()),
            ..HostOptions::default()
        };
        assert!(ok.validate(Path::new("/")).is_ok());
        assert_eq!(HostOptions::default().runtime_name(), "runc");
        assert!(parse_storage_opts(&["size".into()]).is_err());
    }
}
