//! The spec's `mounts`: option parsing and mounting one entry inside the rootfs.

use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};
use oci_spec::runtime::Mount;

use super::paths::{open_in_root, proc_fd_path, secure_join};
use crate::error::{Error, Result, SysContext};

/// A mount entry's options, split the way mount(2) wants them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Flags for the mount call.
    pub flags: MsFlags,
    /// Propagation flags, applied by a second call.
    pub propagation: MsFlags,
    /// Filesystem-specific data (`size=64m,mode=755`).
    pub data: Vec<String>,
    /// `bind` or `rbind` was given.
    pub bind: bool,
    /// Recursive read-only (`rro`) asked for.
    pub recursive_ro: bool,
}

/// Parses mount options as mount(8) and runc read them.
pub fn parse_options(opts: &[String]) -> Options {
    let mut o = Options {
        flags: MsFlags::empty(),
        propagation: MsFlags::empty(),
        data: Vec::new(),
        bind: false,
        recursive_ro: false,
    };
    for opt in opts {
        let (set, clear) = match opt.as_str() {
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "bind" => {
                o.bind = true;
                (MsFlags::MS_BIND, MsFlags::empty())
            }
            "rbind" => {
                o.bind = true;
                (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty())
            }
            "rro" => {
                o.recursive_ro = true;
                (MsFlags::MS_RDONLY, MsFlags::empty())
            }
            "defaults" | "tmpcopyup" | "idmap" | "ridmap" => continue,
            p => {
                if let Some(flag) = super::propagation_flags(p) {
                    o.propagation |= flag;
                } else {
                    o.data.push(p.to_string());
                }
                continue;
            }
        };
        o.flags.insert(set);
        o.flags.remove(clear);
    }
    o
}

/// Mounts one spec entry under `rootfs`. `bundle` anchors relative bind sources.
pub fn mount_entry(
    rootfs: &Path,
    root_fd: &std::os::fd::OwnedFd,
    bundle: &Path,
    m: &Mount,
    mount_label: Option<&str>,
    cgroup_path: Option<&str>,
) -> Result<()> {
    let typ = m.typ().as_deref().unwrap_or("");
    let opts = parse_options(m.options().as_deref().unwrap_or(&[]));
    let dest = secure_join(rootfs, m.destination())?;
    let source: Option<PathBuf> = m.source().as_ref().map(|s| {
        if opts.bind && s.is_relative() {
            bundle.join(s)
        } else {
            s.clone()
        }
    });
    let is_bind = opts.bind || typ == "bind";

    if typ == "cgroup" || typ == "cgroup2" {
        return super::cgroupfs::mount_cgroups(rootfs, root_fd, &dest, &opts, cgroup_path);
    }

    // Create the mount point: a file for file binds, a directory otherwise.
    let src_is_file = is_bind
        && source
            .as_ref()
            .and_then(|s| fs_err::metadata(s).ok())
            .is_some_and(|md| !md.is_dir());
    if is_bind && let Some(src) = &source {
        fs_err::metadata(src).map_err(|e| Error::io("bind mount source", src, e))?;
    }
    create_mountpoint(&dest, src_is_file)?;
    let target_fd = open_in_root(root_fd, rootfs, &dest)?;
    let target = proc_fd_path(&target_fd);

    let mut data = opts.data.join(",");
    if let Some(label) = mount_label
        && !label.is_empty()
        && !is_bind
        && crate::lsm::selinux_enabled()
    {
        if !data.is_empty() {
            data.push(',');
        }
        data.push_str(&format!("context=\"{label}\""));
    }
    let data_opt = (!data.is_empty()).then_some(data.as_str());
    let what = || {
        format!(
            "mounting {} on {} (type {typ:?})",
            source
                .as_ref()
                .map_or_else(|| "none".into(), |s| s.display().to_string()),
            m.destination().display()
        )
    };

    if is_bind {
        let src = source.as_deref().unwrap_or(Path::new(""));
        let bind_flags = MsFlags::MS_BIND | (opts.flags & MsFlags::MS_REC);
        mount(Some(src), &target, None::<&str>, bind_flags, None::<&str>).ctx(what)?;
        // Flags other than bind/rec only take effect on a remount of the bind.
        let extra = opts.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        if !extra.is_empty() {
            // Reopen: the fd still points at the mount point below the new mount.
            let fd2 = open_in_root(root_fd, rootfs, &dest)?;
            remount_bind(&proc_fd_path(&fd2), extra).map_err(|e| match e {
                Error::Sys { source, .. } => {
                    Error::sys(format!("{} (remounting with {:?})", what(), extra), source)
                }
                other => other,
            })?;
        }
    } else {
        let src = source
            .as_ref()
            .map_or_else(|| typ.to_string(), |s| s.display().to_string());
        let r = mount(Some(src.as_str()), &target, Some(typ), opts.flags, data_opt);
        match r {
            // Without a network namespace of its own (or in a user namespace that
            // does not own it) sysfs cannot be mounted; bind the host's read-only,
            // as runc does.
            Err(nix::Error::EPERM) if typ == "sysfs" => {
                mount(
                    Some("/sys"),
                    &target,
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None::<&str>,
                )
                .ctx(what)?;
                let fd2 = open_in_root(root_fd, rootfs, &dest)?;
                remount_bind(&proc_fd_path(&fd2), opts.flags)?;
            }
            // mqueue needs an ipc namespace owned by our user namespace; bind instead.
            Err(nix::Error::EPERM) if typ == "mqueue" => {
                mount(
                    Some("/dev/mqueue"),
                    &target,
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                )
                .ctx(what)?;
            }
            other => other.ctx(what)?,
        }
    }
    if !opts.propagation.is_empty() {
        let fd3 = open_in_root(root_fd, rootfs, &dest)?;
        mount(
            None::<&str>,
            &proc_fd_path(&fd3),
            None::<&str>,
            opts.propagation,
            None::<&str>,
        )
        .ctx(|| format!("setting propagation of {}", m.destination().display()))?;
    }
    Ok(())
}

/// Creates a directory (or empty file) mount point, and any parents.
pub fn create_mountpoint(dest: &Path, file: bool) -> Result<()> {
    if file {
        if let Some(parent) = dest.parent() {
            fs_err::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
        }
        if fs_err::symlink_metadata(dest).is_err() {
            fs_err::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(dest)
                .map_err(|e| Error::io("creating mount point", dest, e))?;
        }
    } else if !dest.is_dir() {
        fs_err::create_dir_all(dest).map_err(|e| Error::io("creating mount point", dest, e))?;
    }
    Ok(())
}

/// Remounts a bind mount with extra flags, keeping the flags the kernel locked
/// (in a user namespace, nosuid/nodev/noexec/atime flags of the source cannot be cleared).
pub fn remount_bind(target: &Path, flags: MsFlags) -> Result<()> {
    let locked = locked_flags(target);
    mount(
        None::<&str>,
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags | locked,
        None::<&str>,
    )
    .ctx(|| format!("remounting {} with {flags:?}", target.display()))
}

fn locked_flags(target: &Path) -> MsFlags {
    use nix::sys::statvfs::{FsFlags, statvfs};
    let Ok(st) = statvfs(target) else {
        return MsFlags::empty();
    };
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs) {
            out |= ms;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(o: &[&str]) -> Options {
        parse_options(&o.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_data_and_propagation_are_split() {
        let o = p(&["nosuid", "strictatime", "mode=755", "size=65536k", "rslave"]);
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(o.data, vec!["mode=755", "size=65536k"]);
        assert_eq!(o.propagation, MsFlags::MS_SLAVE | MsFlags::MS_REC);
    }

    #[test]
    fn later_options_override_earlier() {
        let o = p(&["ro", "rw"]);
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
        let o = p(&["rbind", "ro"]);
        assert!(o.bind && o.flags.contains(MsFlags::MS_REC | MsFlags::MS_RDONLY));
    }
}
