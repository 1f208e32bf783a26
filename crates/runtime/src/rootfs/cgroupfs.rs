//! Mounting `/sys/fs/cgroup` inside a container.
//!
//! On a cgroup v2 host this is one `cgroup2` mount, which in a cgroup namespace shows the
//! container's own cgroup as its root. On v1 and hybrid hosts it is a tmpfs with one
//! entry per hierarchy: a bind of the container's own cgroup directory in that
//! hierarchy (so the container sees its limits, not the host's tree), plus `unified`
//! for the cgroup2 mount of a hybrid host.

use std::os::fd::OwnedFd;
use std::path::Path;

use nix::mount::{MsFlags, mount};

use super::mounts::{Options, create_mountpoint, remount_bind};
use super::paths::{open_in_root, proc_fd_path, secure_join};
use crate::error::{Result, SysContext};

/// One cgroup hierarchy as mounted on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCgroupMount {
    /// Where the host mounted it.
    pub mountpoint: String,
    /// Root of the hierarchy inside that mount (usually `/`).
    pub root: String,
    /// `cgroup` or `cgroup2`.
    pub fstype: String,
    /// Controllers (super options) for v1, e.g. `cpu,cpuacct` or `name=systemd`.
    pub controllers: Vec<String>,
}

/// The host's cgroup mounts, from mountinfo.
pub fn host_cgroup_mounts() -> Vec<HostCgroupMount> {
    let Ok(text) = fs_err::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    parse_mountinfo(&text)
}

fn parse_mountinfo(text: &str) -> Vec<HostCgroupMount> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 5 || r.len() < 3 {
            continue;
        }
        let fstype = r[0];
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        let controllers = if fstype == "cgroup" {
            r[2].split(',')
                .filter(|o| {
                    !matches!(*o, "rw" | "ro")
                        && !o.starts_with("release_agent")
                        && *o != "clone_children"
                        && *o != "noprefix"
                        && *o != "xattr"
                })
                .map(str::to_string)
                .collect()
        } else {
            Vec::new()
        };
        out.push(HostCgroupMount {
            mountpoint: l[4].to_string(),
            root: l[3].to_string(),
            fstype: fstype.to_string(),
            controllers,
        });
    }
    out
}

/// The cgroup path of this process in each hierarchy (`/proc/self/cgroup`).
fn own_cgroups() -> Vec<(String, String)> {
    let text = fs_err::read_to_string("/proc/self/cgroup").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let _id = it.next()?;
            let ctrls = it.next()?.to_string();
            let path = it.next()?.to_string();
            Some((ctrls, path))
        })
        .collect()
}

/// Mounts the cgroup filesystem(s) at `dest` inside the container.
pub fn mount_cgroups(
    rootfs: &Path,
    root_fd: &OwnedFd,
    dest: &Path,
    opts: &Options,
    cgroup_path: Option<&str>,
) -> Result<()> {
    let mounts = host_cgroup_mounts();
    let unified_only = mounts
        .iter()
        .any(|m| m.fstype == "cgroup2" && m.mountpoint == "/sys/fs/cgroup");
    create_mountpoint(dest, false)?;
    let flags = opts.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY);
    let ro = opts.flags.contains(MsFlags::MS_RDONLY);
    if unified_only {
        let fd = open_in_root(root_fd, rootfs, dest)?;
        let mut f = flags;
        if ro {
            f |= MsFlags::MS_RDONLY;
        }
        return mount(
            Some("cgroup2"),
            &proc_fd_path(&fd),
            Some("cgroup2"),
            f,
            None::<&str>,
        )
        .ctx(|| "mounting cgroup2 in the container".into());
    }
    let fd = open_in_root(root_fd, rootfs, dest)?;
    mount(
        Some("tmpfs"),
        &proc_fd_path(&fd),
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=755"),
    )
    .ctx(|| "mounting tmpfs for cgroups in the container".into())?;
    let own = own_cgroups();
    for m in &mounts {
        let (name, own_path) = if m.fstype == "cgroup2" {
            (
                "unified".to_string(),
                own.iter()
                    .find(|(c, _)| c.is_empty())
                    .map(|(_, p)| p.clone()),
            )
        } else {
            let key = m.controllers.join(",");
            (
                key.trim_start_matches("name=").to_string(),
                own.iter().find(|(c, _)| *c == key).map(|(_, p)| p.clone()),
            )
        };
        let target = secure_join(
            rootfs,
            &dest.strip_prefix(rootfs).unwrap_or(dest).join(&name),
        )?;
        create_mountpoint(&target, false)?;
        let tfd = open_in_root(root_fd, rootfs, &target)?;
        let mut f = flags;
        if ro {
            f |= MsFlags::MS_RDONLY;
        }
        // The container's own cgroup in this hierarchy: the runtime's path when it is
        // known (inside a cgroup namespace /proc/self/cgroup only says "/"), else ours.
        let sub = match cgroup_path {
            Some(p) => p.trim_start_matches('/').to_string(),
            None => {
                let Some(own_path) = own_path else { continue };
                own_path
                    .strip_prefix(&m.root)
                    .unwrap_or(&own_path)
                    .trim_start_matches('/')
                    .to_string()
            }
        };
        let src = Path::new(&m.mountpoint).join(&sub);
        if !src.is_dir() {
            continue; // a hierarchy the container has no cgroup in
        }
        mount(
            Some(&src),
            &proc_fd_path(&tfd),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .ctx(|| format!("binding cgroup {} into the container", src.display()))?;
        let tfd = open_in_root(root_fd, rootfs, &target)?;
        remount_bind(&proc_fd_path(&tfd), f)?;
        // Co-mounted controllers (cpu,cpuacct) get a link per controller, as on the host.
        if m.controllers.len() > 1 {
            for c in &m.controllers {
                let link = target.with_file_name(c);
                if fs_err::symlink_metadata(&link).is_err() {
                    let _ = std::os::unix::fs::symlink(&name, &link);
                }
            }
        }
    }
    if ro {
        let fd = open_in_root(root_fd, rootfs, dest)?;
        remount_bind(&proc_fd_path(&fd), MsFlags::MS_RDONLY | flags)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_mountinfo_is_parsed() {
        let text = "30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n\
                    31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
                    32 25 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n\
                    40 1 8:1 / / rw - ext4 /dev/vda rw\n";
        let m = parse_mountinfo(text);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].fstype, "cgroup2");
        assert_eq!(m[1].controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(m[2].controllers, vec!["name=systemd"]);
    }
}
