//! Docker's copy-up: a volume that is empty when first mounted gets the image's
//! content at the mount point.

use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::{Error, Result};

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source: e,
    }
}

/// Copies `target` of `rootfs` (resolved inside the rootfs, so an image's symlink cannot
/// point the copy at a host directory) into `volume` when `volume` is empty.
pub fn copy_up(rootfs: &Path, target: &str, volume: &Path) -> Result<()> {
    use rustix::fs::{Mode, OFlags, ResolveFlags, openat2};
    let empty = fs_err::read_dir(volume)
        .map_err(|e| io(volume, e))?
        .next()
        .is_none();
    if !empty {
        return Ok(());
    }
    let root = fs_err::File::open(rootfs).map_err(|e| io(rootfs, e))?;
    let fd = match openat2(
        &root,
        target,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        // Nothing (or not a directory) at the mount point: nothing to copy.
        Err(_) => return Ok(()),
    };
    let src = std::path::PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    copy_tree(&src, volume)?;
    // The volume's root takes the mode and owner of the image's directory.
    let meta = fs_err::metadata(&src).map_err(|e| io(&src, e))?;
    let _ = std::os::unix::fs::lchown(volume, Some(meta.uid()), Some(meta.gid()));
    fs_err::set_permissions(
        volume,
        std::fs::Permissions::from_mode(meta.mode() & 0o7777),
    )
    .map_err(|e| io(volume, e))?;
    drop(fd);
    Ok(())
}

fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    for entry in fs_err::read_dir(src).map_err(|e| io(src, e))? {
        let entry = entry.map_err(|e| io(src, e))?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let meta = fs_err::symlink_metadata(&from).map_err(|e| io(&from, e))?;
        let ft = meta.file_type();
        if ft.is_dir() {
            fs_err::create_dir(&to).map_err(|e| io(&to, e))?;
            copy_tree(&from, &to)?;
        } else if ft.is_symlink() {
            let link = fs_err::read_link(&from).map_err(|e| io(&from, e))?;
            std::os::unix::fs::symlink(&link, &to).map_err(|e| io(&to, e))?;
        } else if ft.is_file() {
            fs_err::copy(&from, &to).map_err(|e| io(&to, e))?;
        } else {
            // Devices, fifos and sockets are not copied into volumes.
            continue;
        }
        let _ = std::os::unix::fs::lchown(&to, Some(meta.uid()), Some(meta.gid()));
        if !ft.is_symlink() {
            fs_err::set_permissions(&to, std::fs::Permissions::from_mode(meta.mode() & 0o7777))
                .map_err(|e| io(&to, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_into_an_empty_volume_only() {
        let root = tempfile::tempdir().unwrap();
        let vol = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(root.path().join("data/sub")).unwrap();
        fs_err::write(root.path().join("data/sub/f"), "x").unwrap();
        std::os::unix::fs::symlink("sub/f", root.path().join("data/l")).unwrap();
        copy_up(root.path(), "/data", vol.path()).unwrap();
        assert_eq!(
            fs_err::read_to_string(vol.path().join("sub/f")).unwrap(),
            "x"
        );
        assert_eq!(
            fs_err::read_link(vol.path().join("l")).unwrap(),
            Path::new("sub/f")
        );
        fs_err::write(root.path().join("data/new"), "y").unwrap();
        copy_up(root.path(), "/data", vol.path()).unwrap();
        assert!(!vol.path().join("new").exists());
    }

    #[test]
    fn escaping_symlink_is_resolved_inside_the_root() {
        let root = tempfile::tempdir().unwrap();
        let vol = tempfile::tempdir().unwrap();
        // /data -> /etc would be the host's /etc if followed naively.
        std::os::unix::fs::symlink("/etc", root.path().join("data")).unwrap();
        copy_up(root.path(), "/data", vol.path()).unwrap();
        assert!(fs_err::read_dir(vol.path()).unwrap().next().is_none());
    }
}
