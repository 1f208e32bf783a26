//! Resolving a path inside a root directory without ever leaving it.
//!
//! Symlinks met on the way are followed as if the root were `/`: an absolute target
//! restarts at the root, and `..` never climbs above it. This is the scoped walk that
//! design.md asks for; the final operation then opens the result with
//! `openat2(RESOLVE_IN_ROOT)` where the kernel offers it, which closes the remaining race.
//! (CVE-2019-19921 and CVE-2021-30465 were both symlink races of mount destinations.)

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::Mode;

use crate::error::{Error, Result};

const MAX_SYMLINKS: usize = 255;

/// Joins `unsafe_path` to `root` so that the result stays inside `root`, following the
/// symlinks that exist now as if `root` were the filesystem root.
pub fn secure_join(root: &Path, unsafe_path: &Path) -> Result<PathBuf> {
    let mut resolved = PathBuf::new(); // relative to root, never containing `..`
    let mut pending: Vec<std::ffi::OsString> = components(unsafe_path);
    pending.reverse();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate = resolved.join(&part);
        let full = root.join(&candidate);
        match fs_err::symlink_metadata(&full) {
            Ok(md) if md.file_type().is_symlink() => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Error::PathEscape {
                        path: unsafe_path.display().to_string(),
                        root: root.to_path_buf(),
                    });
                }
                let target =
                    fs_err::read_link(&full).map_err(|e| Error::io("reading link", &full, e))?;
                if target.is_absolute() {
                    resolved = PathBuf::new();
                }
                let mut t = components(&target);
                t.reverse();
                pending.extend(t);
            }
            _ => resolved = candidate,
        }
    }
    Ok(root.join(resolved))
}

fn components(p: &Path) -> Vec<std::ffi::OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

/// Opens `path` (already inside `root`) with `O_PATH`, letting the kernel check that
/// resolution stays in `root`. Falls back to a plain open on kernels without openat2.
pub fn open_in_root(root_fd: impl AsFd, root: &Path, path: &Path) -> Result<OwnedFd> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    match openat2(root_fd, rel, how) {
        Ok(fd) => Ok(fd),
        Err(nix::Error::ENOSYS) => {
            nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(|e| Error::sys(format!("opening {}", path.display()), e))
        }
        Err(e) => Err(Error::sys(
            format!("opening {} inside {}", rel.display(), root.display()),
            e,
        )),
    }
}

/// `/proc/self/fd/N` for a descriptor: lets mount(2) act on exactly the opened inode.
pub fn proc_fd_path(fd: &impl std::os::fd::AsRawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn absolute_symlink_stays_inside() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        fs_err::create_dir_all(root.join("bin")).unwrap();
        symlink("/etc", root.join("bin/evil")).unwrap();
        let p = secure_join(root, Path::new("/bin/evil/passwd")).unwrap();
        assert_eq!(p, root.join("etc/passwd"));
    }

    #[test]
    fn dotdot_cannot_climb_out() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let p = secure_join(root, Path::new("../../../etc/shadow")).unwrap();
        assert_eq!(p, root.join("etc/shadow"));
        symlink("../../..", root.join("up")).unwrap();
        let p = secure_join(root, Path::new("/up/etc")).unwrap();
        assert_eq!(p, root.join("etc"));
    }

    #[test]
    fn symlink_loop_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        symlink("b", d.path().join("a")).unwrap();
        symlink("a", d.path().join("b")).unwrap();
        assert!(secure_join(d.path(), Path::new("a/x")).is_err());
    }
}
