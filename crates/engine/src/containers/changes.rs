//! `berth diff` (what a container changed) and `berth export` (its filesystem as tar).

use std::io::Write;

use berth_store::Change;

use crate::{Engine, Error, Result};

impl Engine {
    /// The container's changes to its image, sorted by path.
    pub fn container_diff(&self, name: &str) -> Result<Vec<Change>> {
        let (rec, _) = self.container(name)?;
        let layers = self.store().container_layers(&rec.id)?;
        let mut changes = self.store().diff_paths(&rec.id, &layers)?;
        // The mount points berth made for its generated /etc files (and --init) are not
        // the user's changes, as Docker's init layer hides them.
        changes.retain(|c| {
            !(c.kind == berth_store::ChangeKind::Added
                && matches!(
                    c.path.as_str(),
                    "/etc/hosts" | "/etc/hostname" | "/etc/resolv.conf"
                ))
        });
        Ok(changes)
    }

    /// Writes the container's root filesystem as a tar stream (`berth export`).
    pub fn export_container(&self, name: &str, out: impl Write) -> Result<()> {
        let (rec, _) = self.container(name)?;
        let layers = self.store().container_layers(&rec.id)?;
        let running = matches!(
            rec.state.status,
            berth_store::ContainerStatus::Running | berth_store::ContainerStatus::Paused
        );
        let rootfs = self.store().mount_rootfs(&rec.id, &layers)?;
        let mut tar = tar::Builder::new(out);
        tar.follow_symlinks(false);
        let r = tar.append_dir_all(".", &rootfs).and_then(|()| tar.finish());
        if !running {
            let _ = self.store().unmount_rootfs(&rec.id);
        }
        r.map_err(|e| Error::Io {
            path: rootfs,
            source: e,
        })
    }
}
