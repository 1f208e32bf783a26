//! Device nodes and the standard `/dev` links inside the container.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};
use nix::sys::stat::{Mode, SFlag, makedev, mknod};
use nix::unistd::{Gid, Uid, chown};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::mounts::create_mountpoint;
use super::paths::{open_in_root, proc_fd_path, secure_join};
use crate::error::{Error, Result, SysContext};

/// A device node to create.
#[derive(Debug, Clone)]
pub struct Device {
    /// Path inside the container.
    pub path: PathBuf,
    /// Kind of node.
    pub kind: SFlag,
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

/// The devices every container gets (the OCI spec's list of default devices).
pub fn default_devices() -> Vec<Device> {
    [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ]
    .into_iter()
    .map(|(p, major, minor)| Device {
        path: p.into(),
        kind: SFlag::S_IFCHR,
        major,
        minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    })
    .collect()
}

/// Converts a spec device.
pub fn from_spec(d: &LinuxDevice) -> Result<Device> {
    let kind = match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
        LinuxDeviceType::B => SFlag::S_IFBLK,
        LinuxDeviceType::P => SFlag::S_IFIFO,
        LinuxDeviceType::A => {
            return Err(Error::Unsupported {
                field: "linux.devices".into(),
                message: format!(
                    "{}: type \"a\" is only valid in cgroup rules",
                    d.path().display()
                ),
            });
        }
    };
    Ok(Device {
        path: d.path().clone(),
        kind,
        major: u64::try_from(d.major()).unwrap_or(0),
        minor: u64::try_from(d.minor()).unwrap_or(0),
        mode: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid().unwrap_or(0),
        gid: d.gid().unwrap_or(0),
    })
}

/// Creates `devices` under `rootfs`. In a user namespace mknod is not allowed, so the
/// host's node is bind-mounted instead, as runc does.
pub fn create_devices(
    rootfs: &Path,
    root_fd: &OwnedFd,
    devices: &[Device],
    bind: bool,
) -> Result<()> {
    for d in devices {
        let dest = secure_join(rootfs, &d.path)?;
        if let Some(parent) = dest.parent() {
            fs_err::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
        }
        if bind {
            create_mountpoint(&dest, true)?;
            let fd = open_in_root(root_fd, rootfs, &dest)?;
            mount(
                Some(&d.path),
                &proc_fd_path(&fd),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .ctx(|| format!("binding device {}", d.path.display()))?;
            continue;
        }
        match fs_err::remove_file(&dest) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("replacing", &dest, e)),
        }
        mknod(
            &dest,
            d.kind,
            Mode::from_bits_truncate(d.mode),
            makedev(d.major, d.minor),
        )
        .ctx(|| format!("creating device {}", d.path.display()))?;
        // mknod is subject to the umask; set the exact mode asked for.
        nix::sys::stat::fchmodat(
            nix::fcntl::AT_FDCWD,
            &dest,
            Mode::from_bits_truncate(d.mode),
            nix::sys::stat::FchmodatFlags::FollowSymlink,
        )
        .ctx(|| format!("chmod {}", d.path.display()))?;
        chown(
            &dest,
            Some(Uid::from_raw(d.uid)),
            Some(Gid::from_raw(d.gid)),
        )
        .ctx(|| format!("chown {}", d.path.display()))?;
    }
    Ok(())
}

/// `/dev/fd`, `/dev/stdin` … and `/dev/ptmx` when a devpts is mounted.
pub fn create_links(rootfs: &Path, has_devpts: bool) -> Result<()> {
    let dev = rootfs.join("dev");
    if !dev.is_dir() {
        return Ok(());
    }
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    for (target, name) in links {
        let p = dev.join(name);
        if fs_err::symlink_metadata(&p).is_err() {
            std::os::unix::fs::symlink(target, &p)
                .map_err(|e| Error::io("creating link", &p, e))?;
        }
    }
    if has_devpts {
        let p = dev.join("ptmx");
        let _ = fs_err::remove_file(&p);
        std::os::unix::fs::symlink("pts/ptmx", &p)
            .map_err(|e| Error::io("creating link", &p, e))?;
    }
    Ok(())
}
