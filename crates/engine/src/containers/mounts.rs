//! `-v`, `--mount` and `--tmpfs` as Docker reads them.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What a mount is made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "Type", rename_all = "lowercase")]
pub enum Source {
    /// A host path.
    Bind {
        /// Host path (absolute).
        path: String,
        /// `-v` creates a missing host directory; `--mount` refuses it.
        create: bool,
    },
    /// A named volume, or an anonymous one (`None`) made at create.
    Volume {
        /// Volume name.
        name: Option<String>,
    },
    /// A tmpfs.
    Tmpfs {
        /// Mount options (`size=64m`, `mode=1777`).
        options: Vec<String>,
    },
}

/// A mount request from the command line or the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountRequest {
    /// Source.
    pub source: Source,
    /// Path inside the container.
    pub target: String,
    /// Read-only.
    pub readonly: bool,
    /// Bind propagation (`rprivate` default).
    pub propagation: Option<String>,
}

fn bad(flag: &'static str, value: &str, hint: &str) -> Error {
    Error::Invalid {
        flag,
        value: value.to_owned(),
        hint: hint.to_owned(),
    }
}

fn check_target(flag: &'static str, value: &str, t: &str) -> Result<()> {
    if !t.starts_with('/') {
        return Err(bad(flag, value, "the container path must be absolute"));
    }
    if t == "/" {
        return Err(bad(flag, value, "cannot mount over the container's root"));
    }
    Ok(())
}

/// Parses `-v [SRC:]DST[:OPTS]`: `SRC` absolute is a bind mount, otherwise a volume
/// name; no `SRC` makes an anonymous volume.
pub fn parse_volume_flag(v: &str) -> Result<MountRequest> {
    let parts: Vec<&str> = v.split(':').collect();
    let (src, dst, opts) = match parts.as_slice() {
        [d] => (None, *d, ""),
        [s, d] => (Some(*s), *d, ""),
        [s, d, o] => (Some(*s), *d, *o),
        _ => return Err(bad("-v", v, "use [SOURCE:]TARGET[:ro|rw|z|Z]")),
    };
    check_target("-v", v, dst)?;
    let mut readonly = false;
    let mut propagation = None;
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => readonly = true,
            "rw" => readonly = false,
            // SELinux relabel: nothing to do on hosts without SELinux.
            "z" | "Z" => {}
            "nocopy" => {}
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                propagation = Some(o.to_owned());
            }
            _ => return Err(bad("-v", v, &format!("unknown option {o:?}"))),
        }
    }
    let source = match src {
        None => Source::Volume { name: None },
        Some(s) if s.starts_with('/') => Source::Bind {
            path: s.to_owned(),
            create: true,
        },
        Some("") => return Err(bad("-v", v, "empty source")),
        Some(s) => Source::Volume {
            name: Some(s.to_owned()),
        },
    };
    Ok(MountRequest {
        source,
        target: dst.to_owned(),
        readonly,
        propagation,
    })
}

/// Parses `--mount type=bind|volume|tmpfs,src=…,dst=…,readonly,…`.
pub fn parse_mount_flag(v: &str) -> Result<MountRequest> {
    let mut kind = "volume";
    let mut src = None;
    let mut dst = None;
    let mut readonly = false;
    let mut propagation = None;
    let mut tmpfs = Vec::new();
    for field in v.split(',') {
        let (k, val) = match field.split_once('=') {
            Some((k, val)) => (k, Some(val)),
            None => (field, None),
        };
        match (k, val) {
            ("type", Some(t)) => kind = t,
            ("source" | "src", Some(s)) => src = Some(s.to_owned()),
            ("destination" | "dst" | "target", Some(d)) => dst = Some(d.to_owned()),
            ("readonly" | "ro", None | Some("true" | "1")) => readonly = true,
            ("readonly" | "ro", Some("false" | "0")) => readonly = false,
            ("bind-propagation", Some(p)) => propagation = Some(p.to_owned()),
            ("tmpfs-size", Some(s)) => tmpfs.push(format!(
                "size={}",
                super::units::parse_bytes("--mount tmpfs-size", s)?
            )),
            ("tmpfs-mode", Some(m)) => {
                u32::from_str_radix(m, 8).map_err(|_| bad("--mount", v, "tmpfs-mode is octal"))?;
                tmpfs.push(format!("mode={m}"));
            }
            ("volume-nocopy" | "consistency" | "bind-nonrecursive", _) => {}
            _ => return Err(bad("--mount", v, &format!("unknown field {field:?}"))),
        }
    }
    let dst = dst.ok_or_else(|| bad("--mount", v, "target= is required"))?;
    check_target("--mount", v, &dst)?;
    let source = match kind {
        "bind" => {
            let path = src.ok_or_else(|| bad("--mount", v, "a bind mount needs source="))?;
            if !path.starts_with('/') {
                return Err(bad("--mount", v, "a bind source must be an absolute path"));
            }
            Source::Bind {
                path,
                create: false,
            }
        }
        "volume" => Source::Volume { name: src },
        "tmpfs" => {
            if src.is_some() {
                return Err(bad("--mount", v, "a tmpfs has no source"));
            }
            Source::Tmpfs { options: tmpfs }
        }
        other => {
            return Err(bad(
                "--mount",
                v,
                &format!("type {other:?} is not bind, volume or tmpfs"),
            ));
        }
    };
    Ok(MountRequest {
        source,
        target: dst,
        readonly,
        propagation,
    })
}

/// Parses `--tmpfs /path[:opts]`.
pub fn parse_tmpfs_flag(v: &str) -> Result<MountRequest> {
    let (dst, opts) = v.split_once(':').unwrap_or((v, ""));
    check_target("--tmpfs", v, dst)?;
    let mut options: Vec<String> = opts
        .split(',')
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect();
    let readonly = options.iter().any(|o| o == "ro");
    options.retain(|o| o != "ro" && o != "rw");
    Ok(MountRequest {
        source: Source::Tmpfs { options },
        target: dst.to_owned(),
        readonly,
        propagation: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_flags() {
        let m = parse_volume_flag("data:/data:ro").unwrap();
        assert_eq!(
            m.source,
            Source::Volume {
                name: Some("data".into())
            }
        );
        assert!(m.readonly);
        let m = parse_volume_flag("/srv:/srv").unwrap();
        assert!(matches!(m.source, Source::Bind { create: true, .. }));
        let m = parse_volume_flag("/anon").unwrap();
        assert_eq!(m.source, Source::Volume { name: None });
        assert!(parse_volume_flag("data:rel").is_err());
        assert!(parse_volume_flag("a:/b:bogus").is_err());
    }

    #[test]
    fn mount_flags() {
        let m = parse_mount_flag("type=bind,src=/h,dst=/c,readonly").unwrap();
        assert!(matches!(m.source, Source::Bind { create: false, .. }));
        assert!(m.readonly);
        let m = parse_mount_flag("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770").unwrap();
        assert_eq!(
            m.source,
            Source::Tmpfs {
                options: vec!["size=1048576".into(), "mode=1770".into()]
            }
        );
        assert!(parse_mount_flag("type=bind,dst=/c").is_err());
        assert!(parse_mount_flag("type=nfs,dst=/c").is_err());
        assert!(parse_mount_flag("src=x").is_err());
        let t = parse_tmpfs_flag("/run:size=1m,ro").unwrap();
        assert!(t.readonly);
    }
}
