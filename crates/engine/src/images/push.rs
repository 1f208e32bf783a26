//! `berth push`: blobs first (exists check, cross-repository mount, upload), manifest last.

use std::sync::Arc;

use berth_image::manifest::{
    DOCKER_CONFIG, DOCKER_MANIFEST, Kind, Manifest, OCI_CONFIG, OCI_MANIFEST,
};
use berth_image::registry::{Client, PushOutcome};
use berth_image::{Digest, Reference};
use futures_util::future::join_all;
use serde_json::json;

use super::store_name;
use crate::Engine;
use crate::error::{Error, Result};

/// Progress of a push, as Docker prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushEvent {
    /// The layer will be checked and sent.
    Preparing {
        /// Short layer id.
        layer: String,
    },
    /// The repository had it.
    Exists {
        /// Short layer id.
        layer: String,
    },
    /// The registry linked it from another repository.
    Mounted {
        /// Short layer id.
        layer: String,
        /// The repository it came from.
        from: String,
    },
    /// The bytes were uploaded.
    Pushed {
        /// Short layer id.
        layer: String,
    },
}

/// A manifest for a stored image: reused when one was pulled or loaded, else made.
#[derive(Debug, Clone)]
pub(crate) struct ImageManifest {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub config: Vec<u8>,
    /// (digest, size, media type) of each layer blob, base first.
    pub layers: Vec<(String, u64, String)>,
    /// Made from the layer rows (no stored manifest fitted).
    pub made: bool,
}

fn short(d: &str) -> String {
    d.strip_prefix("sha256:")
        .unwrap_or(d)
        .chars()
        .take(12)
        .collect()
}

impl Engine {
    pub(crate) fn image_manifest(&self, id: &str) -> Result<ImageManifest> {
        let img = self.store.get_image(id)?;
        let config = img.config.clone().unwrap_or_default().into_bytes();
        for d in &img.manifest_digests {
            if !self.store.has_blob(d)? {
                continue;
            }
            let bytes = self.store.read_blob(d)?;
            if let Ok((kind, Manifest::Image(m))) = berth_image::manifest::parse(None, &bytes)
                && m.config().digest().to_string() == img.id
            {
                let layers = m
                    .layers()
                    .iter()
                    .map(|l| (l.digest().to_string(), l.size(), l.media_type().to_string()))
                    .collect();
                return Ok(ImageManifest {
                    bytes,
                    media_type: kind.media_type().to_owned(),
                    config,
                    layers,
                    made: false,
                });
            }
        }
        let mut layers = Vec::new();
        for l in self.store.image_layers(id)? {
            let missing = || Error::BadImage {
                image: id.to_owned(),
                reason: format!(
                    "the blob of layer {} is not in the store\nhint: pull or load the image again",
                    l.diff_id
                ),
            };
            let d = l.blob_digest.clone().ok_or_else(missing)?;
            if !self.store.has_blob(&d)? {
                return Err(missing());
            }
            let size = self.store.blob_size(&d)?;
            let mt = l
                .media_type
                .clone()
                .unwrap_or_else(|| "application/vnd.oci.image.layer.v1.tar".to_owned());
            layers.push((d, size, mt));
        }
        let docker = layers
            .iter()
            .all(|l| l.2.starts_with("application/vnd.docker"));
        let (mt, cmt) = if docker {
            (DOCKER_MANIFEST, DOCKER_CONFIG)
        } else {
            (OCI_MANIFEST, OCI_CONFIG)
        };
        let doc = json!({
            "schemaVersion": 2,
            "mediaType": mt,
            "config": {"mediaType": cmt, "digest": img.id, "size": config.len()},
            "layers": layers.iter().map(|(d, s, m)| json!({"mediaType": m, "digest": d, "size": s})).collect::<Vec<_>>(),
        });
        let bytes = serde_json::to_vec_pretty(&doc).map_err(|e| berth_image::Error::Json {
            what: "manifest to push".to_owned(),
            source: e,
        })?;
        let _ = Kind::from_media_type(mt)?;
        Ok(ImageManifest {
            bytes,
            media_type: mt.to_owned(),
            config,
            layers,
            made: true,
        })
    }

    /// Pushes the local image `name` to its registry; returns the manifest's digest and
    /// size. Blobs go first, in parallel; the manifest last, so a tag never points at
    /// missing blobs.
    ///
    /// # Errors
    /// Unknown image, missing layer blobs, registry errors.
    pub fn push(&self, name: &str, progress: &mut dyn FnMut(PushEvent)) -> Result<(String, u64)> {
        let r = Reference::parse(name)?;
        let id = self
            .resolve_image(&store_name(&r))
            .or_else(|_| self.resolve_image(name))?;
        let mut m = self.image_manifest(&id)?;
        // A manifest of our own making may send gzip layers instead of plain tars; a
        // stored one is pushed as it is (its digest is the image's name elsewhere).
        if m.made && self.gzip_plain_layers(&id)? {
            m = self.image_manifest(&id)?;
        }
        // Another repository on the same registry with this image: mount from there.
        let img = self.store.get_image(&id)?;
        let mount_from = img
            .tags
            .iter()
            .filter_map(|t| Reference::parse(t).ok())
            .find(|t| t.domain() == r.domain() && t.repository() != r.repository())
            .map(|t| t.repository().to_owned());
        let client = self.registry_client()?;
        let digest = super::runtime::block_on(self.push_async(
            &client,
            &r,
            &m,
            mount_from.as_deref(),
            progress,
        ))??;
        // Remember the manifest, so inspect shows the repo digest.
        let d = self.store.put_blob(&m.bytes)?;
        debug_assert_eq!(d, digest.to_string());
        let mut new = berth_store::NewImage {
            id: img.id.clone(),
            config: img.config.clone().unwrap_or_default(),
            created: img.created,
            size: img.size,
            os: img.os.clone(),
            architecture: img.architecture.clone(),
            variant: img.variant.clone(),
            labels: img.labels.clone(),
            parent: img.parent.clone(),
            manifests: vec![(d, m.media_type.clone())],
            layers: Vec::new(),
        };
        new.layers = self
            .store
            .image_layers(&id)?
            .into_iter()
            .map(|l| berth_store::NewImageLayer {
                diff_id: l.diff_id,
                blob_digest: l.blob_digest,
                media_type: l.media_type,
                size: l.size,
            })
            .collect();
        self.store.put_image(&new)?;
        Ok((digest.to_string(), m.bytes.len() as u64))
    }

    async fn push_async(
        &self,
        client: &Arc<Client>,
        r: &Reference,
        m: &ImageManifest,
        mount_from: Option<&str>,
        progress: &mut dyn FnMut(PushEvent),
    ) -> Result<Digest> {
        for (d, _, _) in &m.layers {
            progress(PushEvent::Preparing { layer: short(d) });
        }
        let jobs = m.layers.iter().map(|(d, size, _)| async move {
            let digest = Digest::parse(d)?;
            let path = self.store.blob_path(d)?;
            let f = tokio::fs::File::open(&path)
                .await
                .map_err(|e| Error::io(&path, e))?;
            let out = client
                .push_blob(r, &digest, *size, tokio::io::BufReader::new(f), mount_from)
                .await?;
            Ok::<_, Error>((d.clone(), out))
        });
        let results = join_all(jobs).await;
        for res in results {
            let (d, out) = res?;
            let layer = short(&d);
            progress(match out {
                PushOutcome::Exists => PushEvent::Exists { layer },
                PushOutcome::Mounted => PushEvent::Mounted {
                    layer,
                    from: mount_from.unwrap_or_default().to_owned(),
                },
                PushOutcome::Uploaded => PushEvent::Pushed { layer },
            });
        }
        let cd = Digest::sha256_of(&m.config);
        client
            .push_blob(r, &cd, m.config.len() as u64, &m.config[..], None)
            .await?;
        Ok(client
            .put_manifest(r, &m.media_type, bytes::Bytes::from(m.bytes.clone()))
            .await?)
    }
}
