//! What the image builder (`berth-build`) needs from the engine and nothing else uses:
//! storing an image from a config and layers it made, turning a layer tar into a
//! snapshot, and running one `RUN` step as a short-lived container on a chain of
//! snapshots (no image row needed), returning its exit code and its changes as a layer.
//!
//! ```no_run
//! use berth_engine::{Engine, Paths};
//! use berth_engine::build_support::BuildRun;
//! let engine = Engine::open(Paths::under("/tmp/berth-demo"))?;
//! let run = BuildRun { argv: vec!["true".into()], ..BuildRun::default() };
//! let out = engine.run_build_step(&run)?;
//! # Ok::<(), berth_engine::Error>(())
//! ```

use std::io::Read;
use std::path::Path;

use berth_store::{NewContainer, NewImageLayer};

use crate::containers::spec::{self, SpecInput};
use crate::containers::{ImageConfig, RunOptions, Stored, user};
use crate::images::unpack::{StageOptions, unpack_layer};
use crate::{Engine, Error, Result};

/// A layer the builder made, as recorded in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltLayer {
    /// Uncompressed digest.
    pub diff_id: String,
    /// Chain id of the snapshot (this layer on its parents).
    pub chain_id: String,
    /// Blob digest (the uncompressed tar, so equal to `diff_id`).
    pub blob_digest: Option<String>,
    /// Unpacked size.
    pub size: u64,
}

/// One `RUN` step.
#[derive(Debug, Clone, Default)]
pub struct BuildRun {
    /// Chain ids of the rootfs layers, base first.
    pub layers: Vec<String>,
    /// The image config JSON of the state so far (its `config` gives user, workdir, env).
    pub config_json: String,
    /// The full argv (shell + command, or the exec form).
    pub argv: Vec<String>,
    /// Extra `KEY=VALUE` environment (build args in scope).
    pub env: Vec<String>,
    /// `default`, `none` or `host`.
    pub network: Option<String>,
    /// `RUN --mount`s: (target, host directory or `None` for a tmpfs, read-only).
    pub mounts: Vec<(String, Option<std::path::PathBuf>, bool)>,
    /// `KEY=VALUE` environment that must not be recorded anywhere (secrets exposed as
    /// variables): it reaches the process's spec only, never the container's stored
    /// config (the database), which `env` is part of.
    pub secret_env: Vec<String>,
}

/// What a `RUN` step did.
#[derive(Debug, Clone)]
pub struct BuildRunOutcome {
    /// The process's exit code.
    pub code: i32,
    /// The layer of its changes (only when `code` is 0).
    pub layer: Option<BuiltLayer>,
}

impl Engine {
    /// Stores an image made by the builder (config bytes exactly as hashed) and returns
    /// its id; idempotent.
    pub fn put_built_image(&self, config: &[u8], layers: &[BuiltLayer]) -> Result<String> {
        let layers = layers
            .iter()
            .map(|l| NewImageLayer {
                diff_id: l.diff_id.clone(),
                blob_digest: l.blob_digest.clone(),
                media_type: Some("application/vnd.oci.image.layer.v1.tar".to_owned()),
                size: l.size,
            })
            .collect();
        crate::images::manage_put_image(self.store(), config, layers, Vec::new())
    }

    /// Applies an uncompressed layer tar on top of `parent` (a chain id), keeping the tar
    /// as a blob, and returns the new layer.
    pub fn commit_layer_tar(&self, tar: impl Read, parent: Option<&str>) -> Result<BuiltLayer> {
        let opts = StageOptions {
            keep_blob: true,
            ..StageOptions::default()
        };
        let (chain, info) = unpack_layer(self.store(), tar, parent, &opts)?;
        Ok(BuiltLayer {
            diff_id: info.diff_id,
            chain_id: chain,
            blob_digest: info.blob.map(|b| b.0),
            size: info.size,
        })
    }

    /// Runs a `RUN` step in a temporary container (stdio inherited from this process,
    /// which must be single-threaded) and commits its changes as a layer when it
    /// succeeds. The container is removed whatever happens.
    pub fn run_build_step(&self, run: &BuildRun) -> Result<BuildRunOutcome> {
        let image = ImageConfig::from_image_json(&run.config_json)?;
        let opts = RunOptions {
            entrypoint: Some(String::new()),
            cmd: run.argv.clone(),
            env: run.env.clone(),
            network: run.network.clone(),
            ..RunOptions::default()
        };
        let id = berth_store::digest::random_id()?;
        let new = NewContainer {
            id: id.clone(),
            name: format!("berth-build-{}", &id[..12]),
            image_id: None,
            image_ref: String::new(),
            created: None,
            config: "{}".into(),
            labels: std::collections::BTreeMap::new(),
            volumes: Vec::new(),
            layers: Some(run.layers.clone()),
        };
        self.store().create_container(&new)?;
        let result = self.run_build_container(&id, run, &image, &opts);
        let _ = self.store().unmount_rootfs(&id);
        let removed = self.remove_container(&id, true, true);
        let out = result?;
        removed?;
        Ok(out)
    }

    fn run_build_container(
        &self,
        id: &str,
        run: &BuildRun,
        image: &ImageConfig,
        opts: &RunOptions,
    ) -> Result<BuildRunOutcome> {
        let rootfs = self.store().mount_rootfs(id, &run.layers)?;
        let dir = self.store().container_dir(id)?;
        let passwd = user::read_in_root(&rootfs, "/etc/passwd")?;
        let group = user::read_in_root(&rootfs, "/etc/group")?;
        let resolved = user::resolve(&image.user, &passwd, &group, &[])?;
        let host_net = run.network.as_deref() == Some("host");
        let etc = write_etc_files(&dir, host_net)?;
        let mut with_secrets = opts.clone();
        with_secrets.env.extend(run.secret_env.iter().cloned());
        let input = SpecInput {
            id,
            opts: &with_secrets,
            image,
            rootfs,
            user: resolved,
            mounts: run
                .mounts
                .iter()
                .map(|(target, source, readonly)| spec::ResolvedMount {
                    target: target.clone(),
                    source: source.clone(),
                    options: Vec::new(),
                    readonly: *readonly,
                })
                .collect(),
            etc_files: etc,
            devices: Vec::new(),
            init_dir: None,
            host_caps: crate::containers::security::host_caps(),
        };
        let oci = spec::build(&input)?;
        let text = serde_json::to_vec_pretty(&oci).map_err(|e| Error::Json {
            what: "OCI spec".into(),
            source: e,
        })?;
        let cfg = dir.join("config.json");
        fs_err::write(&cfg, text).map_err(|e| Error::io(cfg.clone(), e))?;
        let stored = Stored {
            // Without `secret_env`: the database must never hold a secret.
            opts: opts.clone(),
            image: image.clone(),
            path: run.argv.first().cloned().unwrap_or_default(),
            args: run
                .argv
                .get(1..)
                .map(<[String]>::to_vec)
                .unwrap_or_default(),
            mounts: Vec::new(),
            hostname: id[..12].to_owned(),
        };
        let json = serde_json::to_string(&stored).map_err(|e| Error::Json {
            what: "container config".into(),
            source: e,
        })?;
        self.store().update_container_config(id, &json)?;
        let code = self.run_foreground(id)?;
        if code != 0 {
            return Ok(BuildRunOutcome { code, layer: None });
        }
        if self.store().rootfs_is_copy(id)? {
            return Err(Error::Task(
                "RUN steps need overlayfs: this store copies root filesystems".into(),
            ));
        }
        let upper = dir.join("upper");
        // The runtime creates empty files as mount points for the bind-mounted
        // /etc/hosts and /etc/resolv.conf when the image lacks them; they are not the
        // step's output.
        for name in ["hosts", "resolv.conf"] {
            let p = upper.join("etc").join(name);
            if fs_err::symlink_metadata(&p).is_ok_and(|m| m.is_file() && m.len() == 0) {
                let _ = fs_err::remove_file(&p);
            }
        }
        // Likewise the mount points of the step's `--mount`s (secrets, agent sockets,
        // caches): a secret's path must not show up in the image, as with BuildKit.
        for (target, _, _) in &run.mounts {
            remove_mount_stub(&upper, target);
        }
        let tmp_dir = self.store().root().join("tmp");
        let mut tmp = tempfile::Builder::new()
            .prefix("build-layer-")
            .tempfile_in(&tmp_dir)
            .map_err(|e| Error::io(tmp_dir.clone(), e))?;
        berth_image::layer::diff::write_diff(&upper, std::io::BufWriter::new(&mut tmp), false)?;
        let f = fs_err::File::open(tmp.path()).map_err(|e| Error::io(tmp.path(), e))?;
        let layer = self.commit_layer_tar(
            std::io::BufReader::new(f),
            run.layers.last().map(String::as_str),
        )?;
        Ok(BuildRunOutcome {
            code,
            layer: Some(layer),
        })
    }
}

impl Engine {
    /// Downloads `url` (an `ADD` source) into a temporary file in the store.
    pub fn download_to_temp(&self, url: &str) -> Result<tempfile::NamedTempFile> {
        let tmp_dir = self.store().root().join("tmp");
        let mut file = tempfile::Builder::new()
            .prefix("build-add-")
            .tempfile_in(&tmp_dir)
            .map_err(|e| Error::io(tmp_dir.clone(), e))?;
        let fail = |reason: String| Error::Download {
            url: url.to_owned(),
            reason,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Task(format!("cannot start the I/O runtime: {e}")))?;
        let bytes = rt.block_on(async {
            let resp = reqwest::get(url).await.map_err(|e| fail(e.to_string()))?;
            if !resp.status().is_success() {
                return Err(fail(format!("server answered {}", resp.status())));
            }
            resp.bytes().await.map_err(|e| fail(e.to_string()))
        });
        // Wait for the resolver threads: RUN steps need a single-threaded process.
        rt.shutdown_timeout(std::time::Duration::from_secs(10));
        std::io::Write::write_all(&mut file, &bytes?).map_err(|e| Error::io(file.path(), e))?;
        Ok(file)
    }
}

/// Removes what the runtime created in `upper` to mount over `target`: an empty file
/// or directory at the target, then each parent left empty (deepest first). Stops at
/// anything else, a symlink included, so nothing the step wrote is lost.
fn remove_mount_stub(upper: &Path, target: &str) {
    let parts: Vec<&str> = target
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if parts.contains(&"..") || parts.is_empty() {
        return;
    }
    let mut paths = Vec::new();
    let mut p = upper.to_path_buf();
    for c in &parts {
        p.push(c);
        paths.push(p.clone());
    }
    // Every ancestor must be a real directory of the upper layer.
    for anc in &paths[..paths.len() - 1] {
        if !fs_err::symlink_metadata(anc).is_ok_and(|m| m.is_dir()) {
            return;
        }
    }
    for (i, path) in paths.iter().enumerate().rev() {
        let Ok(m) = fs_err::symlink_metadata(path) else {
            continue;
        };
        let opaque = matches!(xattr::get(path, "trusted.overlay.opaque"), Ok(Some(v)) if v == b"y");
        let removed = if m.is_dir() && !opaque {
            fs_err::remove_dir(path).is_ok()
        } else if i + 1 == paths.len() && m.is_file() && m.len() == 0 {
            fs_err::remove_file(path).is_ok()
        } else {
            false
        };
        if !removed {
            return;
        }
    }
}

/// `/etc/hosts` and `/etc/resolv.conf` for a build container, bind-mounted so the
/// step's layer never captures them (as Docker's builder does).
fn write_etc_files(dir: &Path, host_net: bool) -> Result<Vec<(String, std::path::PathBuf)>> {
    let hosts = if host_net {
        fs_err::read_to_string("/etc/hosts").unwrap_or_default()
    } else {
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n".to_owned()
    };
    let resolv = fs_err::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut out = Vec::new();
    for (name, text) in [("hosts", hosts), ("resolv.conf", resolv)] {
        let p = dir.join(name);
        fs_err::write(&p, text).map_err(|e| Error::io(p.clone(), e))?;
        out.push((format!("/etc/{name}"), p));
    }
    Ok(out)
}
