//! `berth save`: images → a docker-archive (default) or an OCI archive.

use std::io::{Read, Write};

use berth_image::archive::{DockerImage, OciImage, write_docker_archive, write_oci_archive};
use berth_image::{Digest, Reference};

use super::{familiar, store_name};
use crate::Engine;
use crate::error::Result;

/// The archive format of `save`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaveFormat {
    /// `docker save`'s format (what `docker load` and `podman load` read).
    #[default]
    DockerArchive,
    /// A tar of an OCI image layout (`oci-archive`).
    OciArchive,
}

struct Item {
    tags: Vec<String>,
    config: Vec<u8>,
    manifest: super::push::ImageManifest,
}

impl Engine {
    /// Writes `names` (tags or ids) into one archive on `out`. Names given as tags are
    /// recorded in the archive; images given by id are saved untagged, as Docker does.
    ///
    /// # Errors
    /// Unknown images, missing layer blobs, I/O errors.
    pub fn save(&self, names: &[String], format: SaveFormat, out: impl Write) -> Result<()> {
        let mut items: Vec<Item> = Vec::new();
        for name in names {
            let id = self.resolve_image(name)?;
            let tag = Reference::parse(name)
                .ok()
                .filter(|r| {
                    r.digest().is_none() && !id.contains(name.trim_start_matches("sha256:"))
                })
                .map(|r| store_name(&r))
                .filter(|t| self.store.get_image(&id).is_ok_and(|i| i.tags.contains(t)));
            if let Some(existing) = items
                .iter_mut()
                .find(|i| Digest::sha256_of(&i.config).to_string() == id)
            {
                existing.tags.extend(tag);
                continue;
            }
            let manifest = self.image_manifest(&id)?;
            items.push(Item {
                tags: tag.into_iter().collect(),
                config: manifest.config.clone(),
                manifest,
            });
        }
        match format {
            SaveFormat::DockerArchive => {
                let mut images = Vec::new();
                for it in &items {
                    let mut layers: Vec<Box<dyn Read>> = Vec::new();
                    for (d, _, _) in &it.manifest.layers {
                        layers.push(Box::new(std::io::BufReader::new(self.store.open_blob(d)?)));
                    }
                    images.push(DockerImage {
                        repo_tags: it.tags.iter().map(|t| familiar(t)).collect(),
                        config: &it.config,
                        layers,
                    });
                }
                write_docker_archive(out, images)?;
            }
            SaveFormat::OciArchive => {
                let mut images = Vec::new();
                for it in &items {
                    let mut layers: Vec<(Digest, Box<dyn Read>)> = Vec::new();
                    for (d, _, _) in &it.manifest.layers {
                        layers.push((
                            Digest::parse(d)?,
                            Box::new(std::io::BufReader::new(self.store.open_blob(d)?)),
                        ));
                    }
                    images.push(OciImage {
                        ref_name: it.tags.first().map(|t| familiar(t)),
                        manifest: (&it.manifest.bytes, &it.manifest.media_type),
                        config: &it.config,
                        layers,
                    });
                }
                write_oci_archive(out, images)?;
            }
        }
        Ok(())
    }
}
