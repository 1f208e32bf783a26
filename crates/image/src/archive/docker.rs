//! docker-archive (`docker save`): `manifest.json` lists each image's config file,
//! `RepoTags` and layer tars; `repositories` is the legacy name index.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek as _, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ArchiveImage, ArchiveLayer, read_small, read_verified};
use crate::digest::{Digest, HashingReader};
use crate::error::{Error, Result};
use crate::layer::Compression;
use crate::layer::scoped::Root;
use crate::manifest::parse_config;

const LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    config: String,
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

pub(super) fn read(root: &Root, shown: &Path) -> Result<Vec<ArchiveImage>> {
    let bad = |reason: String| Error::Archive {
        path: shown.to_path_buf(),
        reason,
    };
    let bytes = read_small(root, Path::new("manifest.json"), 16 << 20)?;
    let entries: Vec<Entry> = serde_json::from_slice(&bytes)
        .map_err(|e| Error::json(format!("{}: manifest.json", shown.display()), e))?;
    let mut images = Vec::new();
    for e in entries {
        // The config file is named after its digest (`<hex>.json`, or `blobs/sha256/<hex>`).
        let hex = Path::new(&e.config)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .trim_end_matches(".json")
            .to_owned();
        let config_digest = Digest::parse(&format!("sha256:{hex}"))
            .map_err(|_| bad(format!("config {} is not named by its digest", e.config)))?;
        let config = read_verified(root, Path::new(&e.config), &config_digest)?;
        let diff_ids = parse_config(&config)?.rootfs().diff_ids().clone();
        if diff_ids.len() != e.layers.len() {
            return Err(bad(format!(
                "config {} lists {} layers, manifest.json {}",
                e.config,
                diff_ids.len(),
                e.layers.len()
            )));
        }
        let layers = e
            .layers
            .iter()
            .zip(&diff_ids)
            .map(|(path, diff_id)| {
                // Newer `docker save` stores layers as `blobs/sha256/<hex>`; the legacy
                // `<id>/layer.tar` is the uncompressed tar, whose digest is the diff_id.
                let digest = match path.strip_prefix("blobs/sha256/") {
                    Some(hex) => Digest::parse(&format!("sha256:{hex}"))?,
                    None => Digest::parse(diff_id)?,
                };
                Ok(ArchiveLayer {
                    path: PathBuf::from(path),
                    digest,
                    media_type: LAYER_TAR.to_owned(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        images.push(ArchiveImage {
            names: e.repo_tags.unwrap_or_default(),
            config,
            config_digest,
            manifest: None,
            layers,
        });
    }
    Ok(images)
}

/// One image to write with [`write_docker_archive`].
pub struct DockerImage<'a> {
    /// `RepoTags` (`name:tag`; empty for an untagged image).
    pub repo_tags: Vec<String>,
    /// The config blob's exact bytes.
    pub config: &'a [u8],
    /// Layer streams, base first: compressed or not (they are stored uncompressed, as
    /// `docker load` expects); each must match the config's `diff_id` at its index.
    pub layers: Vec<Box<dyn Read + 'a>>,
}

/// Writes a `docker save`-compatible tar (`manifest.json`, `repositories`, configs and
/// uncompressed `<diff_id>/layer.tar`s; a layer shared by several images is stored once).
///
/// # Errors
/// A layer whose uncompressed digest is not the config's `diff_id`; I/O errors.
pub fn write_docker_archive<W: Write>(out: W, images: Vec<DockerImage<'_>>) -> Result<()> {
    let mut b = tar::Builder::new(out);
    let mut manifest = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut written = std::collections::HashSet::new();
    for img in images {
        let config_digest = Digest::sha256_of(img.config);
        let diff_ids = parse_config(img.config)?.rootfs().diff_ids().clone();
        if diff_ids.len() != img.layers.len() {
            return Err(Error::Archive {
                path: PathBuf::from("<docker-archive>"),
                reason: format!(
                    "config lists {} layers but {} were given",
                    diff_ids.len(),
                    img.layers.len()
                ),
            });
        }
        let config_name = format!("{}.json", config_digest.hex());
        append(&mut b, &config_name, img.config.len() as u64, img.config)?;
        let mut layer_paths = Vec::new();
        for (reader, diff_id) in img.layers.into_iter().zip(&diff_ids) {
            let diff_id = Digest::parse(diff_id)?;
            let path = format!("{}/layer.tar", diff_id.hex());
            if written.insert(diff_id.clone()) {
                let (mut spool, size) = spool_uncompressed(reader, &diff_id)?;
                append(&mut b, &path, size, &mut spool)?;
            }
            layer_paths.push(path);
        }
        for tag in &img.repo_tags {
            if let Some((repo, t)) = tag
                .rsplit_once(':')
                .filter(|(r, t)| !t.contains('/') && !r.is_empty())
            {
                let top = layer_paths
                    .last()
                    .map(|p| p.trim_end_matches("/layer.tar").to_owned())
                    .unwrap_or_default();
                repositories
                    .entry(repo.to_owned())
                    .or_default()
                    .insert(t.to_owned(), top);
            }
        }
        manifest.push(Entry {
            config: config_name,
            repo_tags: Some(img.repo_tags),
            layers: layer_paths,
        });
    }
    let m = serde_json::to_vec(&manifest).map_err(|e| Error::json("manifest.json", e))?;
    append(&mut b, "manifest.json", m.len() as u64, &m[..])?;
    if !repositories.is_empty() {
        let r = serde_json::to_vec(&repositories).map_err(|e| Error::json("repositories", e))?;
        append(&mut b, "repositories", r.len() as u64, &r[..])?;
    }
    b.into_inner().map_err(Error::Io)?.flush()?;
    Ok(())
}

/// Decompresses a layer into an anonymous temporary file (its size must be known before the
/// tar header is written), checking its diff_id.
fn spool_uncompressed(
    reader: Box<dyn Read + '_>,
    diff_id: &Digest,
) -> Result<(std::fs::File, u64)> {
    let (decoder, _kind): (crate::layer::compression::Decoder<_>, Compression) =
        crate::layer::compression::Decoder::new(io::BufReader::new(reader))?;
    let mut hashing = HashingReader::new(decoder);
    let mut spool = tempfile::tempfile()?;
    io::copy(&mut hashing, &mut spool)?;
    let (_, actual, size) = hashing.into_parts();
    if actual != *diff_id {
        return Err(Error::DigestMismatch {
            what: "layer for docker-archive".to_owned(),
            expected: diff_id.to_string(),
            actual: actual.to_string(),
        });
    }
    spool.rewind()?;
    Ok((spool, size))
}

fn append<W: Write, R: Read>(
    b: &mut tar::Builder<W>,
    name: &str,
    size: u64,
    data: R,
) -> Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    b.append_data(&mut h, name, data).map_err(Error::Io)
}
