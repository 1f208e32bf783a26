//! Loading and validating an OCI bundle's `config.json`.
//!
//! Everything that can be checked before touching the kernel is checked here, so a bad
//! config is refused before anything is created, with the offending field named.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Error, Result};

/// A loaded bundle: its directory, the parsed spec and the absolute rootfs path.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Absolute bundle directory.
    pub dir: PathBuf,
    /// The parsed, validated spec.
    pub spec: Spec,
    /// Absolute, canonical path of the root filesystem.
    pub rootfs: PathBuf,
}

impl Bundle {
    /// Reads `DIR/config.json` and validates it.
    pub fn load(dir: &Path) -> Result<Bundle> {
        let dir = fs_err::canonicalize(dir).map_err(|e| Error::io("opening bundle", dir, e))?;
        let path = dir.join("config.json");
        let text = fs_err::read(&path).map_err(|e| Error::ReadConfig {
            path: path.clone(),
            source: e,
        })?;
        let spec = parse_spec(&text, &path)?;
        Bundle::from_spec(dir, spec)
    }

    /// Validates an in-memory spec whose relative paths are taken against `dir`.
    pub fn from_spec(dir: PathBuf, spec: Spec) -> Result<Bundle> {
        validate(&spec)?;
        let root = spec.root().as_ref().ok_or_else(|| Error::Unsupported {
            field: "root".into(),
            message: "missing; a container needs a root filesystem".into(),
        })?;
        let rootfs = if root.path().is_absolute() {
            root.path().clone()
        } else {
            dir.join(root.path())
        };
        let rootfs = fs_err::canonicalize(&rootfs).map_err(|e| Error::Unsupported {
            field: "root.path".into(),
            message: format!("{}: {e}", rootfs.display()),
        })?;
        if !rootfs.is_dir() {
            return Err(Error::Unsupported {
                field: "root.path".into(),
                message: format!("{} is not a directory", rootfs.display()),
            });
        }
        Ok(Bundle { dir, spec, rootfs })
    }
}

/// Parses config.json text, naming the exact field on error.
pub fn parse_spec(text: &[u8], path: &Path) -> Result<Spec> {
    let de = &mut serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        Error::InvalidConfig {
            path: path.to_path_buf(),
            field: if field == "." {
                "(document)".into()
            } else {
                field
            },
            message: e.into_inner().to_string(),
        }
    })
}

fn unsupported(field: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Unsupported {
        field: field.into(),
        message: message.into(),
    }
}

/// Whether the spec creates (or joins) a namespace of this type.
pub fn has_namespace(spec: &Spec, typ: LinuxNamespaceType) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == typ))
}

/// Checks everything about a spec that does not need the kernel.
pub fn validate(spec: &Spec) -> Result<()> {
    let version = spec.version();
    if !version.starts_with("1.") {
        return Err(unsupported(
            "ociVersion",
            format!("{version:?} is not supported; berth implements runtime spec 1.x"),
        ));
    }
    let process = spec.process().as_ref();
    if let Some(p) = process {
        if p.args().as_ref().is_none_or(|a| a.is_empty()) {
            return Err(unsupported("process.args", "must name a program to run"));
        }
        if !p.cwd().is_absolute() {
            return Err(unsupported(
                "process.cwd",
                format!("{:?} must be an absolute path", p.cwd()),
            ));
        }
        if let Some(rl) = p.rlimits() {
            let mut seen = HashSet::new();
            for r in rl {
                if !seen.insert(format!("{:?}", r.typ())) {
                    return Err(unsupported(
                        "process.rlimits",
                        format!("{:?} is given twice", r.typ()),
                    ));
                }
                if r.soft() > r.hard() {
                    return Err(unsupported(
                        "process.rlimits",
                        format!(
                            "{:?}: soft limit {} is above hard limit {}",
                            r.typ(),
                            r.soft(),
                            r.hard()
                        ),
                    ));
                }
            }
        }
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if !m.destination().is_absolute() {
            return Err(unsupported(
                format!("mounts[{i}].destination"),
                format!("{:?} must be an absolute path", m.destination()),
            ));
        }
    }
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let mut seen = HashSet::new();
    for ns in linux.namespaces().iter().flatten() {
        if !seen.insert(ns.typ()) {
            return Err(unsupported(
                "linux.namespaces",
                format!("namespace {:?} is listed twice", ns.typ()),
            ));
        }
        if let Some(p) = ns.path()
            && !p.is_absolute()
        {
            return Err(unsupported(
                "linux.namespaces",
                format!(
                    "path {p:?} of the {:?} namespace must be absolute",
                    ns.typ()
                ),
            ));
        }
    }
    let new_userns = linux
        .namespaces()
        .iter()
        .flatten()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    let has_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if new_userns && !has_maps {
        return Err(unsupported(
            "linux.uidMappings",
            "a new user namespace needs uidMappings and gidMappings",
        ));
    }
    if has_maps && !seen.contains(&LinuxNamespaceType::User) {
        return Err(unsupported(
            "linux.uidMappings",
            "mappings are given but there is no user namespace in linux.namespaces",
        ));
    }
    if (spec.hostname().as_ref().is_some_and(|h| !h.is_empty())
        || spec.domainname().as_ref().is_some_and(|h| !h.is_empty()))
        && !seen.contains(&LinuxNamespaceType::Uts)
    {
        return Err(unsupported(
            "hostname",
            "setting the hostname needs a uts namespace in linux.namespaces",
        ));
    }
    for key in linux.sysctl().iter().flat_map(|m| m.keys()) {
        validate_sysctl(key, &seen)?;
    }
    if let Some(p) = linux.rootfs_propagation()
        && crate::rootfs::propagation_flags(p).is_none()
    {
        return Err(unsupported(
            "linux.rootfsPropagation",
            format!(
                "{p:?} is not one of shared, slave, private, unbindable (optionally with r prefix)"
            ),
        ));
    }
    for (i, d) in linux.devices().iter().flatten().enumerate() {
        if !d.path().is_absolute() {
            return Err(unsupported(
                format!("linux.devices[{i}].path"),
                format!("{:?} must be an absolute path", d.path()),
            ));
        }
    }
    Ok(())
}

/// The namespace that scopes sysctl `key`: IPC (`kernel.msg*`, `kernel.sem`,
/// `kernel.shm*`, `fs.mqueue.*`), network (`net.*`) or UTS (`kernel.hostname`,
/// `kernel.domainname`); `None` for a sysctl of the whole host.
pub fn sysctl_namespace(key: &str) -> Option<LinuxNamespaceType> {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(LinuxNamespaceType::Ipc)
    } else if key.starts_with("net.") {
        Some(LinuxNamespaceType::Network)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(LinuxNamespaceType::Uts)
    } else {
        None
    }
}

/// Namespaced sysctls may only be set when the container has the namespace
/// that scopes them; anything else would change the host.
fn validate_sysctl(key: &str, ns: &HashSet<LinuxNamespaceType>) -> Result<()> {
    let Some(needs) = sysctl_namespace(key) else {
        return Err(unsupported(
            "linux.sysctl",
            format!("{key:?} is not namespaced; setting it would change the host"),
        ));
    };
    if ns.contains(&needs) {
        Ok(())
    } else {
        Err(unsupported(
            "linux.sysctl",
            format!("{key:?} needs a {needs:?} namespace in linux.namespaces"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Result<Spec> {
        let s = parse_spec(json.as_bytes(), Path::new("config.json"))?;
        validate(&s)?;
        Ok(s)
    }

    const BASE: &str = r#"{"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"},"root":{"path":"rootfs"}"#;

    #[test]
    fn minimal_spec_is_accepted() {
        spec(&format!("{BASE}}}")).unwrap();
    }

    #[test]
    fn wrong_type_names_the_field() {
        let err = spec(
            r#"{"ociVersion":"1.0.2","process":{"user":{"uid":"zero","gid":0},"args":["sh"],"cwd":"/"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("process.user.uid"), "{err}");
    }

    #[test]
    fn version_two_is_refused() {
        let err = spec(r#"{"ociVersion":"2.0.0"}"#).unwrap_err().to_string();
        assert!(err.contains("ociVersion"), "{err}");
    }

    #[test]
    fn relative_cwd_is_refused() {
        let err = spec(
            r#"{"ociVersion":"1.0.0","process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"tmp"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("process.cwd"), "{err}");
    }

    #[test]
    fn hostname_without_uts_namespace_is_refused() {
        let err = spec(&format!(r#"{BASE},"hostname":"box","linux":{{}}}}"#))
            .unwrap_err()
            .to_string();
        assert!(err.contains("uts namespace"), "{err}");
    }

    #[test]
    fn host_sysctl_is_refused_and_namespaced_one_accepted() {
        let bad = format!(
            r#"{BASE},"linux":{{"namespaces":[{{"type":"network"}}],"sysctl":{{"vm.swappiness":"10"}}}}}}"#
        );
        assert!(
            spec(&bad)
                .unwrap_err()
                .to_string()
                .contains("not namespaced")
        );
        let good = format!(
            r#"{BASE},"linux":{{"namespaces":[{{"type":"network"}}],"sysctl":{{"net.ipv4.ip_forward":"1"}}}}}}"#
        );
        spec(&good).unwrap();
    }

    #[test]
    fn user_namespace_without_mappings_is_refused() {
        let bad = format!(r#"{BASE},"linux":{{"namespaces":[{{"type":"user"}}]}}}}"#);
        assert!(spec(&bad).unwrap_err().to_string().contains("uidMappings"));
    }

    #[test]
    fn duplicate_namespace_is_refused() {
        let bad =
            format!(r#"{BASE},"linux":{{"namespaces":[{{"type":"pid"}},{{"type":"pid"}}]}}}}"#);
        assert!(spec(&bad).unwrap_err().to_string().contains("twice"));
    }
}
