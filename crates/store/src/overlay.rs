//! Mounting overlayfs.
//!
//! The classic `mount(2)` takes all options in one data page (4096 bytes),
//! which caps the number of lowerdirs of a deep image. Linux 6.8 added the
//! `lowerdir+` key to the new mount API (`fsopen`/`fsconfig`), which passes
//! one layer per call with no total limit; we use it first and fall back to
//! `mount(2)` with short symlinked paths on older kernels.

use std::ffi::CString;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::error::{Error, Result};

// From <linux/mount.h>; libc does not export all of them for every target.
const FSOPEN_CLOEXEC: libc::c_uint = 0x1;
const FSCONFIG_SET_FLAG: libc::c_uint = 0;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 0x1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;

/// The kernel's limit on mount(2) option data (one page, NUL included).
pub(crate) const MOUNT_DATA_LIMIT: usize = 4095;

/// What to mount: lowers top first.
pub(crate) struct OverlaySpec<'a> {
    pub lowers: &'a [PathBuf],
    pub upper: &'a Path,
    pub work: &'a Path,
    pub target: &'a Path,
    /// overlayfs `volatile`: no syncs, so unmounting does not sync the whole
    /// upper file system (see `Store::mount_rootfs_volatile`). New mount API only.
    pub volatile: bool,
}

fn cstr(p: &Path) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| Error::Mount {
        op: "mount overlay: path contains NUL",
        path: p.to_owned(),
        source: Errno::EINVAL,
    })
}

fn errno_result(ret: libc::c_long) -> std::result::Result<libc::c_long, Errno> {
    if ret < 0 { Err(Errno::last()) } else { Ok(ret) }
}

/// Why the new mount API could not be used.
pub(crate) enum NewApiError {
    /// The kernel lacks `fsopen` or `lowerdir+`: try the classic way.
    Unsupported,
    /// A real failure (e.g. overlay refuses the backing file system).
    Failed(Errno),
}

fn fsconfig_string(fs: &OwnedFd, key: &str, value: &Path) -> std::result::Result<(), Errno> {
    let key = CString::new(key).map_err(|_| Errno::EINVAL)?;
    let value = CString::new(value.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: fsconfig with valid NUL-terminated strings and an fs context fd.
    errno_result(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0,
        )
    })
    .map(|_| ())
}

/// Mounts with fsopen/fsconfig(`lowerdir+`)/fsmount/move_mount.
pub(crate) fn mount_new_api(spec: &OverlaySpec<'_>) -> std::result::Result<(), NewApiError> {
    let name = c"overlay";
    // SAFETY: fsopen with a static NUL-terminated name.
    let fd = match errno_result(unsafe {
        libc::syscall(libc::SYS_fsopen, name.as_ptr(), FSOPEN_CLOEXEC)
    }) {
        Ok(fd) => fd,
        Err(Errno::ENOSYS | Errno::EPERM) => return Err(NewApiError::Unsupported),
        Err(e) => return Err(NewApiError::Failed(e)),
    };
    // SAFETY: fsopen returned a new fd that we now own.
    let fs = unsafe {
        OwnedFd::from_raw_fd(i32::try_from(fd).map_err(|_| NewApiError::Failed(Errno::EBADF))?)
    };
    for (i, lower) in spec.lowers.iter().enumerate() {
        match fsconfig_string(&fs, "lowerdir+", lower) {
            Ok(()) => {}
            // Before 6.8 the key is unknown; only the first call tells us.
            Err(Errno::EINVAL) if i == 0 => return Err(NewApiError::Unsupported),
            Err(e) => return Err(NewApiError::Failed(e)),
        }
    }
    fsconfig_string(&fs, "upperdir", spec.upper).map_err(NewApiError::Failed)?;
    fsconfig_string(&fs, "workdir", spec.work).map_err(NewApiError::Failed)?;
    if spec.volatile {
        let key = c"volatile";
        // SAFETY: fsconfig FSCONFIG_SET_FLAG with a static NUL-terminated key.
        // Kernels before 5.10 refuse the key: the mount is then an ordinary one.
        let _ = errno_result(unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                FSCONFIG_SET_FLAG,
                key.as_ptr(),
                std::ptr::null::<libc::c_char>(),
                0,
            )
        });
    }
    // SAFETY: FSCONFIG_CMD_CREATE takes no key/value.
    errno_result(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    })
    .map_err(NewApiError::Failed)?;
    // SAFETY: fsmount on a created fs context.
    let mfd = errno_result(unsafe {
        libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0)
    })
    .map_err(NewApiError::Failed)?;
    // SAFETY: fsmount returned a new fd that we now own.
    let mnt = unsafe {
        OwnedFd::from_raw_fd(i32::try_from(mfd).map_err(|_| NewApiError::Failed(Errno::EBADF))?)
    };
    let target = CString::new(spec.target.as_os_str().as_bytes())
        .map_err(|_| NewApiError::Failed(Errno::EINVAL))?;
    let empty = c"";
    // SAFETY: move_mount of a detached mount fd onto a path.
    errno_result(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mnt.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    })
    .map_err(NewApiError::Failed)?;
    Ok(())
}

/// Mounts with the classic mount(2) and one options string.
pub(crate) fn mount_classic(spec: &OverlaySpec<'_>) -> Result<()> {
    let lowers: Vec<String> = spec
        .lowers
        .iter()
        .map(|p| escape(&p.to_string_lossy()))
        .collect();
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lowers.join(":"),
        escape(&spec.upper.to_string_lossy()),
        escape(&spec.work.to_string_lossy())
    );
    if data.len() > MOUNT_DATA_LIMIT {
        return Err(Error::MountOptionsTooLong {
            path: spec.target.to_owned(),
            len: data.len(),
            limit: MOUNT_DATA_LIMIT,
        });
    }
    let target = cstr(spec.target)?;
    nix::mount::mount(
        Some("overlay"),
        target.as_c_str(),
        Some("overlay"),
        nix::mount::MsFlags::empty(),
        Some(data.as_str()),
    )
    .map_err(|source| Error::Mount {
        op: "mount overlay on",
        path: spec.target.to_owned(),
        source,
    })
}

/// Overlay's option parser splits on `,` and lowerdir on `:`; a backslash
/// escapes them.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, ',' | ':' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether `errno` from mounting means "overlay cannot work here" (so the
/// copying fallback applies) rather than a bug in what we asked.
pub(crate) fn means_unavailable(errno: Errno) -> bool {
    // ENODEV: no overlay module; EOPNOTSUPP/ENOTSUP/EINVAL: the backing file
    // system refuses (e.g. overlay on overlay, no d_type, no xattrs); EPERM:
    // not allowed to mount in this namespace.
    matches!(
        errno,
        Errno::ENODEV | Errno::EOPNOTSUPP | Errno::EINVAL | Errno::EPERM
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_separators() {
        assert_eq!(escape("/a:b,c\\d"), "/a\\:b\\,c\\\\d");
        assert_eq!(escape("/plain/path"), "/plain/path");
    }
}
