//! Container operations behind runc's command line: one file per verb.

mod create;
mod delete;
mod exec;
mod info;
mod kill;
mod pause;
mod run;
mod start;
mod wait;

pub use create::{CreateOptions, OnInit, create, create_with};
pub use delete::delete;
pub use exec::{ExecOptions, exec};
pub use info::{features, list, oom_count, ps, state, stats};
pub use kill::{kill, parse_signal};
pub use pause::{pause, resume, update};
pub use run::{
    InputFilter, Supervised, block_relayed_signals, exec_foreground, exec_foreground_with,
    forwarded as forwarded_signals, run, supervise, supervise_with,
};
pub use start::{Started, start};
pub use wait::{exit_code_of, wait_for};

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::state::{OciState, Saved, StateDir, Status, init_alive};

/// berth's OCI runtime, rooted at a state directory (runc's `--root`).
#[derive(Debug, Clone)]
pub struct Runtime {
    /// State root: one directory per container.
    pub root: PathBuf,
}

/// A container as loaded from the state root.
#[derive(Debug, Clone)]
pub struct Container {
    /// Saved state.
    pub saved: Saved,
    /// Its state dir.
    pub dir: StateDir,
}

impl Runtime {
    /// A runtime keeping its state under `root` (created on first use).
    pub fn new(root: impl Into<PathBuf>) -> Runtime {
        Runtime { root: root.into() }
    }

    /// Loads a container by id.
    pub fn load(&self, id: &str) -> Result<Container> {
        let dir = StateDir::new(&self.root, id)?;
        let saved = dir.load(id)?;
        Ok(Container { saved, dir })
    }

    /// Ensures the state root exists (mode 0700: it names processes to signal).
    pub fn ensure_root(&self) -> Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        if self.root.is_dir() {
            return Ok(());
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(|e| Error::io("creating state root", &self.root, e))
    }
}

impl Container {
    /// Current status, from the process and the fifo and the freezer.
    pub fn status(&self) -> Status {
        if self.saved.pid <= 0 {
            return Status::Creating;
        }
        if !init_alive(&self.saved) {
            return Status::Stopped;
        }
        if self.dir.fifo().exists() {
            return Status::Created;
        }
        if let Ok(cg) = berth_cgroups::Cgroup::new(&self.saved.cgroup_path)
            && cg.is_frozen().unwrap_or(false)
        {
            return Status::Paused;
        }
        Status::Running
    }

    /// The OCI state document.
    pub fn oci_state(&self) -> OciState {
        let status = self.status();
        oci_state_of(&self.saved, status)
    }

    /// The cgroup of this container.
    pub fn cgroup(&self) -> Result<berth_cgroups::Cgroup> {
        Ok(berth_cgroups::Cgroup::new(&self.saved.cgroup_path)?)
    }

    /// Error for an operation the status does not allow.
    pub fn bad_state(&self, op: &'static str, hint: &'static str) -> Error {
        Error::BadState {
            id: self.saved.id.clone(),
            status: self.status().to_string(),
            op,
            hint,
        }
    }
}

/// Builds the OCI state document from saved state.
pub fn oci_state_of(s: &Saved, status: Status) -> OciState {
    OciState {
        oci_version: "1.2.0".into(),
        id: s.id.clone(),
        status,
        pid: (status != Status::Stopped && s.pid > 0).then_some(s.pid),
        bundle: s.bundle.clone(),
        annotations: s.annotations.clone(),
        rootfs: s.rootfs.clone(),
        created: s.created.clone(),
        owner: String::new(),
    }
}

/// Default cgroup path for a container without `linux.cgroupsPath`.
pub fn default_cgroup_path(id: &str) -> String {
    format!("/berth/{id}")
}

/// Path of the pid file, made absolute against the current directory.
pub fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}
