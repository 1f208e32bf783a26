//! Image archives: `docker save` tarballs (docker-archive) and OCI image layouts (a
//! directory, or a tar of one as `oci-archive`), read and written.
//!
//! Reading unpacks a tarball into a private temporary directory with the same scoped code as
//! layers (nothing lands outside it), and every file is then opened with `RESOLVE_IN_ROOT`,
//! so symlinked blobs (`docker save` links shared layers, OCI layouts may link blobs) are
//! followed only inside the archive. Every blob is verified against its digest while read.

mod docker;
mod oci;

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

pub use docker::{DockerImage, write_docker_archive};
pub use oci::{OciImage, write_oci_archive, write_oci_layout};

use crate::digest::{Digest, VerifyingReader};
use crate::error::{Error, Result};
use crate::layer::scoped::{Rel, Root};
use crate::layer::{ApplyOptions, Mode, apply};

/// The two archive formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `docker save`: `manifest.json`, config JSON files, layer tars.
    DockerArchive,
    /// OCI image layout: `oci-layout`, `index.json`, `blobs/<alg>/<hex>`.
    OciLayout,
}

/// One layer of an archived image.
#[derive(Debug, Clone)]
pub struct ArchiveLayer {
    /// Where the blob is, relative to the archive root.
    pub path: PathBuf,
    /// The digest the blob must have (the compressed digest in OCI layouts, the diff_id
    /// for docker-archive's uncompressed `layer.tar`).
    pub digest: Digest,
    /// Its media type (docker-archive layers are uncompressed tars).
    pub media_type: String,
}

/// One image found in an archive.
#[derive(Debug, Clone)]
pub struct ArchiveImage {
    /// The names it was saved under (`RepoTags`, or OCI `ref.name` annotations), as written.
    pub names: Vec<String>,
    /// The config blob's exact bytes (verified).
    pub config: Vec<u8>,
    /// Its digest (the image ID).
    pub config_digest: Digest,
    /// The image manifest's bytes and media type, when the archive has one (OCI).
    pub manifest: Option<(Vec<u8>, String)>,
    /// Layers, base first.
    pub layers: Vec<ArchiveLayer>,
}

/// An opened archive: its images and a way to read their blobs.
pub struct Archive {
    format: Format,
    root: Root,
    images: Vec<ArchiveImage>,
    // Holds the unpacked tarball (if any) until the archive is dropped.
    _tmp: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("format", &self.format)
            .field("path", &self.root.path())
            .field("images", &self.images)
            .finish()
    }
}

impl Archive {
    /// Opens a docker-archive or OCI layout: a directory, or a tarball (plain, gzip, zstd,
    /// xz) of one. Tarballs are unpacked into a temporary directory under `tmp_parent`
    /// (the system's default when `None`).
    ///
    /// # Errors
    /// [`Error::Archive`] naming the path and what is missing or malformed.
    pub fn open(path: &Path, tmp_parent: Option<&Path>) -> Result<Self> {
        let md = fs_err::metadata(path)?;
        let (dir, tmp) = if md.is_dir() {
            (path.to_path_buf(), None)
        } else {
            let tmp = match tmp_parent {
                Some(p) => tempfile::Builder::new()
                    .prefix("berth-archive-")
                    .tempdir_in(p),
                None => tempfile::Builder::new().prefix("berth-archive-").tempdir(),
            }
            .map_err(|source| Error::Path {
                op: "creating a temporary directory for",
                path: path.to_path_buf(),
                source,
            })?;
            let f = fs_err::File::open(path)?;
            let opts = ApplyOptions {
                mode: Mode::Flat,
                chown: false,
                user_xattr: false,
            };
            apply(BufReader::new(f), tmp.path(), &opts).map_err(|e| Error::Archive {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
            (tmp.path().to_path_buf(), Some(tmp))
        };
        let root = Root::open(&dir)?;
        let (format, images) = if exists(&root, "oci-layout") && exists(&root, "index.json") {
            (Format::OciLayout, oci::read(&root, path)?)
        } else if exists(&root, "manifest.json") {
            (Format::DockerArchive, docker::read(&root, path)?)
        } else {
            return Err(Error::Archive {
                path: path.to_path_buf(),
                reason: "neither a docker-archive (manifest.json) nor an OCI layout (oci-layout, index.json)".to_owned(),
            });
        };
        Ok(Self {
            format,
            root,
            images,
            _tmp: tmp,
        })
    }

    /// The archive's format.
    #[must_use]
    pub fn format(&self) -> Format {
        self.format
    }

    /// The images in it, in the archive's order.
    #[must_use]
    pub fn images(&self) -> &[ArchiveImage] {
        &self.images
    }

    /// Opens a layer blob; the reader fails at its end if the content does not match the
    /// layer's digest.
    ///
    /// # Errors
    /// I/O errors opening it (a symlink leading outside the archive ends as not found).
    pub fn open_layer(
        &self,
        layer: &ArchiveLayer,
    ) -> Result<VerifyingReader<BufReader<std::fs::File>>> {
        let f = open(&self.root, &layer.path)?;
        Ok(VerifyingReader::new(
            BufReader::new(f),
            layer.digest.clone(),
            None,
            format!("layer {}", layer.path.display()),
        ))
    }
}

fn rel(path: &Path) -> Result<Rel> {
    Rel::clean(path.as_os_str().as_encoded_bytes()).map_err(|reason| Error::UnsafeEntry {
        entry: path.display().to_string(),
        reason: reason.to_owned(),
    })
}

fn exists(root: &Root, name: &str) -> bool {
    rel(Path::new(name)).is_ok_and(|r| root.open_file(&r).is_ok())
}

pub(crate) fn open(root: &Root, path: &Path) -> Result<std::fs::File> {
    root.open_file(&rel(path)?)
}

/// Reads a small file of the archive whole, at most `limit` bytes.
pub(crate) fn read_small(root: &Root, path: &Path, limit: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    open(root, path)?.take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(Error::Archive {
            path: root.path().join(path),
            reason: format!("larger than {limit} bytes"),
        });
    }
    Ok(out)
}

/// Reads a blob whole and checks its digest.
pub(crate) fn read_verified(root: &Root, path: &Path, digest: &Digest) -> Result<Vec<u8>> {
    let bytes = read_small(root, path, 64 << 20)?;
    digest.verify(&path.display().to_string(), &bytes)?;
    Ok(bytes)
}
