//! Turning an OCI `linux.cgroupsPath` into a path that stays inside every hierarchy root.

use std::path::{Component, Path, PathBuf};

use crate::Error;

/// Validates `path` and returns it relative to a hierarchy root.
///
/// Absolute and relative paths both land under the root (as runc's cgroupfs driver does).
/// `..` is refused outright rather than resolved: a spec must never be able to name a cgroup
/// outside the hierarchy, and resolving would hide a mistake.
pub(crate) fn relative(path: &str) -> Result<PathBuf, Error> {
    let bad = |reason: &str| Error::InvalidPath {
        path: path.to_string(),
        reason: reason.to_string(),
    };
    if path.contains('\0') {
        return Err(bad("it contains a NUL byte"));
    }
    let parts: Vec<&str> = path.split(':').collect();
    if parts.len() == 3 && parts[0].ends_with(".slice") {
        return Err(bad(
            "it is a systemd path (slice:prefix:name)\nhint: berth manages cgroups through cgroupfs; give a path such as /berth/<id>",
        ));
    }
    let mut out = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                return Err(bad(
                    "'..' components are not allowed (the cgroup must stay inside the hierarchy)",
                ));
            }
            Component::Prefix(_) => return Err(bad("unexpected path prefix")),
        }
    }
    if out.as_os_str().is_empty() {
        return Err(bad(
            "it names the hierarchy root\nhint: give a path such as /berth/<id>",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_and_relative_land_under_the_root() {
        assert_eq!(relative("/berth/abc").unwrap(), Path::new("berth/abc"));
        assert_eq!(relative("berth/abc").unwrap(), Path::new("berth/abc"));
        assert_eq!(relative("//berth/./abc/").unwrap(), Path::new("berth/abc"));
    }

    #[test]
    fn escapes_are_refused() {
        for p in ["../etc", "/berth/../../x", "a/..", "/", "", ".", "a\0b"] {
            let err = relative(p).unwrap_err();
            assert!(
                err.to_string().contains("invalid cgroupsPath"),
                "{p}: {err}"
            );
        }
        assert!(
            relative("/a/../b")
                .unwrap_err()
                .to_string()
                .contains("'..'")
        );
    }

    #[test]
    fn systemd_paths_get_a_hint() {
        let err = relative("system.slice:berth:abc").unwrap_err().to_string();
        assert!(err.contains("hint:"), "{err}");
        // A plain name with colons is still a valid cgroupfs name.
        assert!(relative("/berth/a:b").is_ok());
    }
}
