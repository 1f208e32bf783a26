//! `--volumes-from CONTAINER[:ro|:rw]`: the volumes and bind mounts of another
//! container, at the same paths, as Docker gives them (tmpfs mounts are not shared).
//! A path this container mounts itself wins.

use std::borrow::Cow;

use super::RunOptions;
use crate::{Engine, Error, Result};

impl Engine {
    /// `opts` with the mounts `--volumes-from` names added as `-v` entries.
    pub(super) fn with_volumes_from<'a>(
        &self,
        opts: &'a RunOptions,
    ) -> Result<Cow<'a, RunOptions>> {
        if opts.volumes_from.is_empty() {
            return Ok(Cow::Borrowed(opts));
        }
        let mut own: Vec<String> = Vec::new();
        for v in &opts.volumes {
            own.push(super::mounts::parse_volume_flag(v)?.target);
        }
        for m in &opts.mounts {
            own.push(super::mounts::parse_mount_flag(m)?.target);
        }
        for t in &opts.tmpfs {
            own.push(super::mounts::parse_tmpfs_flag(t)?.target);
        }
        let mut out = opts.clone();
        for spec in &opts.volumes_from {
            let (name, mode) = match spec.rsplit_once(':') {
                Some((n, m @ ("ro" | "rw"))) => (n, Some(m)),
                _ => (spec.as_str(), None),
            };
            let (_, other) = self.container(name).map_err(|e| match e {
                Error::Store(berth_store::Error::ContainerNotFound(_)) => Error::Invalid {
                    flag: "--volumes-from",
                    value: spec.clone(),
                    hint: format!("no container named {name}"),
                },
                e => e,
            })?;
            for m in &other.mounts {
                if own
                    .iter()
                    .any(|t| t.trim_end_matches('/') == m.destination.trim_end_matches('/'))
                {
                    continue;
                }
                let source = match m.kind.as_str() {
                    "volume" => &m.name,
                    "bind" => &m.source,
                    _ => continue,
                };
                let ro = match mode {
                    Some(m) => m == "ro",
                    None => !m.rw,
                };
                let entry = format!("{source}:{}{}", m.destination, if ro { ":ro" } else { "" });
                own.push(m.destination.clone());
                out.volumes.push(entry);
            }
        }
        Ok(Cow::Owned(out))
    }
}
