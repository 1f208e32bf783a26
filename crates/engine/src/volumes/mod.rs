//! Volumes: `volume create/ls/inspect/rm/prune`, on top of the store's records.
//! Data lives in `<data>/volumes/<name>/_data` and outlives the containers using it.

use std::collections::BTreeMap;

use berth_store::{NewVolume, VolumeFilter, VolumeRecord};
use serde_json::{Value, json};

pub mod device;

use crate::containers::inspect::rfc3339;
use crate::{Engine, Result};

impl Engine {
    /// `volume create` with the `local` driver; options (`type`, `device`, `o`) make a
    /// device-backed volume (see [`device`]).
    pub fn create_volume(
        &self,
        name: Option<&str>,
        labels: &[String],
        opts: &[String],
    ) -> Result<VolumeRecord> {
        let split = |list: &[String]| -> BTreeMap<String, String> {
            list.iter()
                .map(|l| {
                    let (k, v) = l.split_once('=').unwrap_or((l, ""));
                    (k.to_owned(), v.to_owned())
                })
                .collect()
        };
        device::DeviceOpts::parse(&split(opts))?;
        Ok(self.store().create_volume(&NewVolume {
            name: name.map(str::to_owned),
            driver: "local".into(),
            labels: split(labels),
            options: split(opts),
            anonymous: false,
        })?)
    }

    /// `volume ls`.
    pub fn list_volumes(&self, filter: &VolumeFilter) -> Result<Vec<VolumeRecord>> {
        Ok(self.store().list_volumes(filter)?)
    }

    /// `volume inspect` in Docker's shape.
    pub fn inspect_volume(&self, name: &str) -> Result<Value> {
        let v = self.store().get_volume(name)?;
        Ok(json!({
            "CreatedAt": rfc3339(Some(v.created)),
            "Driver": v.driver,
            "Labels": v.labels,
            "Mountpoint": v.mountpoint,
            "Name": v.name,
            "Options": v.options,
            "Scope": "local",
        }))
    }

    /// `volume rm [-f]`: refused while a container uses it; with `force`, a volume
    /// used only by stopped containers is detached from them first? No — as Docker,
    /// `-f` only ignores a missing volume; a volume in use is never removed.
    pub fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        match self.store().remove_volume(name) {
            Err(berth_store::Error::VolumeNotFound(_)) if force => Ok(()),
            r => Ok(r?),
        }
    }

    /// `volume prune`: unused anonymous volumes, or with `all` every unused one; the
    /// names removed with the bytes each held.
    pub fn prune_volumes(&self, all: bool) -> Result<Vec<(String, u64)>> {
        Ok(self.store().prune_volumes(all)?)
    }
}
