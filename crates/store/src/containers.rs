//! Container records: id, unique name, image, config and state.
//!
//! The config is opaque JSON owned by the engine and never parsed here. The
//! state is small JSON the store understands ([`ContainerState`]); its status
//! and exit code are copied into indexed columns in the same transaction, so
//! `ps` filters in SQL and lists everything in one query.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension as _, params};
use serde::{Deserialize, Serialize};

use crate::Store;
use crate::db::{json_to_map, label_clause, map_to_json};
use crate::digest::{is_hex64, now_ns, short_id};
use crate::error::{Error, Result};

/// Docker's container statuses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerStatus {
    /// Created, never started.
    #[default]
    Created,
    /// Running.
    Running,
    /// Frozen.
    Paused,
    /// Being restarted by its restart policy.
    Restarting,
    /// Being removed.
    Removing,
    /// Stopped.
    Exited,
    /// Failed to stop or remove.
    Dead,
}

impl ContainerStatus {
    /// Whether the container's processes exist: running, paused or restarting (what
    /// Docker counts as active, and what `rm` refuses without `-f`).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            ContainerStatus::Running | ContainerStatus::Paused | ContainerStatus::Restarting
        )
    }

    /// Docker's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerStatus::Created => "created",
            ContainerStatus::Running => "running",
            ContainerStatus::Paused => "paused",
            ContainerStatus::Restarting => "restarting",
            ContainerStatus::Removing => "removing",
            ContainerStatus::Exited => "exited",
            ContainerStatus::Dead => "dead",
        }
    }
}

/// A container's run state, stored as JSON. Fields the store does not know
/// are kept in `extra`, so the engine can add its own without a migration.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContainerState {
    /// Status.
    pub status: ContainerStatus,
    /// Pid of the container's init process while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Exit code of the last run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Last start, ns since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    /// Last exit, ns since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
    /// Killed by the OOM killer.
    #[serde(default)]
    pub oom_killed: bool,
    /// Error of the last failed start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Restarts done by the restart policy.
    #[serde(default)]
    pub restart_count: u32,
    /// Engine-owned fields.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Written by hand instead of derived: `#[serde(flatten)]` on `extra` made serde
/// buffer every field in its generic representation first and convert it again,
/// which was the biggest part of listing 1,000 containers.
impl<'de> Deserialize<'de> for ContainerState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_map(StateVisitor { keep: None })
    }
}

/// Decodes a state, keeping of `extra` only the keys in `keep` (all when `None`): the
/// others are skipped without building their values (a listing that shows a few
/// fields need not decode every container's network endpoints).
struct StateVisitor<'k> {
    keep: Option<&'k [String]>,
}

impl<'de> serde::de::Visitor<'de> for StateVisitor<'_> {
    type Value = ContainerState;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a container state object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<ContainerState, A::Error> {
        use serde::de::Error as _;
        let mut st = ContainerState::default();
        let mut status = None;
        while let Some(key) = map.next_key::<String>()? {
            // Errors name the field, e.g. "field `pid`: invalid type: string".
            let named = |e: A::Error| A::Error::custom(format_args!("field `{key}`: {e}"));
            match key.as_str() {
                "status" => status = map.next_value().map_err(named)?,
                "pid" => st.pid = map.next_value().map_err(named)?,
                "exit_code" => st.exit_code = map.next_value().map_err(named)?,
                "started_at" => st.started_at = map.next_value().map_err(named)?,
                "finished_at" => st.finished_at = map.next_value().map_err(named)?,
                "oom_killed" => {
                    st.oom_killed = map
                        .next_value::<Option<bool>>()
                        .map_err(named)?
                        .unwrap_or_default();
                }
                "error" => st.error = map.next_value().map_err(named)?,
                "restart_count" => {
                    st.restart_count = map
                        .next_value::<Option<u32>>()
                        .map_err(named)?
                        .unwrap_or_default();
                }
                _ if self.keep.is_none_or(|k| k.contains(&key)) => {
                    let v: serde_json::Value = map.next_value()?;
                    st.extra.insert(key, v);
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        st.status = status.ok_or_else(|| A::Error::missing_field("status"))?;
        Ok(st)
    }
}

/// A container to create.
#[derive(Debug, Clone, Default)]
pub struct NewContainer {
    /// 64 lowercase hex digits (see [`crate::digest::random_id`]).
    pub id: String,
    /// Unique name, with or without Docker's leading `/`.
    pub name: String,
    /// The image id, if made from an image.
    pub image_id: Option<String>,
    /// The image as the user named it (for `ps`).
    pub image_ref: String,
    /// Creation time, ns; `None` for now.
    pub created: Option<i64>,
    /// Engine config JSON (opaque to the store).
    pub config: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Volumes it mounts (they must exist); keeps them from removal.
    pub volumes: Vec<String>,
    /// Snapshot chain ids under its rootfs, base first; `None` takes the
    /// image's layers. Referenced snapshots are kept while it exists.
    pub layers: Option<Vec<String>>,
}

/// A stored container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerRecord {
    /// Full id.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// Image id.
    pub image_id: Option<String>,
    /// Image as named by the user.
    pub image_ref: String,
    /// Creation time, ns.
    pub created: i64,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Run state.
    pub state: ContainerState,
    /// Config JSON; `None` in listings unless asked for.
    pub config: Option<String>,
}

/// Filters for [`Store::list_containers`] (`ps --filter`): values of one
/// kind are alternatives, different kinds must all match.
#[derive(Debug, Clone, Default)]
pub struct ContainerFilter {
    /// `id=`: id prefixes.
    pub ids: Vec<String>,
    /// `name=`: substrings of the name.
    pub names: Vec<String>,
    /// `status=`; empty means any (`ps -a`).
    pub statuses: Vec<ContainerStatus>,
    /// `label=`; all must match.
    pub labels: Vec<crate::LabelFilter>,
    /// `ancestor=`: image ids.
    pub image_ids: Vec<String>,
    /// `exited=`: exit codes.
    pub exit_codes: Vec<i32>,
    /// `-n N` / `-l`: newest N only.
    pub limit: Option<usize>,
    /// Also load each container's config JSON.
    pub include_config: bool,
    /// Only containers whose config JSON does not contain this text (a cheap
    /// pre-selection done by SQLite, so the skipped configs are never copied out).
    pub config_lacks: Option<String>,
    /// Keep only these keys of each state's `extra` (`None`: all of them). For
    /// listings that show a few fields: the rest is skipped, not decoded.
    pub state_keys: Option<Vec<String>>,
}

/// Docker's rule for names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub(crate) fn valid_name(name: &str) -> bool {
    let mut b = name.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphanumeric())
        && name.len() >= 2
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn strip_slash(name: &str) -> &str {
    name.strip_prefix('/').unwrap_or(name)
}

const COLS: &str = "c.id, c.name, c.image_id, c.image_ref, c.created, c.labels, c.state";

fn from_row(
    r: &rusqlite::Row<'_>,
    with_config: bool,
) -> rusqlite::Result<(ContainerRecord, String, String)> {
    Ok((
        ContainerRecord {
            id: r.get(0)?,
            name: r.get(1)?,
            image_id: r.get(2)?,
            image_ref: r.get(3)?,
            created: r.get(4)?,
            labels: BTreeMap::new(),
            state: ContainerState::default(),
            config: if with_config { Some(r.get(7)?) } else { None },
        },
        r.get(5)?,
        r.get(6)?,
    ))
}

fn finish(
    row: (ContainerRecord, String, String),
    keep: Option<&[String]>,
) -> Result<ContainerRecord> {
    let (mut c, labels, state) = row;
    c.labels = json_to_map(
        || format!("labels of container {}", short_id(&c.id)),
        &labels,
    )?;
    let mut de = serde_json::Deserializer::from_str(&state);
    c.state = serde::Deserializer::deserialize_map(&mut de, StateVisitor { keep })
        .and_then(|st| de.end().map(|()| st))
        .map_err(|e| Error::json(format!("state of container {}", short_id(&c.id)), e))?;
    Ok(c)
}

/// Resolves a full id, name (with or without `/`) or unique id prefix.
pub(crate) fn resolve(conn: &Connection, name: &str) -> Result<String> {
    if is_hex64(name)
        && let Some(id) = conn
            .prepare_cached("SELECT id FROM containers WHERE id = ?1")?
            .query_row([name], |r| r.get::<_, String>(0))
            .optional()?
    {
        return Ok(id);
    }
    if let Some(id) = conn
        .prepare_cached("SELECT id FROM containers WHERE name = ?1")?
        .query_row([strip_slash(name)], |r| r.get::<_, String>(0))
        .optional()?
    {
        return Ok(id);
    }
    if name.is_empty()
        || name.len() > 64
        || !name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(Error::ContainerNotFound(name.to_owned()));
    }
    let mut st =
        conn.prepare_cached("SELECT id FROM containers WHERE id >= ?1 AND id < ?1 || '~' LIMIT 5")?;
    let ids = st
        .query_map([name], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    match ids.as_slice() {
        [] => Err(Error::ContainerNotFound(name.to_owned())),
        [one] => Ok(one.clone()),
        _ => Err(Error::Ambiguous {
            kind: "container",
            prefix: name.to_owned(),
            matches: ids.iter().map(|i| short_id(i)).collect(),
        }),
    }
}

fn check_name_free(conn: &Connection, name: &str) -> Result<()> {
    if let Some(id) = conn
        .query_row("SELECT id FROM containers WHERE name = ?1", [name], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
    {
        return Err(Error::ContainerNameInUse {
            name: name.to_owned(),
            id,
        });
    }
    Ok(())
}

impl Store {
    /// Adds a container. Fails, changing nothing, if the name or id is taken,
    /// or the image, a volume or a snapshot is missing.
    pub fn create_container(&self, new: &NewContainer) -> Result<ContainerRecord> {
        self.insert_container(new, false)
    }

    /// [`Store::create_container`] whose commit does not wait for the disk,
    /// for a caller that commits a synced write about the same container right
    /// after (the engine's config update): that sync makes this row durable
    /// too. Until then a power loss can lose the row, and recovery then
    /// deletes the directory it claimed, which holds nothing of the user's yet.
    pub fn create_container_unsynced(&self, new: &NewContainer) -> Result<ContainerRecord> {
        self.insert_container(new, true)
    }

    fn insert_container(&self, new: &NewContainer, relaxed: bool) -> Result<ContainerRecord> {
        if !is_hex64(&new.id) {
            return Err(Error::InvalidId {
                kind: "container",
                id: new.id.clone(),
            });
        }
        let name = strip_slash(&new.name);
        if !valid_name(name) {
            return Err(Error::InvalidName {
                kind: "container",
                name: new.name.clone(),
            });
        }
        let state = ContainerState::default();
        let state_json =
            serde_json::to_string(&state).map_err(|e| Error::json("new container state", e))?;
        let created = new.created.unwrap_or_else(now_ns);
        let insert = |tx: &Connection| -> Result<()> {
            check_name_free(tx, name)?;
            if crate::db::exists(tx, "SELECT 1 FROM containers WHERE id = ?1", [&new.id])? {
                return Err(Error::ContainerIdInUse(new.id.clone()));
            }
            if let Some(image) = &new.image_id
                && !crate::db::exists(tx, "SELECT 1 FROM images WHERE id = ?1", [image])?
            {
                return Err(Error::ImageNotFound(image.clone()));
            }
            tx.execute(
                "INSERT INTO containers (id, name, image_id, image_ref, created, status, exit_code, labels, config, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8, ?9)",
                params![
                    new.id,
                    name,
                    new.image_id,
                    new.image_ref,
                    created,
                    state.status.as_str(),
                    map_to_json(&new.labels),
                    new.config,
                    state_json
                ],
            )?;
            match (&new.layers, &new.image_id) {
                (Some(layers), _) => {
                    for (pos, chain) in layers.iter().enumerate() {
                        if !crate::db::exists(
                            tx,
                            "SELECT 1 FROM snapshots WHERE chain_id = ?1 AND state = 'ready'",
                            [chain],
                        )? {
                            return Err(Error::SnapshotNotFound(chain.clone()));
                        }
                        tx.execute(
                            "INSERT INTO container_layers (container_id, position, chain_id) VALUES (?1, ?2, ?3)",
                            params![new.id, i64::try_from(pos).unwrap_or(i64::MAX), chain],
                        )?;
                    }
                }
                (None, Some(image)) => {
                    tx.execute(
                        "INSERT INTO container_layers (container_id, position, chain_id)
                         SELECT ?1, position, chain_id FROM image_layers WHERE image_id = ?2",
                        params![new.id, image],
                    )?;
                }
                (None, None) => {}
            }
            for vol in &new.volumes {
                if !crate::db::exists(tx, "SELECT 1 FROM volumes WHERE name = ?1", [vol])? {
                    return Err(Error::VolumeNotFound(vol.clone()));
                }
                tx.execute(
                    "INSERT INTO container_volumes (container_id, volume) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    params![new.id, vol],
                )?;
            }
            Ok(())
        };
        if relaxed {
            self.write_relaxed(insert)?;
        } else {
            self.write(insert)?;
        }
        Ok(ContainerRecord {
            id: new.id.clone(),
            name: name.to_owned(),
            image_id: new.image_id.clone(),
            image_ref: new.image_ref.clone(),
            created,
            labels: new.labels.clone(),
            state,
            config: Some(new.config.clone()),
        })
    }

    /// Resolves a full id, name or unique id prefix to the full id.
    pub fn resolve_container(&self, name: &str) -> Result<String> {
        self.read(|c| resolve(c, name))
    }

    /// One container, with its config.
    pub fn get_container(&self, name: &str) -> Result<ContainerRecord> {
        self.read_tx(|tx| {
            let id = resolve(tx, name)?;
            let row = tx
                .prepare_cached(&format!(
                    "SELECT {COLS}, c.config FROM containers c WHERE c.id = ?1"
                ))?
                .query_row([&id], |r| from_row(r, true))?;
            finish(row, None)
        })
    }

    /// Containers matching `filter`, newest first, in a single query.
    pub fn list_containers(&self, filter: &ContainerFilter) -> Result<Vec<ContainerRecord>> {
        let mut clauses: Vec<String> = Vec::new();
        let mut p: Vec<rusqlite::types::Value> = Vec::new();
        let any_of = |clauses: &mut Vec<String>, items: Vec<String>| {
            if !items.is_empty() {
                clauses.push(format!("({})", items.join(" OR ")));
            }
        };
        let mut items = Vec::new();
        for prefix in &filter.ids {
            p.push(prefix.clone().into());
            items.push(format!(
                "(c.id >= ?{n} AND c.id < ?{n} || '~')",
                n = p.len()
            ));
        }
        any_of(&mut clauses, std::mem::take(&mut items));
        for name in &filter.names {
            p.push(strip_slash(name).to_owned().into());
            items.push(format!("instr(c.name, ?{}) > 0", p.len()));
        }
        any_of(&mut clauses, std::mem::take(&mut items));
        for status in &filter.statuses {
            p.push(status.as_str().to_owned().into());
            items.push(format!("c.status = ?{}", p.len()));
        }
        any_of(&mut clauses, std::mem::take(&mut items));
        for image in &filter.image_ids {
            p.push(image.clone().into());
            items.push(format!("c.image_id = ?{}", p.len()));
        }
        any_of(&mut clauses, std::mem::take(&mut items));
        for code in &filter.exit_codes {
            p.push(i64::from(*code).into());
            items.push(format!(
                "(c.status = 'exited' AND c.exit_code = ?{})",
                p.len()
            ));
        }
        any_of(&mut clauses, std::mem::take(&mut items));
        for l in &filter.labels {
            clauses.push(label_clause("c.labels", l, &mut p));
        }
        if let Some(text) = &filter.config_lacks {
            p.push(text.clone().into());
            clauses.push(format!("instr(c.config, ?{}) = 0", p.len()));
        }
        let config_col = if filter.include_config {
            "c.config"
        } else {
            "NULL"
        };
        let mut sql = format!("SELECT {COLS}, {config_col} FROM containers c");
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(" ORDER BY c.created DESC, c.id");
        if let Some(n) = filter.limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        self.read(|conn| {
            let mut st = conn.prepare_cached(&sql)?;
            let rows = st.query_map(rusqlite::params_from_iter(p), |r| {
                from_row(r, filter.include_config)
            })?;
            let mut out = Vec::new();
            for row in rows {
                out.push(finish(row?, filter.state_keys.as_deref())?);
            }
            Ok(out)
        })
    }

    /// Changes a container's state atomically: `f` sees the current state
    /// and edits it inside one write transaction (no other process can
    /// interleave). Returns the new state.
    pub fn update_container_state(
        &self,
        name: &str,
        f: impl FnOnce(&mut ContainerState) -> Result<()>,
    ) -> Result<ContainerState> {
        // Relaxed durability: the state describes processes, which a power
        // loss ends anyway; the owner's pid and start time in it make a lost
        // update show up as an ended owner, which `reconcile` turns into an
        // exit. The row itself (creation, deletion) is always synced.
        self.write_relaxed(|tx| {
            let id = resolve(tx, name)?;
            let text: String = tx
                .prepare_cached("SELECT state FROM containers WHERE id = ?1")?
                .query_row([&id], |r| r.get(0))?;
            let what = || format!("state of container {}", short_id(&id));
            let mut state: ContainerState =
                serde_json::from_str(&text).map_err(|e| Error::json(what(), e))?;
            let before = state.clone();
            f(&mut state)?;
            if state == before {
                // Nothing to write: the transaction commits without touching the WAL.
                return Ok(state);
            }
            let text = serde_json::to_string(&state).map_err(|e| Error::json(what(), e))?;
            tx.prepare_cached(
                "UPDATE containers SET state = ?2, status = ?3, exit_code = ?4 WHERE id = ?1",
            )?
            .execute(params![id, text, state.status.as_str(), state.exit_code])?;
            Ok(state)
        })
    }

    /// Replaces a container's config JSON.
    pub fn update_container_config(&self, name: &str, config: &str) -> Result<()> {
        self.write(|tx| {
            let id = resolve(tx, name)?;
            tx.execute(
                "UPDATE containers SET config = ?2 WHERE id = ?1",
                params![id, config],
            )?;
            Ok(())
        })
    }

    /// Renames a container (`docker rename`).
    pub fn rename_container(&self, name: &str, new_name: &str) -> Result<()> {
        let new_name_s = strip_slash(new_name);
        if !valid_name(new_name_s) {
            return Err(Error::InvalidName {
                kind: "container",
                name: new_name.to_owned(),
            });
        }
        self.write(|tx| {
            let id = resolve(tx, name)?;
            check_name_free(tx, new_name_s)?;
            tx.execute(
                "UPDATE containers SET name = ?2 WHERE id = ?1",
                params![id, new_name_s],
            )?;
            Ok(())
        })
    }

    /// Snapshot chain ids under a container's rootfs, base first.
    pub fn container_layers(&self, name: &str) -> Result<Vec<String>> {
        self.read_tx(|tx| {
            let id = resolve(tx, name)?;
            let mut st = tx.prepare_cached(
                "SELECT chain_id FROM container_layers WHERE container_id = ?1 ORDER BY position",
            )?;
            let rows = st.query_map([&id], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Volumes a container mounts, with their anonymous flag.
    pub fn container_volumes(&self, name: &str) -> Result<Vec<(String, bool)>> {
        self.read_tx(|tx| {
            let id = resolve(tx, name)?;
            let mut st = tx.prepare_cached(
                "SELECT v.name, v.anonymous FROM container_volumes cv JOIN volumes v ON v.name = cv.volume
                 WHERE cv.container_id = ?1 ORDER BY v.name",
            )?;
            let rows = st.query_map([&id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Deletes a container's row, then unmounts and deletes its rootfs
    /// directory. Returns the full id. Whether it may be removed (running?)
    /// is the engine's decision; its anonymous volumes are listed by
    /// [`Store::container_volumes`] beforehand for `rm -v`.
    pub fn remove_container(&self, name: &str) -> Result<String> {
        let id = self.write(|tx| {
            let id = resolve(tx, name)?;
            tx.execute("DELETE FROM containers WHERE id = ?1", [&id])?;
            Ok(id)
        })?;
        self.remove_container_dir(&id)?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_docker() {
        assert!(valid_name("web"));
        assert!(valid_name("a1_b.c-d"));
        assert!(!valid_name("a"));
        assert!(!valid_name("-web"));
        assert!(!valid_name("we b"));
        assert!(!valid_name("../x"));
    }

    #[test]
    fn state_round_trips_and_checks_its_fields() {
        let mut s = ContainerState {
            status: ContainerStatus::Exited,
            pid: None,
            exit_code: Some(3),
            started_at: Some(1),
            finished_at: Some(2),
            oom_killed: true,
            error: Some("boom".into()),
            restart_count: 4,
            extra: serde_json::Map::new(),
        };
        s.extra.insert("owner_pid".into(), serde_json::json!(9));
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<ContainerState>(&text).unwrap(), s);
        let nulls: ContainerState =
            serde_json::from_str(r#"{"status":"created","pid":null,"exit_code":null}"#).unwrap();
        assert_eq!(nulls, ContainerState::default());
        let err = serde_json::from_str::<ContainerState>(r#"{"pid":1}"#).unwrap_err();
        assert!(err.to_string().contains("status"), "{err}");
        let err = serde_json::from_str::<ContainerState>(r#"{"status":"created","pid":"x"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("pid"), "{err}");
    }

    #[test]
    fn state_keeps_unknown_fields() {
        let s: ContainerState =
            serde_json::from_str(r#"{"status":"running","pid":42,"monitor_pid":7}"#).unwrap();
        assert_eq!(s.status, ContainerStatus::Running);
        assert_eq!(s.pid, Some(42));
        let back = serde_json::to_value(&s).unwrap();
        assert_eq!(back["monitor_pid"], 7);
    }
}
