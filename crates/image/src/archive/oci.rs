//! OCI image layouts: `oci-layout`, `index.json`, and content-addressed `blobs/`.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

use super::{ArchiveImage, ArchiveLayer, read_verified};
use crate::digest::{Digest, VerifyingReader};
use crate::error::{Error, Result};
use crate::layer::scoped::Root;
use crate::manifest::{self, Manifest, Platform};

const REF_NAME: &str = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME: &str = "io.containerd.image.name";

fn blob_path(d: &Digest) -> PathBuf {
    PathBuf::from(format!("blobs/{}/{}", d.algorithm().name(), d.hex()))
}

fn digest_of(d: &Descriptor) -> Result<Digest> {
    Digest::parse(d.digest().as_ref())
}

pub(super) fn read(root: &Root, shown: &Path) -> Result<Vec<ArchiveImage>> {
    let bytes = super::read_small(root, Path::new("index.json"), 16 << 20)?;
    let index: ImageIndex = serde_json::from_slice(&bytes)
        .map_err(|e| Error::json(format!("{}: index.json", shown.display()), e))?;
    let mut images = Vec::new();
    for desc in index.manifests() {
        let mut names = Vec::new();
        if let Some(a) = desc.annotations() {
            for key in [CONTAINERD_NAME, REF_NAME] {
                if let Some(n) = a.get(key).filter(|n| !names.contains(*n)) {
                    names.push(n.clone());
                }
            }
        }
        let (bytes, media_type, m) = resolve(root, desc)?;
        let config_digest = digest_of(m.config())?;
        let config = read_verified(root, &blob_path(&config_digest), &config_digest)?;
        let layers = m
            .layers()
            .iter()
            .map(|l| {
                let digest = digest_of(l)?;
                Ok(ArchiveLayer {
                    path: blob_path(&digest),
                    digest,
                    media_type: l.media_type().to_string(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        images.push(ArchiveImage {
            names,
            config,
            config_digest,
            manifest: Some((bytes, media_type)),
            layers,
        });
    }
    Ok(images)
}

/// Reads the image manifest a descriptor leads to, going through nested indexes (choosing
/// this host's platform).
fn resolve(root: &Root, desc: &Descriptor) -> Result<(Vec<u8>, String, ImageManifest)> {
    let mut desc = desc.clone();
    for _ in 0..8 {
        let digest = digest_of(&desc)?;
        let bytes = read_verified(root, &blob_path(&digest), &digest)?;
        match manifest::parse(Some(desc.media_type().as_ref()), &bytes)? {
            (kind, Manifest::Image(m)) => return Ok((bytes, kind.media_type().to_owned(), *m)),
            (_, Manifest::Index(i)) => {
                desc = manifest::select_platform(&i, &Platform::host())?.clone()
            }
        }
    }
    Err(Error::Archive {
        path: root.path().to_path_buf(),
        reason: "indexes nested too deeply".to_owned(),
    })
}

/// One image to write with [`write_oci_layout`].
pub struct OciImage<'a> {
    /// The `org.opencontainers.image.ref.name` annotation (e.g. `busybox:latest`).
    pub ref_name: Option<String>,
    /// The image manifest's exact bytes and media type.
    pub manifest: (&'a [u8], &'a str),
    /// The config blob's exact bytes.
    pub config: &'a [u8],
    /// The layer blobs (as the manifest lists them), base first.
    pub layers: Vec<(Digest, Box<dyn Read + 'a>)>,
}

/// Writes (or adds to) an OCI image layout in `dir`: blobs are verified as they are written
/// and published by rename; `index.json` lists the images given.
///
/// # Errors
/// Digest mismatches, I/O errors naming the path.
pub fn write_oci_layout(dir: &Path, images: Vec<OciImage<'_>>) -> Result<()> {
    fs_err::create_dir_all(dir.join("blobs/sha256"))?;
    fs_err::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let mut entries = Vec::new();
    for img in images {
        let (mbytes, mtype) = img.manifest;
        let mdigest = Digest::sha256_of(mbytes);
        let parsed: ImageManifest =
            serde_json::from_slice(mbytes).map_err(|e| Error::json("manifest to write", e))?;
        if digest_of(parsed.config())? != Digest::sha256_of(img.config) {
            return Err(Error::DigestMismatch {
                what: "config for OCI layout".to_owned(),
                expected: parsed.config().digest().to_string(),
                actual: Digest::sha256_of(img.config).to_string(),
            });
        }
        put_blob(dir, &mdigest, mbytes)?;
        put_blob(dir, &Digest::sha256_of(img.config), img.config)?;
        for (digest, reader) in img.layers {
            put_blob(dir, &digest, reader)?;
        }
        let cfg = manifest::parse_config(img.config)?;
        let mut e = serde_json::json!({
            "mediaType": mtype,
            "digest": mdigest.to_string(),
            "size": mbytes.len(),
            "platform": {"os": cfg.os().to_string(), "architecture": cfg.architecture().to_string()},
        });
        if let Some(n) = img.ref_name {
            e["annotations"] = serde_json::json!({ REF_NAME: n });
        }
        entries.push(e);
    }
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": manifest::OCI_INDEX, "manifests": entries});
    let bytes = serde_json::to_vec_pretty(&index).map_err(|e| Error::json("index.json", e))?;
    let tmp = dir.join(".index.json.tmp");
    fs_err::write(&tmp, bytes)?;
    fs_err::rename(&tmp, dir.join("index.json"))?;
    Ok(())
}

/// [`write_oci_layout`] into a tar stream (`oci-archive`).
///
/// # Errors
/// As [`write_oci_layout`].
pub fn write_oci_archive<W: Write>(out: W, images: Vec<OciImage<'_>>) -> Result<()> {
    let tmp = tempfile::tempdir().map_err(Error::Io)?;
    write_oci_layout(tmp.path(), images)?;
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    b.mode(tar::HeaderMode::Deterministic);
    for name in ["oci-layout", "index.json"] {
        b.append_path_with_name(tmp.path().join(name), name)
            .map_err(Error::Io)?;
    }
    b.append_dir_all("blobs", tmp.path().join("blobs"))
        .map_err(Error::Io)?;
    b.into_inner().map_err(Error::Io)?.flush()?;
    Ok(())
}

fn put_blob<R: Read>(dir: &Path, digest: &Digest, data: R) -> Result<()> {
    let path = dir.join(blob_path(digest));
    if path.exists() {
        return Ok(());
    }
    let parent = path.parent().unwrap_or(dir);
    fs_err::create_dir_all(parent)?;
    let mut tmp = tempfile::NamedTempFile::new_in(parent).map_err(|source| Error::Path {
        op: "creating a temporary file in",
        path: parent.to_path_buf(),
        source,
    })?;
    let mut reader = VerifyingReader::new(data, digest.clone(), None, format!("blob {digest}"));
    io::copy(&mut reader, tmp.as_file_mut()).map_err(crate::digest::from_io)?;
    tmp.persist(&path).map_err(|e| Error::Path {
        op: "publishing",
        path: path.clone(),
        source: e.error,
    })?;
    Ok(())
}
