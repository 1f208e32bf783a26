//! The `local` driver's options, as Docker's: `type`, `device` and `o` mount a file
//! system (a tmpfs, a block device, an NFS export, or with `o=bind` a host directory) on
//! the volume's data directory while containers use it. It is mounted when the first
//! container using the volume starts and unmounted when the last one stops.

use std::collections::BTreeMap;
use std::path::Path;

use nix::mount::{MntFlags, MsFlags};

use crate::{Engine, Error, Result};

/// The options of a device-backed volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceOpts {
    /// File system type (`tmpfs`, `ext4`, `nfs`, `none` for a bind).
    pub kind: String,
    /// What is mounted (`tmpfs`, `/dev/sdb1`, `:/export`, a host directory).
    pub device: String,
    /// Mount options (`size=64m,uid=1000`, `bind`, `ro`).
    pub options: String,
}

fn invalid(value: &str, hint: &str) -> Error {
    Error::Invalid {
        flag: "--opt",
        value: value.to_owned(),
        hint: hint.to_owned(),
    }
}

impl DeviceOpts {
    /// Checks a volume's options: `None` for a plain directory.
    pub fn parse(opts: &BTreeMap<String, String>) -> Result<Option<DeviceOpts>> {
        if let Some(k) = opts
            .keys()
            .find(|k| !matches!(k.as_str(), "type" | "device" | "o"))
        {
            return Err(invalid(k, "the local driver takes type, device and o"));
        }
        if opts.is_empty() {
            return Ok(None);
        }
        let get = |k: &str| opts.get(k).cloned().unwrap_or_default();
        let d = DeviceOpts {
            kind: get("type"),
            device: get("device"),
            options: get("o"),
        };
        if d.device.is_empty() {
            return Err(invalid(
                "device",
                "missing required option: device (e.g. --opt device=tmpfs)",
            ));
        }
        if d.kind.is_empty() && !d.is_bind() {
            return Err(invalid(
                "type",
                "missing required option: type (e.g. --opt type=tmpfs)",
            ));
        }
        if d.is_bind() && !Path::new(&d.device).is_absolute() {
            return Err(invalid(
                &d.device,
                "a bind device must be an absolute host path",
            ));
        }
        Ok(Some(d))
    }

    fn is_bind(&self) -> bool {
        self.options.split(',').any(|o| o == "bind" || o == "rbind")
    }

    /// Flags and the file-system-specific rest of `o`.
    fn flags(&self) -> (MsFlags, String) {
        let mut flags = MsFlags::empty();
        let mut data = Vec::new();
        for o in self.options.split(',').filter(|o| !o.is_empty()) {
            match o {
                "ro" => flags |= MsFlags::MS_RDONLY,
                "rw" => {}
                "nosuid" => flags |= MsFlags::MS_NOSUID,
                "nodev" => flags |= MsFlags::MS_NODEV,
                "noexec" => flags |= MsFlags::MS_NOEXEC,
                "sync" => flags |= MsFlags::MS_SYNCHRONOUS,
                "noatime" => flags |= MsFlags::MS_NOATIME,
                "nodiratime" => flags |= MsFlags::MS_NODIRATIME,
                "relatime" => flags |= MsFlags::MS_RELATIME,
                "bind" => flags |= MsFlags::MS_BIND,
                "rbind" => flags |= MsFlags::MS_BIND | MsFlags::MS_REC,
                other => data.push(other),
            }
        }
        (flags, data.join(","))
    }

    /// Mounts the device on `target`.
    fn mount(&self, target: &Path) -> Result<()> {
        let (flags, data) = self.flags();
        let fail = |e: nix::Error| Error::Io {
            path: target.to_path_buf(),
            source: std::io::Error::other(format!(
                "mounting volume device {} (type {}, options {:?}): {e}",
                self.device, self.kind, self.options
            )),
        };
        let fstype = (!self.kind.is_empty() && self.kind != "none").then_some(self.kind.as_str());
        let data = (!data.is_empty()).then_some(data.as_str());
        nix::mount::mount(Some(self.device.as_str()), target, fstype, flags, data).map_err(fail)?;
        // A bind ignores MS_RDONLY until remounted.
        if flags.contains(MsFlags::MS_BIND | MsFlags::MS_RDONLY) {
            nix::mount::mount(
                None::<&str>,
                target,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
                None::<&str>,
            )
            .map_err(fail)?;
        }
        Ok(())
    }
}

/// Whether `path` is a mount point (listed in this process's mount table).
fn is_mounted(path: &Path) -> bool {
    let text = fs_err::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let want = path.to_string_lossy();
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|m| m == want)
}

impl Engine {
    /// Mounts the devices of the device-backed volumes a container uses that are not
    /// mounted yet (before it starts; no store read for a container without volumes).
    pub(crate) fn mount_volume_devices(&self, stored: &crate::containers::Stored) -> Result<()> {
        for m in stored.mounts.iter().filter(|m| m.kind == "volume") {
            let name = &m.name;
            let v = self.store().get_volume(name)?;
            let Some(dev) = DeviceOpts::parse(&v.options)? else {
                continue;
            };
            let _guard = self.store().lock(&format!("volume-{name}"))?;
            if !is_mounted(&v.mountpoint) {
                dev.mount(&v.mountpoint)?;
            }
        }
        Ok(())
    }

    /// Unmounts the device-backed volumes of container `id` that no running container
    /// uses any more (after it stopped). Best effort: a busy mount stays until later.
    pub(crate) fn unmount_idle_volume_devices(&self, id: &str) {
        let Ok(vols) = self.store().container_volumes(id) else {
            return;
        };
        for (name, _) in vols {
            let Ok(v) = self.store().get_volume(&name) else {
                continue;
            };
            if !matches!(DeviceOpts::parse(&v.options), Ok(Some(_))) {
                continue;
            }
            let Ok(_guard) = self.store().lock(&format!("volume-{name}")) else {
                continue;
            };
            let busy = self
                .store()
                .volume_users(&name)
                .unwrap_or_default()
                .iter()
                .any(|u| {
                    u != id
                        && self
                            .store()
                            .get_container(u)
                            .is_ok_and(|c| c.state.status.is_active())
                });
            if !busy && is_mounted(&v.mountpoint) {
                let _ = nix::mount::umount2(&v.mountpoint, MntFlags::MNT_DETACH);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn options_are_checked_like_dockers_local_driver() {
        assert_eq!(DeviceOpts::parse(&opts(&[])).unwrap(), None);
        let t = DeviceOpts::parse(&opts(&[
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=1m,uid=1000,noexec"),
        ]))
        .unwrap()
        .unwrap();
        let (flags, data) = t.flags();
        assert_eq!(flags, MsFlags::MS_NOEXEC);
        assert_eq!(data, "size=1m,uid=1000");
        let b = DeviceOpts::parse(&opts(&[
            ("type", "none"),
            ("device", "/srv/data"),
            ("o", "bind,ro"),
        ]))
        .unwrap()
        .unwrap();
        assert!(b.is_bind());
        assert!(
            DeviceOpts::parse(&opts(&[("type", "tmpfs")])).is_err(),
            "no device"
        );
        assert!(
            DeviceOpts::parse(&opts(&[("device", "tmpfs")])).is_err(),
            "no type"
        );
        assert!(
            DeviceOpts::parse(&opts(&[("size", "1g")])).is_err(),
            "unknown key"
        );
        assert!(DeviceOpts::parse(&opts(&[("device", "rel/path"), ("o", "bind")])).is_err());
    }
}
