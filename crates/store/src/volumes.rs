//! Volume records and their data directories (`volumes/<name>/_data`).
//!
//! A volume mounted by a container (see [`crate::NewContainer::volumes`]) cannot
//! be removed. Removal deletes the row first, then the directory; recovery
//! never deletes a volume directory on its own (it may hold user data), and
//! creating the same name again adopts it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rusqlite::{OptionalExtension as _, params};

use crate::Store;
use crate::containers::valid_name;
use crate::db::{json_to_map, label_clause, map_to_json};
use crate::digest::{now_ns, random_id, short_id};
use crate::error::{Error, Result};

/// A volume to create.
#[derive(Debug, Clone, Default)]
pub struct NewVolume {
    /// Name; `None` makes an anonymous volume with a random 64-hex name.
    pub name: Option<String>,
    /// Driver; empty means `local`.
    pub driver: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Driver options (`--opt`).
    pub options: BTreeMap<String, String>,
    /// Anonymous (from `VOLUME` or `-v /path`): removed by `rm -v` and by
    /// a plain `volume prune`.
    pub anonymous: bool,
}

/// A stored volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeRecord {
    /// Name.
    pub name: String,
    /// Driver.
    pub driver: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Driver options.
    pub options: BTreeMap<String, String>,
    /// Creation time, ns.
    pub created: i64,
    /// The data directory.
    pub mountpoint: PathBuf,
    /// Anonymous volume.
    pub anonymous: bool,
}

/// Filters for [`Store::list_volumes`] (`volume ls --filter`).
#[derive(Debug, Clone, Default)]
pub struct VolumeFilter {
    /// `name=`: substrings.
    pub names: Vec<String>,
    /// `dangling=`: not used by any container (true) or used (false).
    pub dangling: Option<bool>,
    /// `driver=`.
    pub drivers: Vec<String>,
    /// `label=`; all must match.
    pub labels: Vec<crate::LabelFilter>,
}

const COLS: &str = "v.name, v.driver, v.labels, v.options, v.created, v.anonymous";

type Row = (String, String, String, String, i64, bool);

impl Store {
    fn volume_dir(&self, name: &str) -> PathBuf {
        self.root.join("volumes").join(name)
    }

    fn volume_record(&self, row: Row) -> Result<VolumeRecord> {
        let (name, driver, labels, options, created, anonymous) = row;
        Ok(VolumeRecord {
            labels: json_to_map(|| format!("labels of volume {name}"), &labels)?,
            options: json_to_map(|| format!("options of volume {name}"), &options)?,
            mountpoint: self.volume_dir(&name).join("_data"),
            name,
            driver,
            created,
            anonymous,
        })
    }

    /// Creates a volume and its data directory. Creating an existing name
    /// with the same driver returns the existing volume, as Docker does.
    pub fn create_volume(&self, new: &NewVolume) -> Result<VolumeRecord> {
        let name = match &new.name {
            Some(n) => n.clone(),
            None => random_id()?,
        };
        if !valid_name(&name) {
            return Err(Error::InvalidName {
                kind: "volume",
                name,
            });
        }
        let driver = if new.driver.is_empty() {
            "local"
        } else {
            &new.driver
        };
        let data = self.volume_dir(&name).join("_data");
        self.write(|tx| {
            let existing: Option<String> = tx
                .query_row("SELECT driver FROM volumes WHERE name = ?1", [&name], |r| r.get(0))
                .optional()?;
            match existing {
                Some(d) if d == driver => return Ok(()),
                Some(d) => {
                    return Err(Error::VolumeDriverConflict {
                        name: name.clone(),
                        existing: d,
                        requested: driver.to_owned(),
                    });
                }
                None => {}
            }
            // Inside the transaction: if mkdir fails, no row claims a
            // directory that does not exist.
            fs_err::create_dir_all(&data)?;
            tx.execute(
                "INSERT INTO volumes (name, driver, labels, options, created, anonymous) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    name,
                    driver,
                    map_to_json(&new.labels),
                    map_to_json(&new.options),
                    now_ns(),
                    new.anonymous
                ],
            )?;
            Ok(())
        })?;
        self.get_volume(&name)
    }

    /// One volume.
    pub fn get_volume(&self, name: &str) -> Result<VolumeRecord> {
        let row = self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT {COLS} FROM volumes v WHERE v.name = ?1"),
                [name],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .optional()?)
        })?;
        match row {
            Some(row) => self.volume_record(row),
            None => Err(Error::VolumeNotFound(name.to_owned())),
        }
    }

    /// Volumes matching `filter`, by name, in one query.
    pub fn list_volumes(&self, filter: &VolumeFilter) -> Result<Vec<VolumeRecord>> {
        let mut clauses = Vec::new();
        let mut p: Vec<rusqlite::types::Value> = Vec::new();
        let used = "EXISTS (SELECT 1 FROM container_volumes cv WHERE cv.volume = v.name)";
        match filter.dangling {
            Some(true) => clauses.push(format!("NOT {used}")),
            Some(false) => clauses.push(used.to_owned()),
            None => {}
        }
        let mut items = Vec::new();
        for n in &filter.names {
            p.push(n.clone().into());
            items.push(format!("instr(v.name, ?{}) > 0", p.len()));
        }
        if !items.is_empty() {
            clauses.push(format!("({})", items.join(" OR ")));
        }
        let mut items = Vec::new();
        for d in &filter.drivers {
            p.push(d.clone().into());
            items.push(format!("v.driver = ?{}", p.len()));
        }
        if !items.is_empty() {
            clauses.push(format!("({})", items.join(" OR ")));
        }
        for l in &filter.labels {
            clauses.push(label_clause("v.labels", l, &mut p));
        }
        let mut sql = format!("SELECT {COLS} FROM volumes v");
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(" ORDER BY v.name");
        let rows: Vec<Row> = self.read(|c| {
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map(rusqlite::params_from_iter(p), |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        rows.into_iter().map(|r| self.volume_record(r)).collect()
    }

    /// Full ids of the containers that mount a volume.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>> {
        self.read(|c| {
            let mut st =
                c.prepare_cached("SELECT container_id FROM container_volumes WHERE volume = ?1")?;
            let rows = st.query_map([name], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Removes a volume and its data; refused while a container mounts it.
    pub fn remove_volume(&self, name: &str) -> Result<()> {
        self.write(|tx| {
            let mut st =
                tx.prepare_cached("SELECT container_id FROM container_volumes WHERE volume = ?1")?;
            let users = st
                .query_map([name], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            if !users.is_empty() {
                return Err(Error::VolumeInUse {
                    name: name.to_owned(),
                    containers: users.iter().map(|u| short_id(u)).collect(),
                });
            }
            if tx.execute("DELETE FROM volumes WHERE name = ?1", [name])? == 0 {
                return Err(Error::VolumeNotFound(name.to_owned()));
            }
            Ok(())
        })?;
        // A device-backed volume may still have its device mounted on `_data` (a
        // container that crashed): deleting through it would delete the device's
        // files, for a bind the user's own directory.
        let data = self.volume_dir(name).join("_data");
        let _ = nix::mount::umount2(&data, nix::mount::MntFlags::MNT_DETACH);
        self.trash(&self.volume_dir(name))
    }

    /// `volume prune`: removes unused anonymous volumes; with `all`, every
    /// unused volume. Returns the names removed with the bytes each held.
    pub fn prune_volumes(&self, all: bool) -> Result<Vec<(String, u64)>> {
        let names: Vec<String> = self.read(|c| {
            let mut sql = String::from(
                "SELECT name FROM volumes v WHERE NOT EXISTS (SELECT 1 FROM container_volumes cv WHERE cv.volume = v.name)",
            );
            if !all {
                sql.push_str(" AND v.anonymous = 1");
            }
            let mut st = c.prepare(&sql)?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        let mut removed = Vec::new();
        for name in names {
            // Measured before: the data goes with the row. Unused, so nothing writes to it.
            let size = crate::tree_size(&self.volume_dir(&name));
            match self.remove_volume(&name) {
                Ok(()) => removed.push((name, size)),
                // Mounted or removed by someone else meanwhile.
                Err(Error::VolumeInUse { .. } | Error::VolumeNotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }
}
