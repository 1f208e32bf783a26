//! `berth pull`: manifest (through an index to this platform's manifest), config, then all
//! missing layers at once; each streams download → sha256 check → decompress → unpack into
//! its staging directory, and layers are published base first once all verified.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use berth_image::registry::Client;
use berth_image::{Digest, Platform, Reference};
use berth_store::NewImageLayer;
use futures_util::future::join_all;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc::UnboundedSender;

use super::unpack::{
    StageOptions, StagedLayer, chain_id, commit_layer, prepare_layer, sync_staged,
};
use super::{manage, store_name};
use crate::Engine;
use crate::error::{Error, Result};

/// Options for [`Engine::pull`].
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// The platform to pick from an index (default: this host).
    pub platform: Option<Platform>,
}

/// Progress of a pull, in the order Docker prints it. Layers are named by the first 12
/// hex digits of their blob digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullEvent {
    /// The reference resolved; layers follow.
    Resolved {
        /// The tag or digest being pulled.
        reference: String,
    },
    /// The layer is already in the store.
    AlreadyExists {
        /// Short layer id.
        layer: String,
    },
    /// The layer will be downloaded.
    Waiting {
        /// Short layer id.
        layer: String,
        /// Its compressed size.
        total: u64,
    },
    /// Bytes received so far (and unpacked as they come).
    Downloading {
        /// Short layer id.
        layer: String,
        /// Bytes so far.
        current: u64,
        /// Compressed size.
        total: u64,
    },
    /// The download finished, verified and unpacked.
    DownloadComplete {
        /// Short layer id.
        layer: String,
    },
    /// A transient error; the layer is tried again.
    Retrying {
        /// Short layer id.
        layer: String,
        /// The error.
        error: String,
    },
    /// The layer is published in the store.
    PullComplete {
        /// Short layer id.
        layer: String,
    },
}

/// What a pull did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullOutcome {
    /// The image id (config digest).
    pub id: String,
    /// The digest the reference resolved to (the index's, if it was one).
    pub digest: String,
    /// The reference, fully qualified (`docker.io/library/alpine:latest`).
    pub reference: String,
    /// False when the image and tag were already there.
    pub downloaded: bool,
}

fn short(d: &str) -> String {
    d.strip_prefix("sha256:")
        .unwrap_or(d)
        .chars()
        .take(12)
        .collect()
}

/// Counts bytes for progress events (at most one event per 512 KiB).
struct Counting<R> {
    inner: R,
    layer: String,
    n: u64,
    last: u64,
    total: u64,
    tx: UnboundedSender<PullEvent>,
}

impl<R: AsyncRead + Unpin> AsyncRead for Counting<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let got = (buf.filled().len() - before) as u64;
        if got > 0 {
            self.n += got;
            if self.n - self.last >= 512 << 10 || self.n == self.total {
                self.last = self.n;
                let ev = PullEvent::Downloading {
                    layer: self.layer.clone(),
                    current: self.n,
                    total: self.total,
                };
                let _ = self.tx.send(ev);
            }
        }
        r
    }
}

/// Whether an error is worth another attempt (the network, not the content). A body
/// that ended early (a dropped connection) is one: the bytes that came were right.
fn transient(e: &Error) -> bool {
    match e {
        Error::Image(berth_image::Error::SizeMismatch {
            expected, actual, ..
        }) => actual < expected,
        _ => matches!(
            e,
            Error::Image(berth_image::Error::Http { .. } | berth_image::Error::Io(_))
                | Error::Image(berth_image::Error::RegistryStatus {
                    status: 500..=599,
                    ..
                })
        ),
    }
}

const LAYER_ATTEMPTS: u32 = 3;

impl Engine {
    /// Pulls `reference` into the store; see the module docs. Runs a tokio runtime for the
    /// duration of the call only. `progress` is called on the calling thread.
    ///
    /// # Errors
    /// Invalid references, registry errors (not found, unauthorized), digest mismatches,
    /// unsafe layers, store errors (a full disk). The store stays consistent: only
    /// verified layers are published, and the image row comes last.
    pub fn pull(
        &self,
        reference: &str,
        opts: &PullOptions,
        progress: &mut dyn FnMut(PullEvent),
    ) -> Result<PullOutcome> {
        let r = Reference::parse(reference)?;
        let client = self.registry_client()?;
        let platform = opts.platform.clone().unwrap_or_else(Platform::host);
        super::runtime::block_on(self.pull_async(&client, &r, &platform, progress))?
    }

    async fn pull_async(
        &self,
        client: &Arc<Client>,
        r: &Reference,
        platform: &Platform,
        progress: &mut dyn FnMut(PullEvent),
    ) -> Result<PullOutcome> {
        let resolved = client.resolve_image(r, platform).await?;
        progress(PullEvent::Resolved {
            reference: r.api_reference(),
        });
        let repo_digest = resolved
            .index_digest
            .clone()
            .unwrap_or_else(|| resolved.digest.clone());
        let config_desc = resolved.manifest.config();
        let config_digest = Digest::parse(config_desc.digest().as_ref())?;
        let config_bytes = client
            .fetch_blob_bytes(r, &config_digest, Some(config_desc.size()))
            .await?;
        let config: serde_json::Value =
            serde_json::from_slice(&config_bytes).map_err(|e| berth_image::Error::Json {
                what: format!("image config {config_digest}"),
                source: e,
            })?;
        let diff_ids = manage::diff_ids(&config, &config_digest.to_string())?;
        let layers = resolved.manifest.layers();
        if diff_ids.len() != layers.len() {
            return Err(Error::BadImage {
                image: r.to_string(),
                reason: format!(
                    "manifest lists {} layers, the config {}",
                    layers.len(),
                    diff_ids.len()
                ),
            });
        }
        let mut chains = Vec::new();
        for d in &diff_ids {
            chains.push(chain_id(chains.last().map(String::as_str), d));
        }

        // Stage every missing layer concurrently.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut jobs = Vec::new();
        for (i, layer) in layers.iter().enumerate() {
            let blob = Digest::parse(layer.digest().as_ref())?;
            let id = short(&blob.to_string());
            if self.store.has_snapshot(&chains[i])? {
                progress(PullEvent::AlreadyExists { layer: id });
                continue;
            }
            progress(PullEvent::Waiting {
                layer: id.clone(),
                total: layer.size(),
            });
            let opts = StageOptions {
                expected_diff_id: Some(diff_ids[i].clone()),
                chain_hint: Some(chains[i].clone()),
                keep_blob: true,
            };
            let tx = tx.clone();
            let size = layer.size();
            jobs.push(async move {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match self
                        .fetch_layer(client, r, &blob, size, &opts, &id, &tx)
                        .await
                    {
                        Err(e) if attempt < LAYER_ATTEMPTS && transient(&e) => {
                            let _ = tx.send(PullEvent::Retrying {
                                layer: id.clone(),
                                error: e.to_string(),
                            });
                        }
                        other => return (i, other),
                    }
                }
            });
        }
        drop(tx);
        let work = join_all(jobs);
        tokio::pin!(work);
        let results = loop {
            tokio::select! {
                Some(ev) = rx.recv() => progress(ev),
                res = &mut work => break res,
            }
        };
        while let Ok(ev) = rx.try_recv() {
            progress(ev);
        }
        let mut staged: Vec<Option<StagedLayer>> = (0..layers.len()).map(|_| None).collect();
        let mut first_err = None;
        for (i, res) in results {
            match res {
                Ok(s) => staged[i] = Some(s),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_err {
            // Staged layers are dropped (deleted) here; nothing was published.
            return Err(e);
        }

        // One sync for all layers, then publish base first, then the image row, the tag.
        sync_staged(&self.store, staged.iter_mut().flatten())?;
        let mut parent: Option<&str> = None;
        let mut rows = Vec::new();
        for (i, layer) in layers.iter().enumerate() {
            let blob = layer.digest().to_string();
            if let Some(s) = staged[i].take() {
                commit_layer(&self.store, s, parent)?;
                progress(PullEvent::PullComplete {
                    layer: short(&blob),
                });
            }
            let size = self.store.get_snapshot(&chains[i])?.map_or(0, |s| s.size);
            rows.push(NewImageLayer {
                diff_id: diff_ids[i].clone(),
                blob_digest: self.store.has_blob(&blob)?.then_some(blob),
                media_type: Some(layer.media_type().to_string()),
                size,
            });
            parent = Some(&chains[i]);
        }
        let manifest_digest = self.store.put_blob(&resolved.bytes)?;
        let mut manifests = vec![(manifest_digest, resolved.kind.media_type().to_owned())];
        if let Some(ix) = &resolved.index_digest {
            manifests.push((
                ix.to_string(),
                "application/vnd.oci.image.index.v1+json".to_owned(),
            ));
        }
        let existed = self.store.resolve_image(&config_digest.to_string()).is_ok();
        let id = manage::put_image(&self.store, &config_bytes, rows, manifests)?;
        let mut downloaded = !existed;
        if let Some(tag) = r.tag() {
            let name = store_name(&r.with_tag(tag)?);
            let already = self.store.get_image(&id)?.tags.contains(&name);
            self.store.tag_image(&id, &name)?;
            downloaded |= !already;
        }
        Ok(PullOutcome {
            id,
            digest: repo_digest.to_string(),
            reference: r.to_string(),
            downloaded,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn fetch_layer(
        &self,
        client: &Client,
        r: &Reference,
        blob: &Digest,
        size: u64,
        opts: &StageOptions,
        id: &str,
        tx: &UnboundedSender<PullEvent>,
    ) -> Result<StagedLayer> {
        let prepared = prepare_layer(&self.store, opts)?;
        let reader = client.fetch_blob(r, blob, Some(size)).await?;
        let counting = Counting {
            inner: reader,
            layer: id.to_owned(),
            n: 0,
            last: 0,
            total: size,
            tx: tx.clone(),
        };
        let bridge = tokio_util::io::SyncIoBridge::new(counting);
        let staged = tokio::task::spawn_blocking(move || prepared.apply(bridge))
            .await
            .map_err(|e| Error::Task(format!("unpacking layer {id}: {e}")))??;
        let _ = tx.send(PullEvent::DownloadComplete {
            layer: id.to_owned(),
        });
        Ok(staged)
    }
}
