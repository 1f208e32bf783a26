//! `image inspect` (Docker's JSON shape) and `history`.

use berth_image::Reference;
use berth_store::ImageRecord;
use serde_json::{Value, json};

use super::{familiar, format_time_ns};
use crate::Engine;
use crate::error::Result;

/// One line of `berth history`, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The image id for the top entry, else `<missing>` (as Docker).
    pub id: String,
    /// Creation time, ns since the epoch (0 when unknown).
    pub created: i64,
    /// The instruction that made the step.
    pub created_by: String,
    /// The layer's unpacked size (0 for steps without a layer).
    pub size: u64,
    /// The step's comment.
    pub comment: String,
}

/// Docker's `RepoDigests`: `repo@digest` for each repository the image is tagged in, with
/// the digest a pull resolved (an index's, if there was one).
fn repo_digests(engine: &Engine, img: &ImageRecord) -> Vec<String> {
    let mut digests: Vec<&String> = img
        .manifest_digests
        .iter()
        // An index's blob is not stored: its digest is the one Docker reports.
        .filter(|d| !engine.store.has_blob(d).unwrap_or(false))
        .collect();
    if digests.is_empty() {
        digests = img.manifest_digests.iter().collect();
    }
    let mut out = Vec::new();
    for t in &img.tags {
        if let Ok(r) = Reference::parse(t) {
            for d in &digests {
                let s = format!("{}@{d}", r.familiar_repository());
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
    }
    out
}

impl Engine {
    /// The digest `images --digests` shows for an image (`<none>` when it never came from
    /// or went to a registry).
    pub fn image_digest(&self, img: &ImageRecord) -> Option<String> {
        let mut ds: Vec<&String> = img
            .manifest_digests
            .iter()
            .filter(|d| !self.store.has_blob(d).unwrap_or(false))
            .collect();
        if ds.is_empty() {
            ds = img.manifest_digests.iter().collect();
        }
        ds.first().map(|d| (*d).clone())
    }

    /// `image inspect NAME`: Docker's JSON shape, plus `GraphDriver` naming the layer
    /// snapshot directories (lowest last, as overlay's lowerdir lists them).
    ///
    /// # Errors
    /// Unknown image, store errors.
    pub fn inspect_image(&self, name: &str) -> Result<Value> {
        let id = self.resolve_image(name)?;
        let img = self.store.get_image(&id)?;
        let layers = self.store.image_layers(&id)?;
        let mut lowers = Vec::new();
        for l in layers.iter().rev() {
            if let Some(s) = self.store.get_snapshot(&l.chain_id)? {
                lowers.push(s.path.display().to_string());
            }
        }
        Ok(image_inspect_json(
            &img,
            &repo_digests(self, &img),
            &layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>(),
            &lowers,
        ))
    }

    /// `history NAME`: the config's history, newest first, with layer sizes.
    ///
    /// # Errors
    /// Unknown image, store errors.
    pub fn image_history(&self, name: &str) -> Result<Vec<HistoryEntry>> {
        let id = self.resolve_image(name)?;
        let img = self.store.get_image(&id)?;
        let layers = self.store.image_layers(&id)?;
        let config: Value =
            serde_json::from_str(img.config.as_deref().unwrap_or("{}")).unwrap_or(Value::Null);
        let mut sizes = layers.iter().map(|l| l.size);
        let mut out = Vec::new();
        let history = config
            .get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if history.is_empty() {
            for l in &layers {
                out.push(HistoryEntry {
                    id: "<missing>".to_owned(),
                    created: img.created,
                    created_by: String::new(),
                    size: l.size,
                    comment: String::new(),
                });
            }
        }
        for h in history {
            let s = |k: &str| h.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let empty = h
                .get("empty_layer")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            out.push(HistoryEntry {
                id: "<missing>".to_owned(),
                created: super::parse_time_ns(&s("created")),
                created_by: s("created_by"),
                size: if empty { 0 } else { sizes.next().unwrap_or(0) },
                comment: s("comment"),
            });
        }
        out.reverse();
        if let Some(first) = out.first_mut() {
            first.id.clone_from(&id);
        }
        Ok(out)
    }
}

/// Builds Docker's `image inspect` object for a stored image.
pub fn image_inspect_json(
    img: &ImageRecord,
    repo_digests: &[String],
    diff_ids: &[String],
    lowers: &[String],
) -> Value {
    let config: Value =
        serde_json::from_str(img.config.as_deref().unwrap_or("{}")).unwrap_or(Value::Null);
    let c = config.get("config").cloned().unwrap_or(json!({}));
    let get = |k: &str, default: Value| c.get(k).cloned().unwrap_or(default);
    let mut cfg = json!({
        "Hostname": "",
        "Domainname": "",
        "User": get("User", json!("")),
        "AttachStdin": false,
        "AttachStdout": false,
        "AttachStderr": false,
        "Tty": false,
        "OpenStdin": false,
        "StdinOnce": false,
        "Env": get("Env", Value::Null),
        "Cmd": get("Cmd", Value::Null),
        "Image": "",
        "Volumes": get("Volumes", Value::Null),
        "WorkingDir": get("WorkingDir", json!("")),
        "Entrypoint": get("Entrypoint", Value::Null),
        "OnBuild": get("OnBuild", Value::Null),
        "Labels": get("Labels", Value::Null),
    });
    for k in ["ExposedPorts", "StopSignal", "Healthcheck", "Shell"] {
        if let Some(v) = c.get(k) {
            cfg[k] = v.clone();
        }
    }
    let s = |k: &str| {
        config
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let created = if s("created").is_empty() {
        format_time_ns(img.created)
    } else {
        s("created")
    };
    let mut out = json!({
        "Id": img.id,
        "RepoTags": img.tags.iter().map(|t| familiar(t)).collect::<Vec<_>>(),
        "RepoDigests": repo_digests,
        "Parent": img.parent.clone().unwrap_or_default(),
        "Comment": s("comment"),
        "Created": created,
        "DockerVersion": s("docker_version"),
        "Author": s("author"),
        "Config": cfg,
        "Architecture": img.architecture,
        "Os": img.os,
        "Size": img.size,
        "GraphDriver": {
            "Name": "overlay",
            "Data": {"LowerDir": lowers.join(":")},
        },
        "RootFS": {"Type": "layers", "Layers": diff_ids},
        "Metadata": {"LastTagTime": format_time_ns(img.added)},
    });
    if let Some(v) = &img.variant {
        out["Variant"] = json!(v);
    }
    out
}
