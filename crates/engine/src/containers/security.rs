//! Capabilities and the default seccomp profile (`seccomp_default.json`), adjusted by
//! `--cap-add`, `--cap-drop`, `--privileged` and `--security-opt`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::{Error, Result};

const CAPS: &str = include_str!("capabilities.txt");
const PROFILE: &str = include_str!("seccomp_default.json");

fn cap_lines() -> impl Iterator<Item = (bool, &'static str)> {
    CAPS.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.strip_prefix('*') {
            Some(c) => (true, c),
            None => (false, l),
        })
}

/// Every capability the kernel knows.
pub fn all_caps() -> Vec<String> {
    cap_lines().map(|(_, c)| c.to_owned()).collect()
}

/// Docker's default capability set.
pub fn default_caps() -> Vec<String> {
    cap_lines()
        .filter(|(d, _)| *d)
        .map(|(_, c)| c.to_owned())
        .collect()
}

fn normalize(flag: &'static str, c: &str) -> Result<String> {
    let up = c.trim().to_ascii_uppercase();
    if up == "ALL" {
        return Ok(up);
    }
    let full = if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    };
    if cap_lines().any(|(_, k)| k == full) {
        Ok(full)
    } else {
        Err(Error::Invalid {
            flag,
            value: c.to_owned(),
            hint: "not a capability name (see capabilities(7))".into(),
        })
    }
}

/// The capabilities in berth's own bounding set (`CapBnd` of `/proc/self/status`): a
/// container cannot get more (e.g. root without CAP_SYS_RESOURCE on some hosts).
pub fn host_caps() -> Vec<String> {
    let status = fs_err::read_to_string("/proc/self/status").unwrap_or_default();
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .unwrap_or(u64::MAX);
    cap_lines()
        .enumerate()
        .filter(|(bit, _)| mask & (1u64 << bit) != 0)
        .map(|(_, (_, c))| c.to_owned())
        .collect()
}

/// The process's capability set: the default (or all with `--privileged`), then
/// `--cap-drop`, then `--cap-add` (so `--cap-drop ALL --cap-add X` leaves only X).
/// "All" means all that `available` holds (berth's own bounding set).
pub fn capabilities(
    privileged: bool,
    add: &[String],
    drop: &[String],
    available: &[String],
) -> Result<Vec<String>> {
    let all_caps = || -> Vec<String> {
        all_caps()
            .into_iter()
            .filter(|c| available.contains(c))
            .collect()
    };
    let mut set = if privileged {
        all_caps()
    } else {
        default_caps()
    };
    for d in drop {
        match normalize("--cap-drop", d)?.as_str() {
            "ALL" => set.clear(),
            c => set.retain(|x| x != c),
        }
    }
    for a in add {
        match normalize("--cap-add", a)?.as_str() {
            "ALL" => set = all_caps(),
            c if !set.iter().any(|x| x == c) => set.push(c.to_owned()),
            _ => {}
        }
    }
    Ok(set)
}

#[derive(Deserialize)]
struct Profile {
    architectures: Vec<String>,
    allow: Vec<String>,
    socket_families_denied: Vec<u64>,
    personality_allowed: Vec<u64>,
    clone_namespace_mask: u64,
    cap_gated: BTreeMap<String, Vec<String>>,
}

/// berth's default seccomp profile as an OCI `linux.seccomp` object, for a process
/// holding `caps`: syscalls governed by a capability it holds are allowed too.
pub fn default_seccomp(caps: &[String]) -> Result<Value> {
    let p: Profile = serde_json::from_str(PROFILE).map_err(|e| Error::Json {
        what: "built-in seccomp profile".into(),
        source: e,
    })?;
    let has = |c: &str| caps.iter().any(|x| x == c);
    let mut allow = p.allow.clone();
    for (cap, calls) in &p.cap_gated {
        if has(cap) {
            allow.extend(calls.iter().cloned());
        }
    }
    allow.sort();
    allow.dedup();
    let mut rules = vec![json!({"names": allow, "action": "SCMP_ACT_ALLOW"})];
    if has("CAP_SYS_ADMIN") {
        rules.push(json!({"names": ["clone"], "action": "SCMP_ACT_ALLOW"}));
    } else {
        // Namespaces need CAP_SYS_ADMIN: clone creating one is refused (EPERM by
        // default); clone3 hides its flags in memory seccomp cannot read, so it answers
        // ENOSYS and libcs fall back to clone.
        rules.push(json!({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": p.clone_namespace_mask, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}));
        rules.push(
            json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::ENOSYS}),
        );
    }
    for v in &p.personality_allowed {
        rules.push(json!({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": v, "op": "SCMP_CMP_EQ"}]}));
    }
    for fam in &p.socket_families_denied {
        rules.push(json!({"names": ["socket"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": fam, "op": "SCMP_CMP_NE"}]}));
    }
    // Only the host's own architecture family: every extra one multiplies the time
    // libseccomp needs to compile the filter at each container start.
    let family: &[&str] = match std::env::consts::ARCH {
        "x86_64" => &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "aarch64" => &["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        _ => &[],
    };
    let arches: Vec<&String> = p
        .architectures
        .iter()
        .filter(|a| family.is_empty() || family.contains(&a.as_str()))
        .collect();
    Ok(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": libc::EPERM,
        "architectures": arches,
        "syscalls": rules,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_arithmetic() {
        let all = all_caps();
        let d = capabilities(false, &[], &[], &all).unwrap();
        assert_eq!(d.len(), 14);
        assert!(d.contains(&"CAP_NET_RAW".to_owned()));
        assert!(!d.contains(&"CAP_SYS_ADMIN".to_owned()));
        let only = capabilities(false, &["net_admin".into()], &["ALL".into()], &all).unwrap();
        assert_eq!(only, vec!["CAP_NET_ADMIN"]);
        let p = capabilities(true, &[], &[], &all).unwrap();
        assert_eq!(p.len(), all_caps().len());
        let fewer = capabilities(true, &[], &[], &d).unwrap();
        assert_eq!(fewer.len(), d.len());
        assert!(capabilities(false, &["CAP_BOGUS".into()], &[], &all).is_err());
        // Bit order of the data file is the kernel's: CAP_CHOWN is bit 0.
        assert_eq!(all[0], "CAP_CHOWN");
        assert_eq!(all[21], "CAP_SYS_ADMIN");
    }

    #[test]
    fn profile_denies_the_dangerous_and_gates_by_capability() {
        let s = default_seccomp(&default_caps()).unwrap();
        let allowed: Vec<&str> = s["syscalls"][0]["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for bad in [
            "keyctl",
            "add_key",
            "request_key",
            "ptrace",
            "mount",
            "umount2",
            "swapon",
            "swapoff",
            "reboot",
            "kexec_load",
            "init_module",
            "finit_module",
            "delete_module",
            "acct",
            "settimeofday",
            "clock_settime",
            "bpf",
            "perf_event_open",
            "unshare",
            "setns",
            "userfaultfd",
            "open_by_handle_at",
        ] {
            assert!(!allowed.contains(&bad), "{bad} allowed");
        }
        for good in [
            "read", "write", "execve", "openat", "chroot", "futex", "wait4",
        ] {
            assert!(allowed.contains(&good), "{good} denied");
        }
        let admin = default_seccomp(&["CAP_SYS_ADMIN".into()]).unwrap();
        let names = admin["syscalls"][0]["names"].as_array().unwrap();
        assert!(names.iter().any(|n| n == "mount"));
        // The profile must be a valid OCI seccomp object.
        let _: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(s).unwrap();
    }
}
