//! Recording images in the store, and `tag`, `rmi`, `image prune`, `images`.

use std::collections::BTreeMap;

use berth_image::Reference;
use berth_store::{
    ImageFilter, ImageRecord, NewImage, NewImageLayer, PruneReport, RemoveImageReport, Store,
};
use serde_json::Value;

use super::{parse_time_ns, store_name};
use crate::Engine;
use crate::error::{Error, Result};

/// The `rootfs.diff_ids` of a config.
pub(crate) fn diff_ids(config: &Value, image: &str) -> Result<Vec<String>> {
    let ids = config
        .pointer("/rootfs/diff_ids")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::BadImage {
            image: image.to_owned(),
            reason: "config has no rootfs.diff_ids".to_owned(),
        })?;
    ids.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| Error::BadImage {
                    image: image.to_owned(),
                    reason: "rootfs.diff_ids holds a non-string".to_owned(),
                })
        })
        .collect()
}

/// Stores the config blob and the image row (its snapshots must be committed); returns
/// the image id.
pub(crate) fn put_image(
    store: &Store,
    config_bytes: &[u8],
    layers: Vec<NewImageLayer>,
    manifests: Vec<(String, String)>,
) -> Result<String> {
    let id = store.put_blob(config_bytes)?;
    let config: Value =
        serde_json::from_slice(config_bytes).map_err(|e| berth_image::Error::Json {
            what: format!("image config {id}"),
            source: e,
        })?;
    let s = |k: &str| config.get(k).and_then(Value::as_str).map(str::to_owned);
    let labels: BTreeMap<String, String> = config
        .pointer("/config/Labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let img = NewImage {
        id: id.clone(),
        parent: None,
        created: s("created").map_or(0, |c| parse_time_ns(&c)),
        size: layers.iter().map(|l| l.size).sum(),
        os: s("os").unwrap_or_else(|| "linux".to_owned()),
        architecture: s("architecture").unwrap_or_else(|| "amd64".to_owned()),
        variant: s("variant"),
        config: String::from_utf8_lossy(config_bytes).into_owned(),
        manifests,
        layers,
        labels,
    };
    store.put_image(&img)?;
    Ok(id)
}

impl Engine {
    /// `berth tag SOURCE TARGET`: points the (normalized) tag `target` at the image `source`.
    ///
    /// # Errors
    /// An invalid target reference, an unknown source image.
    pub fn tag(&self, source: &str, target: &str) -> Result<String> {
        let id = self.resolve_image(source)?;
        let r = Reference::parse(target)?;
        if r.digest().is_some() {
            return Err(berth_image::Error::InvalidReference {
                reference: target.to_owned(),
                reason: "a tag cannot contain a digest".to_owned(),
            }
            .into());
        }
        self.store.tag_image(&id, &store_name(&r))?;
        Ok(id)
    }

    /// Resolves what a user typed (`alpine`, `alpine:3`, `sha256:…`, an id prefix,
    /// `name@sha256:…`) to an image id.
    ///
    /// # Errors
    /// [`berth_store::Error::ImageNotFound`] and ambiguity errors.
    pub fn resolve_image(&self, name: &str) -> Result<String> {
        match self.store.resolve_image(name) {
            Ok(id) => return Ok(id),
            Err(berth_store::Error::ImageNotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        if let Ok(r) = Reference::parse(name) {
            let full = store_name(&r);
            if let Ok(id) = self.store.resolve_image(&full) {
                return Ok(id);
            }
            if let Some(d) = r.digest()
                && let Ok(id) = self.store.resolve_image(&format!("{}@{d}", r.name()))
            {
                return Ok(id);
            }
        }
        Err(berth_store::Error::ImageNotFound(name.to_owned()).into())
    }

    /// `rmi`: untags or deletes as Docker does; refuses images in use unless `force`.
    ///
    /// # Errors
    /// Unknown image, image in use, store errors.
    pub fn remove_image(&self, name: &str, force: bool) -> Result<RemoveImageReport> {
        // The store matches exact tags; a user's `alpine` means docker.io/library/alpine:latest.
        let key = match self.store.resolve_image(name) {
            Ok(_) => name.to_owned(),
            Err(_) => match Reference::parse(name) {
                Ok(r) if r.digest().is_none() => store_name(&r),
                _ => self.resolve_image(name)?,
            },
        };
        Ok(self.store.remove_image(&key, force)?)
    }

    /// `image prune [-a]`.
    ///
    /// # Errors
    /// Store errors.
    pub fn prune_images(&self, all: bool) -> Result<PruneReport> {
        Ok(self.store.prune_images(all)?)
    }

    /// `images`: the store's listing; reference patterns in Docker's familiar form work.
    ///
    /// # Errors
    /// Store errors, a bad pattern.
    pub fn list_images(&self, filter: &ImageFilter) -> Result<Vec<ImageRecord>> {
        let mut f = filter.clone();
        // before/since take image names: resolve them to ids for the store.
        for v in [&mut f.before, &mut f.since].into_iter().flatten() {
            *v = self.resolve_image(v)?;
        }
        Ok(self.store.list_images(&f)?)
    }
}
