//! Before a push: layers stored as plain tars (built, committed, imported from `.xz`) are
//! compressed with gzip, as `docker push` does, so the registry holds and serves a third
//! of the bytes. The compressed blob replaces the plain one in the store, so the next push
//! finds it (and the registry answers "Layer already exists") instead of compressing again.

use std::io::{BufRead as _, BufReader};

use berth_image::layer::Compression;

use crate::Engine;
use crate::error::{Error, Result};

/// Media types of uncompressed layers.
const PLAIN: [&str; 2] = [
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.docker.image.rootfs.diff.tar",
];

/// The gzip media type in the same family as `plain`.
fn gzip_type(plain: &str) -> &'static str {
    if plain.starts_with("application/vnd.docker") {
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    } else {
        "application/vnd.oci.image.layer.v1.tar+gzip"
    }
}

impl Engine {
    /// Compresses every plain-tar layer blob of image `id` (in parallel) and records the
    /// compressed blobs; says whether anything changed.
    ///
    /// # Errors
    /// Store and I/O errors (a full disk).
    pub(crate) fn gzip_plain_layers(&self, id: &str) -> Result<bool> {
        let mut todo: Vec<(String, String)> = Vec::new();
        for l in self.store.image_layers(id)? {
            let (Some(blob), Some(mt)) = (l.blob_digest, l.media_type) else {
                continue;
            };
            if PLAIN.contains(&mt.as_str()) && !todo.iter().any(|(b, _)| *b == blob) {
                todo.push((blob, mt));
            }
        }
        if todo.is_empty() {
            return Ok(false);
        }
        let results: Vec<Result<Option<String>>> = std::thread::scope(|s| {
            let handles: Vec<_> = todo
                .iter()
                .map(|(blob, _)| s.spawn(move || self.gzip_blob(blob)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Task("compressing a layer".to_owned())))
                })
                .collect()
        });
        let mut changed = false;
        for ((old, mt), res) in todo.iter().zip(results) {
            if let Some(new) = res? {
                self.store.replace_layer_blob(old, &new, gzip_type(mt))?;
                changed = true;
            }
        }
        Ok(changed)
    }

    /// Writes a gzip copy of blob `digest` to the store; `None` when the blob is already
    /// compressed whatever its media type says.
    fn gzip_blob(&self, digest: &str) -> Result<Option<String>> {
        let path = self.store.blob_path(digest)?;
        let mut input = BufReader::with_capacity(1 << 20, self.store.open_blob(digest)?);
        let head = input.fill_buf().map_err(|e| Error::io(&path, e))?;
        if Compression::detect(head) != Compression::None {
            return Ok(None);
        }
        let out = self.store.begin_blob()?;
        let tmp = out.tmp_path().to_path_buf();
        // GzEncoder writes mtime 0 and no name: the same tar gives the same blob.
        let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
        std::io::copy(&mut input, &mut gz).map_err(|e| Error::io(&tmp, e))?;
        let out = gz.finish().map_err(|e| Error::io(&tmp, e))?;
        let d = out.digest();
        out.commit(&d)?;
        Ok(Some(d))
    }
}
