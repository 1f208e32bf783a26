//! The copying fallback: applies an overlay-format layer onto a directory
//! with `cp -a` semantics (modes, owners, times, xattrs, hardlinks, symlinks,
//! device nodes), turning overlay whiteouts into deletions and opaque
//! directories into "replace what lies below".
//!
//! Sources are our own snapshots. The destination is never walked through
//! a symlink: every path component is created by us in this walk (a
//! non-directory in the way of a directory is replaced), and files are made
//! with `O_EXCL` after the old entry was removed.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

use nix::sys::stat::{Mode, SFlag, UtimensatFlags, mknod, utimensat};
use nix::sys::time::TimeSpec;

use crate::error::{Error, Result};
use crate::tmp::remove_any;

/// Overlay marks a directory as opaque with this xattr.
pub(crate) const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// An overlay whiteout: a character device 0/0.
pub(crate) fn is_whiteout(meta: &std::fs::Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// Whether a directory carries overlay's opaque marker.
pub(crate) fn is_opaque(path: &Path) -> bool {
    matches!(xattr::get(path, OPAQUE_XATTR), Ok(Some(v)) if v == b"y")
}

struct Copier {
    /// (dev, ino) of multiply-linked source files → where we put them.
    links: HashMap<(u64, u64), PathBuf>,
}

/// Applies the layer at `src` on top of the tree at `dst`.
pub(crate) fn apply_layer(src: &Path, dst: &Path) -> Result<()> {
    let mut c = Copier {
        links: HashMap::new(),
    };
    c.dir_contents(src, dst)?;
    let meta = fs_err::symlink_metadata(src)?;
    set_meta(dst, &meta, false)?;
    copy_xattrs(src, dst)?;
    Ok(())
}

impl Copier {
    fn dir_contents(&mut self, src: &Path, dst: &Path) -> Result<()> {
        for entry in fs_err::read_dir(src)? {
            let entry = entry?;
            self.entry(&entry.path(), &dst.join(entry.file_name()))?;
        }
        Ok(())
    }

    fn entry(&mut self, src: &Path, dst: &Path) -> Result<()> {
        let meta = fs_err::symlink_metadata(src)?;
        let ft = meta.file_type();
        if is_whiteout(&meta) {
            return remove_any(dst);
        }
        if ft.is_dir() {
            match fs_err::symlink_metadata(dst) {
                Ok(m) if m.is_dir() => {
                    if is_opaque(src) {
                        for e in fs_err::read_dir(dst)? {
                            remove_any(&e?.path())?;
                        }
                    }
                }
                Ok(_) => {
                    remove_any(dst)?;
                    fs_err::create_dir(dst)?;
                }
                Err(_) => fs_err::create_dir(dst)?,
            }
            self.dir_contents(src, dst)?;
            copy_xattrs(src, dst)?;
            // After the children: adding them changed the directory's mtime.
            return set_meta(dst, &meta, false);
        }
        remove_any(dst)?;
        if ft.is_symlink() {
            let target = fs_err::read_link(src)?;
            std::os::unix::fs::symlink(&target, dst).map_err(|e| Error::path("symlink", dst, e))?;
            set_meta(dst, &meta, true)?;
            return copy_xattrs(src, dst);
        }
        if ft.is_file() && meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = self.links.get(&key) {
                return fs_err::hard_link(first, dst).map_err(Error::from);
            }
            self.links.insert(key, dst.to_owned());
        }
        if ft.is_file() {
            let mut from = fs_err::File::open(src)?;
            let mut to = fs_err::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(dst)?;
            std::io::copy(&mut from, &mut to).map_err(|e| Error::path("copy to", dst, e))?;
        } else if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() {
            let kind = if ft.is_char_device() {
                SFlag::S_IFCHR
            } else if ft.is_block_device() {
                SFlag::S_IFBLK
            } else {
                SFlag::S_IFIFO
            };
            mknod(
                dst,
                kind,
                Mode::from_bits_truncate(meta.mode() & 0o7777),
                meta.rdev(),
            )
            .map_err(|e| Error::Sys {
                op: "mknod",
                path: dst.to_owned(),
                source: e,
            })?;
        } else {
            // Sockets are not content; skip them, as `cp -a` does with a warning.
            return Ok(());
        }
        copy_xattrs(src, dst)?;
        set_meta(dst, &meta, false)
    }
}

/// Owner, mode (after chown, which clears set-id bits) and times.
fn set_meta(dst: &Path, meta: &std::fs::Metadata, symlink: bool) -> Result<()> {
    std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()))
        .map_err(|e| Error::path("chown", dst, e))?;
    if !symlink {
        use std::os::unix::fs::PermissionsExt as _;
        fs_err::set_permissions(dst, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    let atime = TimeSpec::new(meta.atime(), meta.atime_nsec());
    let mtime = TimeSpec::new(meta.mtime(), meta.mtime_nsec());
    utimensat(
        nix::fcntl::AT_FDCWD,
        dst,
        &atime,
        &mtime,
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(|e| Error::Sys {
        op: "set times of",
        path: dst.to_owned(),
        source: e,
    })
}

/// Copies extended attributes (capabilities, ACLs, SELinux labels), except
/// overlay's own, which only mean something inside an overlay.
fn copy_xattrs(src: &Path, dst: &Path) -> Result<()> {
    let names = match xattr::list(src) {
        Ok(n) => n,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(()),
        Err(e) => return Err(Error::path("list xattrs of", src, e)),
    };
    for name in names {
        if name.as_encoded_bytes().starts_with(b"trusted.overlay.") {
            continue;
        }
        if let Some(value) =
            xattr::get(src, &name).map_err(|e| Error::path("read xattr of", src, e))?
        {
            set_xattr(dst, &name, &value)?;
        }
    }
    Ok(())
}

fn set_xattr(dst: &Path, name: &OsStr, value: &[u8]) -> Result<()> {
    xattr::set(dst, name, value).map_err(|e| Error::path("set xattr on", dst, e))
}
