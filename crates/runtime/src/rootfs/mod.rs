//! Building the container's root filesystem: propagation, the spec's mounts, devices,
//! `pivot_root`, masked and read-only paths.
//!
//! Runs inside the container's init, in its new mount namespace, before the user's
//! program. Every destination is resolved inside the rootfs (see [`paths`]).

pub mod cgroupfs;
pub mod devices;
pub mod mounts;
pub mod paths;

use std::os::fd::AsFd;
use std::path::Path;

use nix::fcntl::{OFlag, open};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, chroot, fchdir, pivot_root};
use oci_spec::runtime::Spec;

use crate::error::{Error, Result, SysContext};

/// Mount propagation flags for a `rootfsPropagation` or mount option value.
pub fn propagation_flags(p: &str) -> Option<MsFlags> {
    Some(match p {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

/// Everything that happens before `pivot_root`.
pub struct Prepare<'a> {
    /// The spec.
    pub spec: &'a Spec,
    /// Absolute rootfs.
    pub rootfs: &'a Path,
    /// Absolute bundle dir.
    pub bundle: &'a Path,
    /// In a new user namespace (no mknod).
    pub userns: bool,
    /// The container's cgroup path (what `/sys/fs/cgroup` inside should show).
    pub cgroup_path: Option<&'a str>,
}

/// Sets propagation, binds the rootfs onto itself and mounts everything in the spec.
pub fn prepare(p: &Prepare<'_>) -> Result<()> {
    let linux = p.spec.linux().as_ref();
    // Keep our mounts from propagating back to the host. The configured propagation is
    // applied to the container's own root after the pivot (finish): applying e.g.
    // "unbindable" here would make binding the rootfs onto itself fail.
    let prop = match linux.and_then(|l| l.rootfs_propagation().as_deref()) {
        Some("private" | "rprivate") => MsFlags::MS_PRIVATE,
        _ => MsFlags::MS_SLAVE,
    };
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        prop | MsFlags::MS_REC,
        None::<&str>,
    )
    .ctx(|| "setting mount propagation of /".into())?;
    make_parent_private(p.rootfs)?;
    mount(
        Some(p.rootfs),
        p.rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .ctx(|| format!("binding rootfs {} onto itself", p.rootfs.display()))?;

    let root_fd = open(
        p.rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("opening rootfs {}", p.rootfs.display()))?;
    let label = linux.and_then(|l| l.mount_label().as_deref());
    let mut has_devpts = false;
    for m in p.spec.mounts().iter().flatten() {
        let dest = m.destination();
        if dest == Path::new("/dev/pts") {
            has_devpts = true;
        }
        mounts::mount_entry(p.rootfs, &root_fd, p.bundle, m, label, p.cgroup_path)?;
    }
    let mut devs = devices::default_devices();
    for d in linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
    {
        let d = devices::from_spec(d)?;
        devs.retain(|x| x.path != d.path);
        devs.push(d);
    }
    devices::create_devices(p.rootfs, &root_fd, &devs, p.userns)?;
    devices::create_links(p.rootfs, has_devpts)?;
    Ok(())
}

/// pivot_root's new root must not sit under a shared mount.
fn make_parent_private(rootfs: &Path) -> Result<()> {
    let text = fs_err::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::io("reading", "/proc/self/mountinfo", e))?;
    let mut best: Option<(&str, bool)> = None;
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() < 7 {
            continue;
        }
        let mp = f[4];
        if rootfs.starts_with(mp) && best.is_none_or(|(b, _)| mp.len() >= b.len()) {
            let shared = f[6..]
                .iter()
                .take_while(|x| **x != "-")
                .any(|x| x.starts_with("shared:"));
            best = Some((mp, shared));
        }
    }
    if let Some((mp, true)) = best {
        mount(
            None::<&str>,
            mp,
            None::<&str>,
            MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .ctx(|| format!("making {mp} private"))?;
    }
    Ok(())
}

/// Makes `rootfs` the root: `pivot_root` (or chroot with `no_pivot`).
pub fn enter(rootfs: &Path, no_pivot: bool) -> Result<()> {
    if no_pivot {
        chdir(rootfs).ctx(|| format!("chdir {}", rootfs.display()))?;
        mount(
            Some(rootfs),
            "/",
            None::<&str>,
            MsFlags::MS_MOVE,
            None::<&str>,
        )
        .ctx(|| "moving rootfs to / (--no-pivot)".into())?;
        chroot(".").ctx(|| "chroot (--no-pivot)".into())?;
        return chdir("/").ctx(|| "chdir /".into());
    }
    let old = open(
        "/",
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "opening /".into())?;
    let new = open(
        rootfs,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("opening {}", rootfs.display()))?;
    fchdir(new.as_fd()).ctx(|| "fchdir rootfs".into())?;
    // pivot_root(".", ".") stacks the old root on top of the new one; unmounting "."
    // then removes it without needing a directory for it inside the container.
    pivot_root(".", ".").ctx(|| format!("pivot_root to {}", rootfs.display()))?;
    fchdir(old.as_fd()).ctx(|| "fchdir old root".into())?;
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .ctx(|| "making the old root a slave".into())?;
    umount2(".", MntFlags::MNT_DETACH).ctx(|| "detaching the old root".into())?;
    chdir("/").ctx(|| "chdir /".into())
}

/// After the pivot: propagation of `/`, masked paths, read-only paths, read-only root.
pub fn finish(spec: &Spec) -> Result<()> {
    let linux = spec.linux().as_ref();
    if let Some(flags) = linux
        .and_then(|l| l.rootfs_propagation().as_deref())
        .and_then(propagation_flags)
    {
        mount(None::<&str>, "/", None::<&str>, flags, None::<&str>)
            .ctx(|| "setting rootfs propagation".into())?;
    }
    for p in linux
        .and_then(|l| l.readonly_paths().as_ref())
        .into_iter()
        .flatten()
    {
        readonly_path(p)?;
    }
    for p in linux
        .and_then(|l| l.masked_paths().as_ref())
        .into_iter()
        .flatten()
    {
        mask_path(p, linux.and_then(|l| l.mount_label().as_deref()))?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        mounts::remount_bind(Path::new("/"), MsFlags::MS_RDONLY)?;
    }
    Ok(())
}

fn readonly_path(p: &str) -> Result<()> {
    match mount(
        Some(p),
        p,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    ) {
        Err(nix::Error::ENOENT) => return Ok(()),
        r => r.ctx(|| format!("binding read-only path {p}"))?,
    }
    mounts::remount_bind(
        Path::new(p),
        MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
    )
}

fn mask_path(p: &str, label: Option<&str>) -> Result<()> {
    let md = match fs_err::metadata(p) {
        Ok(md) => md,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("masking", p, e)),
    };
    if md.is_dir() {
        let data = label
            .filter(|l| !l.is_empty() && crate::lsm::selinux_enabled())
            .map(|l| format!("context=\"{l}\""));
        mount(
            Some("tmpfs"),
            p,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            data.as_deref(),
        )
        .ctx(|| format!("masking {p}"))
    } else {
        mount(
            Some("/dev/null"),
            p,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .ctx(|| format!("masking {p}"))
    }
}
