//! Containers: create, start (in the foreground or under a monitor), stop, kill,
//! remove, list, inspect, exec, logs.
//!
//! A container is a store row (id, name, image, state) plus a directory
//! `<data>/containers/<id>/` holding its rootfs (`merged`, an overlay on the image's
//! layers), its OCI `config.json`, its `/etc/hosts`, `/etc/hostname`,
//! `/etc/resolv.conf` and its json-file log. The row's config is a [`Stored`]: the
//! flags as given and what was derived from them, so `restart` and `inspect` need
//! nothing else.
//!
//! Whoever starts a container owns it until it exits: the foreground `berth run`
//! process, or a monitor (`berth __monitor ID`, see [`monitor`]) for detached ones.
//! The owner is the runtime's parent, records the exit in the store and cleans up.
//!
//! ```no_run
//! use berth_engine::{Engine, Paths};
//! use berth_engine::containers::RunOptions;
//! let engine = Engine::open(Paths::under("/tmp/berth-demo"))?;
//! let opts = RunOptions { cmd: vec!["true".into()], ..RunOptions::default() };
//! let c = engine.create_container("alpine", &opts)?;
//! let code = engine.run_foreground(&c.id)?;
//! # Ok::<(), berth_engine::Error>(())
//! ```

pub mod attach;
pub mod blkio;
pub(crate) mod bundle;
pub mod changes;
pub mod commit;
pub mod copy;
pub mod create;
mod etc_files;
pub mod events;
pub mod exec;
mod exec_tty;
pub mod health;
pub mod host_opts;
pub mod image_config;
pub mod init;
pub mod inspect;
pub mod kernel_opts;
pub mod lifecycle;
pub mod logs;
pub mod monitor;
pub mod mounts;
pub mod names;
mod namespaces;
pub mod options;
pub mod resources;
pub mod security;
pub mod spec;
pub mod stats;
pub mod units;
pub mod update;
pub mod user;
mod volume_copy;
mod volumes_from;
mod wait;

use serde::{Deserialize, Serialize};

pub use image_config::ImageConfig;
pub use options::{Healthcheck, RestartPolicy, RunOptions};

/// A mount as recorded for `inspect` (Docker's `Mounts` entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    /// `bind`, `volume` or `tmpfs`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Volume name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Host path.
    pub source: String,
    /// Path in the container.
    pub destination: String,
    /// Mount options shown to the user.
    pub mode: String,
    /// Writable.
    #[serde(rename = "RW")]
    pub rw: bool,
    /// Bind propagation.
    pub propagation: String,
    /// tmpfs options (not shown by Docker under Mounts; kept for the spec).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs_options: Vec<String>,
}

/// What the store keeps as a container's config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stored {
    /// The flags as given (with `-e KEY` resolved).
    pub opts: RunOptions,
    /// The image's config when the container was made.
    pub image: ImageConfig,
    /// argv[0].
    pub path: String,
    /// The rest of argv.
    pub args: Vec<String>,
    /// Mounts (volumes resolved to names, anonymous ones named).
    pub mounts: Vec<MountPoint>,
    /// Hostname.
    pub hostname: String,
}

impl Stored {
    /// Parses the config JSON of a store row.
    pub fn parse(id: &str, json: Option<&str>) -> crate::Result<Stored> {
        match json {
            Some(j) if !j.is_empty() => serde_json::from_str(j).map_err(|e| crate::Error::Json {
                what: format!("config of container {}", &id[..id.len().min(12)]),
                source: e,
            }),
            _ => Ok(Stored::default()),
        }
    }

    /// The restart policy (validated at create).
    pub fn restart_policy(&self) -> RestartPolicy {
        self.opts
            .restart
            .as_deref()
            .and_then(|r| RestartPolicy::parse(r).ok())
            .unwrap_or_default()
    }
}

/// Docker's 12-character short id.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}
