//! Persistent state of one container under the runtime's state root.
//!
//! `<root>/<id>/state.json` holds what `state`, `kill`, `exec` and `delete` need; the spec
//! the container was created from is kept beside it (`config.json`), so `delete` can run
//! poststop hooks and remove the cgroup after the bundle is gone. The exec fifo
//! (`exec.fifo`) exists from `create` until `start`: its presence is what "created" means.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The OCI status of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Being created: init exists but has not finished setting up.
    Creating,
    /// Created: init waits for `start`.
    Created,
    /// The user's process runs.
    Running,
    /// Frozen by `pause`.
    Paused,
    /// The process has exited.
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// What the runtime remembers about a container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    /// Container id.
    pub id: String,
    /// Pid of the container's init in the runtime's pid namespace (0 before it exists).
    pub pid: i32,
    /// Start time of that pid (field 22 of /proc/PID/stat), to detect pid reuse.
    pub pid_start: u64,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    /// Absolute rootfs path.
    pub rootfs: PathBuf,
    /// Creation time, RFC 3339.
    pub created: String,
    /// The cgroup path used for this container.
    pub cgroup_path: String,
    /// Annotations from the spec.
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// The uid that created the container.
    pub owner: u32,
    /// Whether init uses chroot instead of pivot_root.
    #[serde(default)]
    pub no_pivot: bool,
}

/// The state JSON printed by `state`, as the OCI runtime spec defines it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState {
    /// Spec version the state follows.
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// Current status.
    pub status: Status,
    /// Init pid; absent once stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Bundle path.
    pub bundle: PathBuf,
    /// Annotations.
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
    /// rootfs (runc prints it; tools read it).
    pub rootfs: PathBuf,
    /// Created timestamp.
    pub created: String,
    /// Owner's name or uid.
    pub owner: String,
}

/// Checks a container id the way runc does, so ids never become odd paths.
pub fn validate_id(id: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidId {
            id: id.to_string(),
            reason,
        })
    };
    if id.is_empty() {
        return bad("it is empty");
    }
    if id.len() > 1024 {
        return bad("it is too long");
    }
    if id == "." || id == ".." {
        return bad("it is a relative path component");
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.+".contains(c))
    {
        return bad("it contains characters other than letters, digits and _-.+");
    }
    Ok(())
}

/// Directory of one container's state.
#[derive(Debug, Clone)]
pub struct StateDir {
    /// `<root>/<id>`.
    pub dir: PathBuf,
}

impl StateDir {
    /// The state dir of `id` under `root` (does not create it).
    pub fn new(root: &Path, id: &str) -> Result<StateDir> {
        validate_id(id)?;
        Ok(StateDir { dir: root.join(id) })
    }
    /// `state.json`.
    pub fn state_file(&self) -> PathBuf {
        self.dir.join("state.json")
    }
    /// The spec copy.
    pub fn config_file(&self) -> PathBuf {
        self.dir.join("config.json")
    }
    /// The exec fifo that `start` opens.
    pub fn fifo(&self) -> PathBuf {
        self.dir.join("exec.fifo")
    }

    /// Saves state atomically (write to a temp file, then rename).
    pub fn save(&self, s: &Saved) -> Result<()> {
        write_atomic(
            &self.state_file(),
            &serde_json::to_vec(s).map_err(json_err)?,
        )
    }

    /// Saves the spec the container was made from.
    pub fn save_spec(&self, spec: &Spec) -> Result<()> {
        write_atomic(
            &self.config_file(),
            &serde_json::to_vec(spec).map_err(json_err)?,
        )
    }

    /// Loads the saved state.
    pub fn load(&self, id: &str) -> Result<Saved> {
        let path = self.state_file();
        let text = match fs_err::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound { id: id.to_string() });
            }
            Err(e) => return Err(Error::io("reading", path, e)),
        };
        serde_json::from_slice(&text).map_err(|e| Error::CorruptState {
            id: id.to_string(),
            path,
            message: e.to_string(),
        })
    }

    /// Loads the saved spec.
    pub fn load_spec(&self) -> Result<Spec> {
        let path = self.config_file();
        let text = fs_err::read(&path).map_err(|e| Error::io("reading", &path, e))?;
        crate::spec::parse_spec(&text, &path)
    }
}

fn json_err(e: serde_json::Error) -> Error {
    Error::Init(format!("encoding state: {e}"))
}

/// Writes a file by rename, so readers never see half of it.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs_err::write(&tmp, data).map_err(|e| Error::io("writing", &tmp, e))?;
    fs_err::rename(&tmp, path).map_err(|e| Error::io("renaming", path, e))
}

/// Start time of a process (clock ticks since boot), or None if it does not exist.
pub fn pid_start_time(pid: i32) -> Option<u64> {
    let stat = fs_err::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: parse after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

/// The one-letter process state from /proc/PID/stat (R, S, Z, T...).
pub fn pid_state(pid: i32) -> Option<char> {
    let stat = fs_err::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

/// Whether the saved init process is still the same live process.
pub fn init_alive(s: &Saved) -> bool {
    if s.pid <= 0 {
        return false;
    }
    match pid_start_time(s.pid) {
        Some(t) if t == s.pid_start => !matches!(pid_state(s.pid), Some('Z' | 'X') | None),
        _ => false,
    }
}

/// Now, as RFC 3339 with nanoseconds, in UTC.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_nanos(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert!(validate_id("abc-1.2_x+y").is_ok());
        assert!(validate_id("").is_err());
        assert!(validate_id("..").is_err());
        assert!(validate_id("a/b").is_err());
        assert!(validate_id("a b").is_err());
    }

    #[test]
    fn own_start_time_is_read() {
        let me = std::process::id() as i32;
        assert!(pid_start_time(me).is_some());
        assert!(matches!(pid_state(me), Some('R' | 'S')));
    }
}
