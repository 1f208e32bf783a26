//! Images, their tags, manifests and layers.
//!
//! An image's id is its config digest. Tags are full normalised references
//! (`docker.io/library/alpine:latest`); the store does not parse references
//! (that is `berth-image`'s job), it only stores and matches them. A tag
//! moves atomically: one `INSERT … ON CONFLICT DO UPDATE`.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension as _, params};

use crate::Store;
use crate::db::{exists, json_to_map, label_clause, map_to_json};
use crate::digest::{SHA256_PREFIX, chain_ids, digest_hex, now_ns};
use crate::error::{Error, Result};

/// One layer of an image being added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewImageLayer {
    /// Digest of the uncompressed tar (from the config's `rootfs.diff_ids`).
    pub diff_id: String,
    /// Digest of the blob as the registry served it, if known.
    pub blob_digest: Option<String>,
    /// The blob's media type, if known.
    pub media_type: Option<String>,
    /// Unpacked size in bytes.
    pub size: u64,
}

/// An image to add with [`Store::put_image`]. Its layers' snapshots must
/// already be committed.
#[derive(Debug, Clone, Default)]
pub struct NewImage {
    /// Config digest (`sha256:…`), the image id.
    pub id: String,
    /// The builder's parent image, if any.
    pub parent: Option<String>,
    /// Creation time from the config, ns since the epoch.
    pub created: i64,
    /// Total unpacked size in bytes.
    pub size: u64,
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`, …
    pub architecture: String,
    /// `v8`, …
    pub variant: Option<String>,
    /// The config JSON exactly as its digest covers it.
    pub config: String,
    /// Manifests pointing at this config: (digest, media type).
    pub manifests: Vec<(String, String)>,
    /// Layers, base first.
    pub layers: Vec<NewImageLayer>,
    /// `config.Labels`.
    pub labels: BTreeMap<String, String>,
}

/// One stored layer of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageLayer {
    /// 0 for the base layer.
    pub position: u32,
    /// Uncompressed digest.
    pub diff_id: String,
    /// Chain id: the snapshot holding this layer stacked on those below.
    pub chain_id: String,
    /// Registry blob digest, if known.
    pub blob_digest: Option<String>,
    /// Blob media type, if known.
    pub media_type: Option<String>,
    /// Unpacked size.
    pub size: u64,
}

/// An image as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRecord {
    /// Config digest.
    pub id: String,
    /// The builder's parent image.
    pub parent: Option<String>,
    /// Creation time from the config, ns.
    pub created: i64,
    /// When it entered this store, ns.
    pub added: i64,
    /// Unpacked size.
    pub size: u64,
    /// OS.
    pub os: String,
    /// Architecture.
    pub architecture: String,
    /// Variant.
    pub variant: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Tags (full references), sorted.
    pub tags: Vec<String>,
    /// Manifest digests, sorted.
    pub manifest_digests: Vec<String>,
    /// Config JSON; filled by [`Store::get_image`], `None` in listings.
    pub config: Option<String>,
}

/// Filters for [`Store::list_images`] (Docker's `images --filter`). All
/// given filters must match.
#[derive(Debug, Clone, Default)]
pub struct ImageFilter {
    /// `-a`: include intermediate images (untagged parents of other images).
    pub all: bool,
    /// `dangling=true|false`: untagged or tagged only.
    pub dangling: Option<bool>,
    /// `reference=PATTERN` (glob, `*` stops at `/`); any one may match. Only
    /// the matching tags are listed.
    pub references: Vec<String>,
    /// `label=KEY[=VALUE]`; all must match.
    pub labels: Vec<crate::LabelFilter>,
    /// `before=IMAGE`: created before that image.
    pub before: Option<String>,
    /// `since=IMAGE`: created after that image.
    pub since: Option<String>,
}

/// `docker.io/library/alpine:3` → `alpine:3`; `docker.io/u/a` → `u/a`.
pub(crate) fn familiar(name: &str) -> &str {
    name.strip_prefix("docker.io/library/")
        .or_else(|| name.strip_prefix("docker.io/"))
        .unwrap_or(name)
}

/// Whether `pattern` matches a tag, Docker style: against the familiar
/// `name:tag` and the bare repository name.
fn reference_matches(pattern: &glob::Pattern, tag: &str) -> bool {
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let fam = familiar(tag);
    let strip_tag = |s: &str| -> String {
        let (name, _) = split_tag(s);
        name.to_owned()
    };
    [
        tag.to_owned(),
        fam.to_owned(),
        strip_tag(tag),
        strip_tag(fam),
    ]
    .iter()
    .any(|cand| pattern.matches_with(cand, opts))
}

/// Splits `host:5000/a/b:tag` into (`host:5000/a/b`, `Some("tag")`).
fn split_tag(s: &str) -> (&str, Option<&str>) {
    let s = s.split('@').next().unwrap_or(s);
    match s.rfind(':') {
        Some(i) if !s[i..].contains('/') => (&s[..i], Some(&s[i + 1..])),
        _ => (s, None),
    }
}

fn valid_tag(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn split_lines(s: Option<String>) -> Vec<String> {
    let mut v: Vec<String> = s
        .map(|s| {
            s.split('\n')
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

const IMAGE_SELECT: &str =
    "SELECT i.id, i.parent, i.created, i.added, i.size, i.os, i.architecture,
        i.variant, i.labels,
        (SELECT group_concat(name, char(10)) FROM tags t WHERE t.image_id = i.id),
        (SELECT group_concat(digest, char(10)) FROM image_manifests m WHERE m.image_id = i.id)
     FROM images i";

fn image_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ImageRecord, String)> {
    Ok((
        ImageRecord {
            id: r.get(0)?,
            parent: r.get(1)?,
            created: r.get(2)?,
            added: r.get(3)?,
            size: r.get::<_, i64>(4)?.try_into().unwrap_or(0),
            os: r.get(5)?,
            architecture: r.get(6)?,
            variant: r.get(7)?,
            labels: BTreeMap::new(),
            tags: split_lines(r.get(9)?),
            manifest_digests: split_lines(r.get(10)?),
            config: None,
        },
        r.get(8)?,
    ))
}

fn finish(rec: (ImageRecord, String)) -> Result<ImageRecord> {
    let (mut img, labels) = rec;
    img.labels = json_to_map(|| format!("labels of image {}", img.id), &labels)?;
    Ok(img)
}

/// Resolves a tag, `repo@digest`, full id or unique id prefix to an image id.
pub(crate) fn resolve(conn: &Connection, name: &str) -> Result<String> {
    if let Some(id) = conn
        .query_row("SELECT image_id FROM tags WHERE name = ?1", [name], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
    {
        return Ok(id);
    }
    if let Some((_, digest)) = name.rsplit_once('@') {
        if let Some(id) = conn
            .query_row(
                "SELECT image_id FROM image_manifests WHERE digest = ?1 LIMIT 1",
                [digest],
                |r| r.get::<_, String>(0),
            )
            .optional()?
        {
            return Ok(id);
        }
        return Err(Error::ImageNotFound(name.to_owned()));
    }
    let hex = name.strip_prefix(SHA256_PREFIX).unwrap_or(name);
    if hex.is_empty() || hex.len() > 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::ImageNotFound(name.to_owned()));
    }
    let lo = format!("{SHA256_PREFIX}{}", hex.to_ascii_lowercase());
    let hi = format!("{lo}~");
    let mut st = conn.prepare_cached("SELECT id FROM images WHERE id >= ?1 AND id < ?2 LIMIT 5")?;
    let ids = st
        .query_map([&lo, &hi], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    match ids.len() {
        0 => Err(Error::ImageNotFound(name.to_owned())),
        1 => Ok(ids.into_iter().next().unwrap_or_default()),
        _ => Err(Error::Ambiguous {
            kind: "image",
            prefix: name.to_owned(),
            matches: ids.iter().map(|i| crate::digest::short_id(i)).collect(),
        }),
    }
}

/// Full ids of the containers created from `image_id`.
pub(crate) fn image_users(conn: &Connection, image_id: &str) -> Result<Vec<String>> {
    let mut st =
        conn.prepare_cached("SELECT id FROM containers WHERE image_id = ?1 ORDER BY created")?;
    let ids = st
        .query_map([image_id], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ids)
}

impl Store {
    /// Adds an image (idempotent: adding the same id again only adds
    /// manifests it did not know). Its layer snapshots must be committed.
    pub fn put_image(&self, img: &NewImage) -> Result<()> {
        digest_hex(&img.id)?;
        if let Some(p) = &img.parent {
            digest_hex(p)?;
        }
        let diffs: Vec<&str> = img.layers.iter().map(|l| l.diff_id.as_str()).collect();
        let chains = chain_ids(&diffs)?;
        for (digest, _) in &img.manifests {
            digest_hex(digest)?;
        }
        self.write(|tx| {
            for chain in &chains {
                if !exists(
                    tx,
                    "SELECT 1 FROM snapshots WHERE chain_id = ?1 AND state = 'ready'",
                    [chain],
                )? {
                    return Err(Error::SnapshotNotFound(chain.clone()));
                }
            }
            let inserted = tx.execute(
                "INSERT INTO images (id, parent, created, added, size, os, architecture, variant, config, labels)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(id) DO NOTHING",
                params![
                    img.id,
                    img.parent,
                    img.created,
                    now_ns(),
                    i64::try_from(img.size).unwrap_or(i64::MAX),
                    img.os,
                    img.architecture,
                    img.variant,
                    img.config,
                    map_to_json(&img.labels)
                ],
            )?;
            if inserted == 1 {
                let mut st = tx.prepare_cached(
                    "INSERT INTO image_layers (image_id, position, diff_id, chain_id, blob_digest, media_type, size)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                for (pos, (layer, chain)) in img.layers.iter().zip(&chains).enumerate() {
                    st.execute(params![
                        img.id,
                        i64::try_from(pos).unwrap_or(i64::MAX),
                        layer.diff_id,
                        chain,
                        layer.blob_digest,
                        layer.media_type,
                        i64::try_from(layer.size).unwrap_or(i64::MAX)
                    ])?;
                }
            }
            for (digest, media_type) in &img.manifests {
                tx.execute(
                    "INSERT INTO image_manifests (image_id, digest, media_type) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO NOTHING",
                    params![img.id, digest, media_type],
                )?;
            }
            Ok(())
        })
    }

    /// Points the tag `name` at `image` (a tag, id or id prefix), moving it
    /// atomically if it pointed elsewhere. Returns the image it pointed at
    /// before, if another one.
    pub fn tag_image(&self, image: &str, name: &str) -> Result<Option<String>> {
        if !valid_tag(name) {
            return Err(Error::ImageNotFound(name.to_owned()));
        }
        self.write(|tx| {
            let id = resolve(tx, image)?;
            let old: Option<String> = tx
                .query_row("SELECT image_id FROM tags WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()?;
            tx.execute(
                "INSERT INTO tags (name, image_id, created) VALUES (?1, ?2, ?3)
                 ON CONFLICT(name) DO UPDATE SET image_id = ?2, created = ?3",
                params![name, id, now_ns()],
            )?;
            Ok(old.filter(|o| *o != id))
        })
    }

    /// Removes the tag `name`; returns the image it pointed at.
    pub fn untag_image(&self, name: &str) -> Result<String> {
        self.write(|tx| {
            let id: Option<String> = tx
                .query_row(
                    "DELETE FROM tags WHERE name = ?1 RETURNING image_id",
                    [name],
                    |r| r.get(0),
                )
                .optional()?;
            id.ok_or_else(|| Error::ImageNotFound(name.to_owned()))
        })
    }

    /// Resolves a tag, `name@digest`, full id or unique id prefix to an image id.
    pub fn resolve_image(&self, name: &str) -> Result<String> {
        self.read(|c| resolve(c, name))
    }

    /// One image with its config JSON.
    pub fn get_image(&self, name: &str) -> Result<ImageRecord> {
        self.read_tx(|tx| {
            let id = resolve(tx, name)?;
            let rec = tx.query_row(
                &format!("{IMAGE_SELECT} WHERE i.id = ?1"),
                [&id],
                image_from_row,
            )?;
            let mut img = finish(rec)?;
            img.config = Some(tx.query_row(
                "SELECT config FROM images WHERE id = ?1",
                [&id],
                |r| r.get(0),
            )?);
            Ok(img)
        })
    }

    /// An image's layers, base first.
    pub fn image_layers(&self, image_id: &str) -> Result<Vec<ImageLayer>> {
        self.read(|c| image_layers(c, image_id))
    }

    /// Full ids of the containers created from an image.
    pub fn image_users(&self, image_id: &str) -> Result<Vec<String>> {
        self.read(|c| image_users(c, image_id))
    }

    /// Images matching `filter`, newest first, in one query.
    pub fn list_images(&self, filter: &ImageFilter) -> Result<Vec<ImageRecord>> {
        let patterns = filter
            .references
            .iter()
            .map(|p| glob::Pattern::new(p).map_err(|_| Error::ImageNotFound(p.clone())))
            .collect::<Result<Vec<_>>>()?;
        self.read_tx(|tx| {
            let mut clauses: Vec<String> = Vec::new();
            let mut params: Vec<rusqlite::types::Value> = Vec::new();
            match filter.dangling {
                Some(true) => {
                    clauses.push("NOT EXISTS (SELECT 1 FROM tags t WHERE t.image_id = i.id)".into())
                }
                Some(false) => {
                    clauses.push("EXISTS (SELECT 1 FROM tags t WHERE t.image_id = i.id)".into())
                }
                None => {}
            }
            if !filter.all && filter.dangling != Some(true) {
                clauses.push(
                    "(EXISTS (SELECT 1 FROM tags t WHERE t.image_id = i.id)
                      OR NOT EXISTS (SELECT 1 FROM images c WHERE c.parent = i.id))"
                        .into(),
                );
            }
            for l in &filter.labels {
                clauses.push(label_clause("i.labels", l, &mut params));
            }
            for (name, op) in [(&filter.before, "<"), (&filter.since, ">")] {
                if let Some(name) = name {
                    let id = resolve(tx, name)?;
                    let created: i64 =
                        tx.query_row("SELECT created FROM images WHERE id = ?1", [&id], |r| {
                            r.get(0)
                        })?;
                    params.push(created.into());
                    clauses.push(format!("i.created {op} ?{}", params.len()));
                }
            }
            let mut sql = IMAGE_SELECT.to_owned();
            if !clauses.is_empty() {
                sql.push_str(" WHERE ");
                sql.push_str(&clauses.join(" AND "));
            }
            sql.push_str(" ORDER BY i.created DESC, i.id");
            let mut st = tx.prepare(&sql)?;
            let rows = st.query_map(rusqlite::params_from_iter(params), image_from_row)?;
            let mut out = Vec::new();
            for row in rows {
                let mut img = finish(row?)?;
                if !patterns.is_empty() {
                    img.tags
                        .retain(|t| patterns.iter().any(|p| reference_matches(p, t)));
                    if img.tags.is_empty() {
                        continue;
                    }
                }
                out.push(img);
            }
            Ok(out)
        })
    }
}

pub(crate) fn image_layers(conn: &Connection, image_id: &str) -> Result<Vec<ImageLayer>> {
    let mut st = conn.prepare_cached(
        "SELECT position, diff_id, chain_id, blob_digest, media_type, size FROM image_layers
         WHERE image_id = ?1 ORDER BY position",
    )?;
    let rows = st.query_map([image_id], |r| {
        Ok(ImageLayer {
            position: r.get(0)?,
            diff_id: r.get(1)?,
            chain_id: r.get(2)?,
            blob_digest: r.get(3)?,
            media_type: r.get(4)?,
            size: r.get::<_, i64>(5)?.try_into().unwrap_or(0),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn familiar_names() {
        assert_eq!(familiar("docker.io/library/alpine:3"), "alpine:3");
        assert_eq!(familiar("docker.io/user/app:1"), "user/app:1");
        assert_eq!(familiar("localhost:5000/app:1"), "localhost:5000/app:1");
    }

    #[test]
    fn tag_split_handles_ports() {
        assert_eq!(
            split_tag("localhost:5000/app:1"),
            ("localhost:5000/app", Some("1"))
        );
        assert_eq!(
            split_tag("localhost:5000/app"),
            ("localhost:5000/app", None)
        );
        assert_eq!(split_tag("alpine:latest"), ("alpine", Some("latest")));
    }

    #[test]
    fn reference_patterns() {
        let p = |s: &str| glob::Pattern::new(s).unwrap();
        let tag = "docker.io/library/alpine:3.19";
        assert!(reference_matches(&p("alpine"), tag));
        assert!(reference_matches(&p("alpine:3.*"), tag));
        assert!(reference_matches(&p("alp*"), tag));
        assert!(!reference_matches(&p("busybox*"), tag));
        // `*` does not cross `/`, as in Docker's path.Match.
        assert!(!reference_matches(&p("*"), "docker.io/user/app:1"));
        assert!(reference_matches(&p("*/*"), "docker.io/user/app:1"));
    }
}
