//! Network records. The store only keeps them; `berth-net` makes bridges.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension as _, params};

use crate::Store;
use crate::containers::valid_name;
use crate::db::{json_to_map, label_clause, map_to_json};
use crate::digest::{is_hex64, now_ns, short_id};
use crate::error::{Error, Result};

/// A network to create.
#[derive(Debug, Clone, Default)]
pub struct NewNetwork {
    /// 64 lowercase hex digits.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// `bridge`, `host`, `none`, …
    pub driver: String,
    /// CIDR, e.g. `172.18.0.0/16`.
    pub subnet: Option<String>,
    /// Gateway address.
    pub gateway: Option<String>,
    /// `--internal`: no route out.
    pub internal: bool,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Driver options.
    pub options: BTreeMap<String, String>,
}

/// A stored network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRecord {
    /// Full id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Driver.
    pub driver: String,
    /// Subnet.
    pub subnet: Option<String>,
    /// Gateway.
    pub gateway: Option<String>,
    /// Internal.
    pub internal: bool,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Driver options.
    pub options: BTreeMap<String, String>,
    /// Creation time, ns.
    pub created: i64,
}

/// Filters for [`Store::list_networks`].
#[derive(Debug, Clone, Default)]
pub struct NetworkFilter {
    /// `id=`: prefixes.
    pub ids: Vec<String>,
    /// `name=`: substrings.
    pub names: Vec<String>,
    /// `driver=`.
    pub drivers: Vec<String>,
    /// `label=`; all must match.
    pub labels: Vec<crate::LabelFilter>,
}

const COLS: &str =
    "n.id, n.name, n.driver, n.subnet, n.gateway, n.internal, n.labels, n.options, n.created";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(NetworkRecord, String, String)> {
    Ok((
        NetworkRecord {
            id: r.get(0)?,
            name: r.get(1)?,
            driver: r.get(2)?,
            subnet: r.get(3)?,
            gateway: r.get(4)?,
            internal: r.get(5)?,
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            created: r.get(8)?,
        },
        r.get(6)?,
        r.get(7)?,
    ))
}

fn finish(row: (NetworkRecord, String, String)) -> Result<NetworkRecord> {
    let (mut n, labels, options) = row;
    n.labels = json_to_map(|| format!("labels of network {}", n.name), &labels)?;
    n.options = json_to_map(|| format!("options of network {}", n.name), &options)?;
    Ok(n)
}

fn resolve(conn: &Connection, name: &str) -> Result<String> {
    for sql in [
        "SELECT id FROM networks WHERE id = ?1",
        "SELECT id FROM networks WHERE name = ?1",
    ] {
        if let Some(id) = conn
            .query_row(sql, [name], |r| r.get::<_, String>(0))
            .optional()?
        {
            return Ok(id);
        }
    }
    if name.is_empty()
        || name.len() > 64
        || !name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(Error::NetworkNotFound(name.to_owned()));
    }
    let mut st =
        conn.prepare_cached("SELECT id FROM networks WHERE id >= ?1 AND id < ?1 || '~' LIMIT 5")?;
    let ids = st
        .query_map([name], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    match ids.as_slice() {
        [] => Err(Error::NetworkNotFound(name.to_owned())),
        [one] => Ok(one.clone()),
        _ => Err(Error::Ambiguous {
            kind: "network",
            prefix: name.to_owned(),
            matches: ids.iter().map(|i| short_id(i)).collect(),
        }),
    }
}

impl Store {
    /// Adds a network; the name and id must be free.
    pub fn create_network(&self, new: &NewNetwork) -> Result<NetworkRecord> {
        if !is_hex64(&new.id) {
            return Err(Error::InvalidId {
                kind: "network",
                id: new.id.clone(),
            });
        }
        if !valid_name(&new.name) {
            return Err(Error::InvalidName {
                kind: "network",
                name: new.name.clone(),
            });
        }
        self.write(|tx| {
            if let Some(id) = tx
                .query_row("SELECT id FROM networks WHERE name = ?1", [&new.name], |r| r.get::<_, String>(0))
                .optional()?
            {
                return Err(Error::NetworkNameInUse {
                    name: new.name.clone(),
                    id,
                });
            }
            if crate::db::exists(tx, "SELECT 1 FROM networks WHERE id = ?1", [&new.id])? {
                return Err(Error::NetworkIdInUse(new.id.clone()));
            }
            tx.execute(
                "INSERT INTO networks (id, name, driver, subnet, gateway, internal, labels, options, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    new.id,
                    new.name,
                    new.driver,
                    new.subnet,
                    new.gateway,
                    new.internal,
                    map_to_json(&new.labels),
                    map_to_json(&new.options),
                    now_ns()
                ],
            )?;
            Ok(())
        })?;
        self.get_network(&new.id)
    }

    /// One network by id, name or unique id prefix.
    pub fn get_network(&self, name: &str) -> Result<NetworkRecord> {
        self.read_tx(|tx| {
            let id = resolve(tx, name)?;
            let row = tx.query_row(
                &format!("SELECT {COLS} FROM networks n WHERE n.id = ?1"),
                [&id],
                from_row,
            )?;
            finish(row)
        })
    }

    /// Networks matching `filter`, by name, in one query.
    pub fn list_networks(&self, filter: &NetworkFilter) -> Result<Vec<NetworkRecord>> {
        let mut clauses = Vec::new();
        let mut p: Vec<rusqlite::types::Value> = Vec::new();
        let groups: [(&Vec<String>, &str); 3] = [
            (&filter.ids, "(n.id >= ?{n} AND n.id < ?{n} || '~')"),
            (&filter.names, "instr(n.name, ?{n}) > 0"),
            (&filter.drivers, "n.driver = ?{n}"),
        ];
        for (values, template) in groups {
            let mut items = Vec::new();
            for v in values {
                p.push(v.clone().into());
                items.push(template.replace("{n}", &p.len().to_string()));
            }
            if !items.is_empty() {
                clauses.push(format!("({})", items.join(" OR ")));
            }
        }
        for l in &filter.labels {
            clauses.push(label_clause("n.labels", l, &mut p));
        }
        let mut sql = format!("SELECT {COLS} FROM networks n");
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(" ORDER BY n.name");
        self.read(|c| {
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map(rusqlite::params_from_iter(p), from_row)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(finish(row?)?);
            }
            Ok(out)
        })
    }

    /// Removes a network's record; returns its full id.
    pub fn remove_network(&self, name: &str) -> Result<String> {
        self.write(|tx| {
            let id = resolve(tx, name)?;
            tx.execute("DELETE FROM networks WHERE id = ?1", [&id])?;
            Ok(id)
        })
    }
}
