//! `berth import`: a root filesystem tarball becomes a one-layer image.

use std::io::{BufRead, BufReader, Read};

use berth_image::layer::Compression;
use berth_image::{Platform, Reference};
use berth_store::NewImageLayer;
use serde_json::{Map, Value, json};

use super::change::ConfigChange;
use super::unpack::{StageOptions, unpack_layer};
use super::{manage, store_name};
use crate::Engine;
use crate::error::{Error, Result};

/// What `import` should make of the tarball.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `REPO[:TAG]` to tag the new image with.
    pub reference: Option<String>,
    /// `--change` instructions, parsed.
    pub changes: Vec<ConfigChange>,
    /// `-m`: the commit message (the history entry's comment).
    pub message: Option<String>,
    /// Where the tarball came from (`-`, a path, a URL), for the history entry.
    pub source: String,
    /// `--platform` (default: this host).
    pub platform: Option<Platform>,
}

impl Engine {
    /// Imports a root filesystem tarball (plain, gzip, zstd or xz) from `input`; returns the
    /// new image id. The tarball is unpacked once, its digest becomes the layer's diff_id.
    ///
    /// # Errors
    /// An invalid reference (checked before reading anything), unsafe or malformed tar
    /// entries, store errors.
    pub fn import(&self, input: impl Read, opts: &ImportOptions) -> Result<String> {
        let tag = opts
            .reference
            .as_deref()
            .map(Reference::parse)
            .transpose()?;
        let mut input = BufReader::with_capacity(256 << 10, input);
        let head = input.fill_buf().map_err(|e| Error::io(&opts.source, e))?;
        // xz is no registry layer type: keep such a layer uncompressed instead.
        let (reader, compression): (Box<dyn Read>, _) = match Compression::detect(head) {
            Compression::Xz => (
                Box::new(xz2::read::XzDecoder::new(input)),
                Compression::None,
            ),
            c => (Box::new(input), c),
        };
        let media_type = match compression {
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
            _ => "application/vnd.oci.image.layer.v1.tar",
        };
        let stage = StageOptions {
            keep_blob: true,
            ..StageOptions::default()
        };
        let (_chain, info) = unpack_layer(&self.store, reader, None, &stage)?;
        let platform = opts.platform.clone().unwrap_or_else(Platform::host);
        let now = humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string();
        let mut cfg = Map::new();
        for c in &opts.changes {
            c.apply(&mut cfg);
        }
        let comment = opts
            .message
            .clone()
            .unwrap_or_else(|| format!("Imported from {}", opts.source));
        let mut config = json!({
            "architecture": platform.architecture,
            "os": platform.os,
            "created": now,
            "config": Value::Object(cfg),
            "rootfs": {"type": "layers", "diff_ids": [info.diff_id]},
            "history": [{"created": now, "created_by": "berth import", "comment": comment}],
        });
        if let Some(v) = &platform.variant {
            config["variant"] = Value::from(v.clone());
        }
        if let Some(m) = &opts.message {
            config["comment"] = Value::from(m.clone());
        }
        let bytes = serde_json::to_vec(&config).map_err(|e| berth_image::Error::Json {
            what: "new image config".to_owned(),
            source: e,
        })?;
        let layer = NewImageLayer {
            diff_id: info.diff_id.clone(),
            blob_digest: info.blob.map(|b| b.0),
            media_type: Some(media_type.to_owned()),
            size: info.size,
        };
        let id = manage::put_image(&self.store, &bytes, vec![layer], Vec::new())?;
        if let Some(r) = tag {
            self.store.tag_image(&id, &store_name(&r))?;
        }
        Ok(id)
    }

    /// [`Engine::import`] of a URL: downloaded to a temporary file in the store first.
    ///
    /// # Errors
    /// Download errors naming the URL, then as [`Engine::import`].
    pub fn import_url(&self, url: &str, opts: &ImportOptions) -> Result<String> {
        let tmp = self.store.root().join("tmp");
        let mut file = tempfile::Builder::new()
            .prefix("import-")
            .tempfile_in(&tmp)
            .map_err(|e| Error::io(&tmp, e))?;
        let fail = |reason: String| Error::Download {
            url: url.to_owned(),
            reason,
        };
        let bytes = super::runtime::block_on(async {
            let resp = reqwest::get(url).await.map_err(|e| fail(e.to_string()))?;
            if !resp.status().is_success() {
                return Err(fail(format!("server answered {}", resp.status())));
            }
            resp.bytes().await.map_err(|e| fail(e.to_string()))
        })??;
        std::io::Write::write_all(&mut file, &bytes).map_err(|e| Error::io(file.path(), e))?;
        let f = fs_err::File::open(file.path()).map_err(|e| Error::io(file.path(), e))?;
        self.import(f, opts)
    }
}
