//! `berth load`: docker-archive, OCI layout or oci-archive → images in the store.

use std::io::Read;
use std::path::Path;

use berth_image::Reference;
use berth_image::archive::{Archive, ArchiveImage};
use berth_store::NewImageLayer;

use super::unpack::{StageOptions, unpack_layer};
use super::{manage, store_name};
use crate::Engine;
use crate::error::{Error, Result};

/// One image `load` brought in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    /// The image id (config digest).
    pub id: String,
    /// The tags it got (full references), as named in the archive.
    pub tags: Vec<String>,
}

impl Engine {
    /// Loads every image of an archive (docker-archive or OCI layout; a directory or a
    /// tarball, compressed or not), with the tags it names.
    ///
    /// # Errors
    /// Archive errors (naming the path), digest mismatches, store errors.
    pub fn load(&self, input: &Path) -> Result<Vec<LoadedImage>> {
        let tmp = self.store.root().join("tmp");
        let archive = Archive::open(input, Some(&tmp))?;
        let mut out = Vec::new();
        for img in archive.images() {
            out.push(self.load_one(&archive, img)?);
        }
        Ok(out)
    }

    /// [`Engine::load`] from a stream (`berth load` reading stdin): spooled to a temporary
    /// file in the store first, since archives are read out of order.
    ///
    /// # Errors
    /// As [`Engine::load`].
    pub fn load_reader(&self, mut input: impl Read) -> Result<Vec<LoadedImage>> {
        let tmp = self.store.root().join("tmp");
        let mut f = tempfile::Builder::new()
            .prefix("load-")
            .tempfile_in(&tmp)
            .map_err(|e| Error::io(&tmp, e))?;
        std::io::copy(&mut input, &mut f).map_err(|e| Error::io(f.path(), e))?;
        self.load(f.path())
    }

    fn load_one(&self, archive: &Archive, img: &ArchiveImage) -> Result<LoadedImage> {
        let config: serde_json::Value =
            serde_json::from_slice(&img.config).map_err(|e| berth_image::Error::Json {
                what: format!("image config {}", img.config_digest),
                source: e,
            })?;
        let diff_ids = manage::diff_ids(&config, &img.config_digest.to_string())?;
        if diff_ids.len() != img.layers.len() {
            return Err(Error::BadImage {
                image: img.config_digest.to_string(),
                reason: format!(
                    "config lists {} layers, the archive {}",
                    diff_ids.len(),
                    img.layers.len()
                ),
            });
        }
        let mut parent: Option<String> = None;
        let mut layers = Vec::new();
        for (layer, diff) in img.layers.iter().zip(&diff_ids) {
            let chain = super::unpack::chain_id(parent.as_deref(), diff);
            let (blob, size) = if let Some(snap) = self.store.get_snapshot(&chain)? {
                let blob = self
                    .store
                    .has_blob(&layer.digest.to_string())?
                    .then(|| layer.digest.to_string());
                (blob, snap.size)
            } else {
                let reader = archive.open_layer(layer)?;
                let opts = StageOptions {
                    expected_diff_id: Some(diff.clone()),
                    chain_hint: Some(chain.clone()),
                    keep_blob: true,
                };
                let (got, info) = unpack_layer(&self.store, reader, parent.as_deref(), &opts)?;
                debug_assert_eq!(got, chain);
                (info.blob.map(|b| b.0), info.size)
            };
            layers.push(NewImageLayer {
                diff_id: diff.clone(),
                blob_digest: blob,
                media_type: Some(layer.media_type.clone()),
                size,
            });
            parent = Some(chain);
        }
        let mut manifests = Vec::new();
        if let Some((bytes, media_type)) = &img.manifest {
            let d = self.store.put_blob(bytes)?;
            manifests.push((d, media_type.clone()));
        }
        let id = manage::put_image(&self.store, &img.config, layers, manifests)?;
        let mut tags = Vec::new();
        for name in &img.names {
            // OCI ref names may be bare tags or invalid names (podman's
            // "UPPERCASE-IS-INVALID"): those load untagged, as podman does.
            let Ok(r) = Reference::parse(name) else {
                continue;
            };
            let t = store_name(&r);
            self.store.tag_image(&id, &t)?;
            tags.push(t);
        }
        Ok(LoadedImage { id, tags })
    }
}
