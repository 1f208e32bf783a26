//! Finding the cgroup hierarchies from `/proc/self/mountinfo`.
//!
//! The layout is read at run time, never assumed: pure v2 hosts mount `cgroup2` at
//! `/sys/fs/cgroup`; v1 hosts mount one `cgroup` filesystem per hierarchy, with one or several
//! controllers each (`cpu,cpuacct` co-mounted is common); hybrid hosts add a `cgroup2` mount
//! (usually `/sys/fs/cgroup/unified`) that may still hold controllers nobody bound to v1
//! (`hugetlb` on the development machines).

use std::path::{Path, PathBuf};

use crate::Error;
use crate::Mode;
use crate::file;

/// Where the kernel describes this process's mounts.
pub const MOUNTINFO: &str = "/proc/self/mountinfo";

/// Controllers the v1 `cgroup` filesystem knows; anything else in the super options is a
/// mount option (`rw`, `noprefix`, `release_agent=...`, `clone_children`, `xattr` ...).
const V1_CONTROLLERS: &[&str] = &[
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "misc",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
];

/// One mounted cgroup v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Hierarchy {
    /// Where it is mounted (`/sys/fs/cgroup/memory`, `/sys/fs/cgroup/cpu,cpuacct`).
    pub mount_point: PathBuf,
    /// The controllers bound to it (empty for a named hierarchy such as `name=systemd`).
    pub controllers: Vec<String>,
    /// The `name=` option, if any.
    pub name: Option<String>,
}

/// The mounted cgroup v2 (unified) hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unified {
    /// Where it is mounted (`/sys/fs/cgroup` or `/sys/fs/cgroup/unified`).
    pub mount_point: PathBuf,
    /// The controllers listed in its root `cgroup.controllers`.
    pub controllers: Vec<String>,
}

/// Every cgroup hierarchy this process can see.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hierarchies {
    /// cgroup v1 hierarchies, one per mount (bind mounts of the same hierarchy dropped).
    pub v1: Vec<V1Hierarchy>,
    /// The cgroup v2 hierarchy, if mounted.
    pub unified: Option<Unified>,
}

impl Hierarchies {
    /// Reads `/proc/self/mountinfo` and the unified root's `cgroup.controllers`.
    ///
    /// ```no_run
    /// let h = berth_cgroups::Hierarchies::detect()?;
    /// println!("{:?}", h.mode());
    /// # Ok::<(), berth_cgroups::Error>(())
    /// ```
    pub fn detect() -> Result<Hierarchies, Error> {
        let path = Path::new(MOUNTINFO);
        let text = file::read(path)?;
        let mut h = Hierarchies::parse(&text, path)?;
        if let Some(u) = &mut h.unified {
            u.controllers = file::read_words(&u.mount_point.join("cgroup.controllers"))?;
        }
        if h.v1.is_empty() && h.unified.is_none() {
            return Err(Error::NoCgroupFs {
                path: path.to_path_buf(),
            });
        }
        Ok(h)
    }

    /// Parses mountinfo text (`source` names it in errors). The unified hierarchy's
    /// controllers are left empty: they live in a file, not in mountinfo.
    pub fn parse(mountinfo: &str, source: &Path) -> Result<Hierarchies, Error> {
        let mut h = Hierarchies::default();
        for (idx, line) in mountinfo.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = || Error::Mountinfo {
                path: source.to_path_buf(),
                line: idx + 1,
                content: line.to_string(),
            };
            // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
            let (left, right) = line.split_once(" - ").ok_or_else(bad)?;
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            if left.len() < 6 || right.len() < 3 {
                return Err(bad());
            }
            let mount_point = PathBuf::from(unescape(left[4]));
            match right[0] {
                "cgroup2" if h.unified.is_none() => {
                    h.unified = Some(Unified {
                        mount_point,
                        controllers: Vec::new(),
                    });
                }
                "cgroup" => {
                    let mut controllers = Vec::new();
                    let mut name = None;
                    for opt in right[2].split(',') {
                        if let Some(n) = opt.strip_prefix("name=") {
                            name = Some(n.to_string());
                        } else if V1_CONTROLLERS.contains(&opt) {
                            controllers.push(opt.to_string());
                        }
                    }
                    controllers.sort();
                    let same = |v: &V1Hierarchy| v.controllers == controllers && v.name == name;
                    if !h.v1.iter().any(same) {
                        h.v1.push(V1Hierarchy {
                            mount_point,
                            controllers,
                            name,
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(h)
    }

    /// Which cgroup layout this host uses.
    pub fn mode(&self) -> Mode {
        let v1_controllers = self.v1.iter().any(|v| !v.controllers.is_empty());
        match (v1_controllers, self.unified.is_some()) {
            (true, true) => Mode::Hybrid,
            (true, false) => Mode::V1,
            (false, true) => Mode::V2,
            // Only named v1 hierarchies: nothing to limit, treat as v1 (freezing etc. will
            // report the missing controllers).
            (false, false) => Mode::V1,
        }
    }

    /// The v1 hierarchy that holds `controller`, if one does.
    pub fn v1_mount(&self, controller: &str) -> Option<&Path> {
        self.v1
            .iter()
            .find(|v| v.controllers.iter().any(|c| c == controller))
            .map(|v| v.mount_point.as_path())
    }

    /// Whether the unified hierarchy offers `controller` (v2 name: `io`, not `blkio`).
    pub fn v2_has(&self, controller: &str) -> bool {
        self.unified
            .as_ref()
            .is_some_and(|u| u.controllers.iter().any(|c| c == controller))
    }
}

/// Undoes the octal escapes mountinfo uses for space, tab, newline and backslash.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let oct = &bytes[i + 1..i + 4];
            if oct.iter().all(|b| (b'0'..=b'7').contains(b)) {
                let v = oct
                    .iter()
                    .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                if let Ok(v) = u8::try_from(v) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    const V2: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
25 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 25 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:8 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    const COMOUNTED: &str = "\
30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
33 30 0:29 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
36 30 0:32 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
37 30 0:33 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,net_cls,net_prio
38 30 0:34 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory
39 30 0:35 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,cpuset,clone_children
40 500 0:34 / /mnt/again\\040here rw,relatime - cgroup cgroup rw,memory
";

    fn parse(s: &str) -> Hierarchies {
        Hierarchies::parse(s, Path::new("sample")).unwrap()
    }

    #[test]
    fn hybrid_sample() {
        let h = parse(HYBRID);
        assert_eq!(h.mode(), Mode::Hybrid);
        assert_eq!(h.v1.len(), 9);
        assert_eq!(
            h.v1_mount("memory"),
            Some(Path::new("/sys/fs/cgroup/memory"))
        );
        assert_eq!(h.v1_mount("hugetlb"), None);
        let u = h.unified.as_ref().unwrap();
        assert_eq!(u.mount_point, Path::new("/sys/fs/cgroup/unified"));
        let named = h.v1.iter().find(|v| v.name.is_some()).unwrap();
        assert_eq!(named.name.as_deref(), Some("systemd"));
        assert!(named.controllers.is_empty());
    }

    #[test]
    fn pure_v2_sample() {
        let h = parse(V2);
        assert_eq!(h.mode(), Mode::V2);
        assert!(h.v1.is_empty());
        assert_eq!(h.unified.unwrap().mount_point, Path::new("/sys/fs/cgroup"));
    }

    #[test]
    fn comounted_controllers_share_a_directory() {
        let h = parse(COMOUNTED);
        assert_eq!(h.mode(), Mode::V1);
        let cpu = Path::new("/sys/fs/cgroup/cpu,cpuacct");
        assert_eq!(h.v1_mount("cpu"), Some(cpu));
        assert_eq!(h.v1_mount("cpuacct"), Some(cpu));
        assert_eq!(
            h.v1_mount("net_prio"),
            Some(Path::new("/sys/fs/cgroup/net_cls,net_prio"))
        );
        // clone_children and release_agent are options, not controllers.
        assert_eq!(
            h.v1.iter()
                .find(|v| v.controllers.contains(&"cpuset".to_string()))
                .unwrap()
                .controllers,
            vec!["cpuset"]
        );
        // The second mount of the memory hierarchy is a duplicate.
        assert_eq!(
            h.v1.iter().filter(|v| v.controllers == ["memory"]).count(),
            1
        );
        assert_eq!(h.v1.len(), 5);
    }

    #[test]
    fn v1_only_and_no_cgroups() {
        let v1: String = HYBRID
            .lines()
            .filter(|l| !l.contains("cgroup2"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(parse(&v1).mode(), Mode::V1);
        let none = parse("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n");
        assert!(none.v1.is_empty() && none.unified.is_none());
    }

    #[test]
    fn escaped_mount_points() {
        assert_eq!(unescape("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!(unescape("/x\\134y"), "/x\\y");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("/trailing\\04"), "/trailing\\04");
    }

    #[test]
    fn malformed_line_is_an_error() {
        let err = Hierarchies::parse("garbage line\n", Path::new("sample")).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
