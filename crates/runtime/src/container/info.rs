//! Read-only verbs: `state`, `list`, `ps`, `events --stats`, `features`.

use serde::Serialize;

use super::{Container, Runtime};
use crate::error::{Error, Result};
use crate::state::{OciState, validate_id};

/// The OCI state of container `id`.
pub fn state(rt: &Runtime, id: &str) -> Result<OciState> {
    Ok(rt.load(id)?.oci_state())
}

/// Every container under the state root, sorted by id.
pub fn list(rt: &Runtime) -> Result<Vec<Container>> {
    let mut out = Vec::new();
    let entries = match fs_err::read_dir(&rt.root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io("listing", &rt.root, e)),
    };
    for e in entries.flatten() {
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if validate_id(&name).is_err() {
            continue;
        }
        match rt.load(&name) {
            Ok(c) => out.push(c),
            Err(Error::NotFound { .. }) => {} // being created or deleted right now
            Err(e) => return Err(e),
        }
    }
    out.sort_by(|a, b| a.saved.id.cmp(&b.saved.id));
    Ok(out)
}

/// Pids of every process in container `id`.
pub fn ps(rt: &Runtime, id: &str) -> Result<Vec<i32>> {
    let c = rt.load(id)?;
    Ok(c.cgroup()?.pids()?)
}

/// One `events --stats` record, in runc's shape.
#[derive(Debug, Serialize)]
pub struct StatsEvent {
    /// Always "stats".
    #[serde(rename = "type")]
    pub typ: &'static str,
    /// Container id.
    pub id: String,
    /// The numbers.
    pub data: berth_cgroups::Stats,
}

/// Resource usage of container `id`.
pub fn stats(rt: &Runtime, id: &str) -> Result<StatsEvent> {
    let c = rt.load(id)?;
    if c.status() == crate::state::Status::Stopped {
        return Err(c.bad_state("read its stats", ""));
    }
    Ok(StatsEvent {
        typ: "stats",
        id: id.to_string(),
        data: c.cgroup()?.stats()?,
    })
}

/// How many times the OOM killer acted in container `id`'s cgroup.
pub fn oom_count(rt: &Runtime, id: &str) -> Result<u64> {
    Ok(rt.load(id)?.cgroup()?.oom_kill_count()?)
}

/// What this runtime supports, in the OCI features document's shape.
pub fn features() -> serde_json::Value {
    let caps: Vec<String> = caps::all()
        .into_iter()
        .map(|c| c.to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.0",
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": ["async","atime","bind","defaults","dev","diratime","dirsync","exec","mand","noatime","nodev","nodiratime","noexec","nomand","norelatime","nostrictatime","nosuid","private","rbind","relatime","remount","ro","rprivate","rro","rshared","rslave","runbindable","rw","shared","slave","strictatime","suid","sync","unbindable"],
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": caps,
            "cgroup": {
                "v1": berth_cgroups::detect().map(|m| !matches!(m, berth_cgroups::Mode::V2)).unwrap_or(false),
                "v2": true,
                "systemd": false,
                "systemdUser": false,
            },
            "seccomp": {
                "enabled": true,
                "actions": ["SCMP_ACT_ALLOW","SCMP_ACT_ERRNO","SCMP_ACT_KILL","SCMP_ACT_KILL_PROCESS","SCMP_ACT_KILL_THREAD","SCMP_ACT_LOG","SCMP_ACT_TRACE","SCMP_ACT_TRAP"],
                "operators": ["SCMP_CMP_EQ","SCMP_CMP_GE","SCMP_CMP_GT","SCMP_CMP_LE","SCMP_CMP_LT","SCMP_CMP_MASKED_EQ","SCMP_CMP_NE"],
                "archs": ["SCMP_ARCH_X86","SCMP_ARCH_X86_64","SCMP_ARCH_X32","SCMP_ARCH_AARCH64","SCMP_ARCH_ARM"],
                "knownFlags": ["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                "supportedFlags": ["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            },
            "apparmor": { "enabled": crate::lsm::apparmor_enabled() },
            "selinux": { "enabled": crate::lsm::selinux_enabled() },
        },
        "annotations": { "io.github.berth.runtime": "berth" }
    })
}
