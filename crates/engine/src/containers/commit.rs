//! `berth commit`: a container's changes (its overlay upper directory) become a new
//! layer on top of its image, with the container's config (and `--change`s) as the new
//! image's config.

use std::collections::BTreeMap;

use berth_store::{NewImage, NewImageLayer};
use serde_json::{Map, Value, json};

use crate::images::unpack::{StageOptions, unpack_layer};
use crate::images::{ConfigChange, parse_change, store_name};
use crate::{Engine, Error, Result};

/// What `commit` was asked for.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// `REPOSITORY[:TAG]` to tag the image with.
    pub reference: Option<String>,
    /// `-m`: commit message.
    pub message: Option<String>,
    /// `-a`: author.
    pub author: Option<String>,
    /// `-c`: Dockerfile instructions applied to the config.
    pub changes: Vec<String>,
    /// `-p` (default true in Docker): pause while committing.
    pub pause: bool,
}

fn json_err(what: &str, e: serde_json::Error) -> Error {
    Error::Json {
        what: what.to_owned(),
        source: e,
    }
}

impl Engine {
    /// Commits container `name`; returns the new image id.
    pub fn commit_container(&self, name: &str, opts: &CommitOptions) -> Result<String> {
        let changes: Vec<ConfigChange> = opts
            .changes
            .iter()
            .map(|c| parse_change(c))
            .collect::<Result<_>>()?;
        let tag = opts
            .reference
            .as_deref()
            .map(berth_image::Reference::parse)
            .transpose()?;
        let (rec, stored) = self.container(name)?;
        let image_id = rec.image_id.clone().ok_or_else(|| Error::Invalid {
            flag: "CONTAINER",
            value: name.to_owned(),
            hint: "the container has no image to commit on top of".into(),
        })?;
        if self.store().rootfs_is_copy(&rec.id)? {
            return Err(Error::Invalid {
                flag: "CONTAINER",
                value: name.to_owned(),
                hint: "commit needs an overlay rootfs; this container's is a plain copy".into(),
            });
        }
        let layers = self.store().container_layers(&rec.id)?;
        let paused = opts.pause
            && rec.state.status == berth_store::ContainerStatus::Running
            && self.pause_container(&rec.id, true).is_ok();
        let upper = self.store().container_dir(&rec.id)?.join("upper");
        // The diff goes through a temp file: layers can be large.
        let tmp_dir = self.store().root().join("tmp");
        let mut tmp = tempfile::tempfile_in(&tmp_dir).map_err(|e| Error::Io {
            path: tmp_dir.clone(),
            source: e,
        })?;
        let written: Result<()> = if upper.is_dir() {
            berth_image::layer::diff::write_diff(&upper, &mut tmp, false)
                .map(|_| ())
                .map_err(Error::from)
        } else {
            tar::Builder::new(&mut tmp).finish().map_err(|e| Error::Io {
                path: upper.clone(),
                source: e,
            })
        };
        if paused {
            let _ = self.pause_container(&rec.id, false);
        }
        written?;
        use std::io::Seek;
        tmp.rewind().map_err(|e| Error::Io {
            path: tmp_dir.clone(),
            source: e,
        })?;
        let stage = StageOptions {
            keep_blob: true,
            ..StageOptions::default()
        };
        let (_chain, info) =
            unpack_layer(self.store(), tmp, layers.last().map(String::as_str), &stage)?;

        let parent = self.store().get_image(&image_id)?;
        let mut config: Value = serde_json::from_str(parent.config.as_deref().unwrap_or("{}"))
            .map_err(|e| json_err("parent image config", e))?;
        let mut cfg: Map<String, Value> = config
            .get("config")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        // The container's own settings become the image's, as Docker's commit does.
        let env = super::spec::environment(&stored.opts, &stored.image, &stored.hostname, "");
        cfg.insert(
            "Env".into(),
            json!(
                env.into_iter()
                    .filter(|e| !e.starts_with("HOSTNAME=") && !e.starts_with("HOME="))
                    .collect::<Vec<_>>()
            ),
        );
        if !stored.opts.cmd.is_empty() || stored.opts.entrypoint.is_some() {
            cfg.insert("Cmd".into(), json!(stored.opts.cmd));
        }
        if let Some(e) = &stored.opts.entrypoint {
            cfg.insert(
                "Entrypoint".into(),
                if e.is_empty() {
                    Value::Null
                } else {
                    json!([e])
                },
            );
        }
        if let Some(w) = &stored.opts.workdir {
            cfg.insert("WorkingDir".into(), json!(w));
        }
        if let Some(u) = &stored.opts.user {
            cfg.insert("User".into(), json!(u));
        }
        if stored.opts.healthcheck.is_some()
            && let Some(h) = super::health::merged(&stored.opts, &stored.image)
        {
            cfg.insert("Healthcheck".into(), json!(h));
        }
        if let Some(s) = &stored.opts.stop_signal {
            cfg.insert("StopSignal".into(), json!(s));
        }
        if !stored.opts.labels.is_empty() {
            cfg.insert("Labels".into(), json!(rec.labels));
        }
        for c in &changes {
            c.apply(&mut cfg);
        }
        let now = humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string();
        config["config"] = Value::Object(cfg);
        config["created"] = json!(now);
        config["container"] = json!(rec.id);
        if let Some(a) = &opts.author {
            config["author"] = json!(a);
        }
        if let Some(m) = &opts.message {
            config["comment"] = json!(m);
        }
        let mut diff_ids: Vec<Value> = config
            .pointer("/rootfs/diff_ids")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        diff_ids.push(json!(info.diff_id));
        config["rootfs"] = json!({"type": "layers", "diff_ids": diff_ids});
        let mut history: Vec<Value> = config
            .get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let created_by = std::iter::once(stored.path.clone())
            .chain(stored.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let mut h = json!({"created": now, "created_by": created_by});
        if let Some(m) = &opts.message {
            h["comment"] = json!(m);
        }
        if let Some(a) = &opts.author {
            h["author"] = json!(a);
        }
        history.push(h);
        config["history"] = json!(history);
        let bytes = serde_json::to_vec(&config).map_err(|e| json_err("new image config", e))?;
        let id = self.store().put_blob(&bytes)?;

        let mut new_layers: Vec<NewImageLayer> = self
            .store()
            .image_layers(&image_id)?
            .into_iter()
            .map(|l| NewImageLayer {
                diff_id: l.diff_id,
                blob_digest: l.blob_digest,
                media_type: l.media_type,
                size: l.size,
            })
            .collect();
        new_layers.push(NewImageLayer {
            diff_id: info.diff_id.clone(),
            blob_digest: info.blob.map(|b| b.0),
            media_type: Some("application/vnd.oci.image.layer.v1.tar".into()),
            size: info.size,
        });
        let labels: BTreeMap<String, String> = config
            .pointer("/config/Labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        self.store().put_image(&NewImage {
            id: id.clone(),
            parent: Some(image_id),
            created: berth_store::digest::now_ns(),
            size: new_layers.iter().map(|l| l.size).sum(),
            os: parent.os,
            architecture: parent.architecture,
            variant: parent.variant,
            config: String::from_utf8_lossy(&bytes).into_owned(),
            manifests: Vec::new(),
            layers: new_layers,
            labels,
        })?;
        if let Some(r) = tag {
            self.store().tag_image(&id, &store_name(&r))?;
        }
        self.record_event(&rec.id, "commit");
        Ok(id)
    }
}
