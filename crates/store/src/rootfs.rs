//! Container root filesystems: `containers/<id>/{upper,work,merged}`.
//!
//! With overlayfs, `merged` is an overlay of the image's snapshots (read
//! only) and `upper` (the container's changes). Where overlayfs is missing
//! or the backing file system refuses it, the layers are copied into
//! `merged` instead (see `copy.rs`), and a `rootfs-copy` marker remembers
//! that the directory is the whole rootfs.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::Store;
use crate::digest::{digest_hex, is_hex64};
use crate::error::{Error, Result};
use crate::overlay::{
    MOUNT_DATA_LIMIT, NewApiError, OverlaySpec, means_unavailable, mount_classic, mount_new_api,
};

/// How container root filesystems are made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RootfsMode {
    /// overlayfs, falling back to copying when the kernel or file system
    /// refuses it.
    #[default]
    Auto,
    /// overlayfs only; failures are errors.
    Overlay,
    /// Always copy (slow; for hosts without overlayfs, and tests).
    Copy,
}

/// Marker file: this container's `merged` is a plain copied directory.
const COPY_MARKER: &str = "rootfs-copy";

/// Whether `path` is the root of a mount (its device differs from its parent's).
pub(crate) fn is_mountpoint(path: &Path) -> Result<bool> {
    let me = match fs_err::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let parent = path.parent().unwrap_or(Path::new("/"));
    let up = fs_err::symlink_metadata(parent)?;
    Ok(me.dev() != up.dev())
}

/// Unmounts `path`, lazily if it is busy.
pub(crate) fn unmount(path: &Path) -> Result<()> {
    match nix::mount::umount2(path, nix::mount::MntFlags::empty()) {
        Ok(()) | Err(Errno::EINVAL | Errno::ENOENT) => Ok(()),
        Err(Errno::EBUSY) => {
            nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH).map_err(|source| {
                Error::Mount {
                    op: "unmount",
                    path: path.to_owned(),
                    source,
                }
            })
        }
        Err(source) => Err(Error::Mount {
            op: "unmount",
            path: path.to_owned(),
            source,
        }),
    }
}

impl Store {
    /// A container's directory (`containers/<id>`).
    pub fn container_dir(&self, container_id: &str) -> Result<PathBuf> {
        if !is_hex64(container_id) {
            return Err(Error::InvalidId {
                kind: "container",
                id: container_id.to_owned(),
            });
        }
        Ok(self.root.join("containers").join(container_id))
    }

    /// The container's root filesystem path (`containers/<id>/merged`).
    pub fn rootfs_path(&self, container_id: &str) -> Result<PathBuf> {
        Ok(self.container_dir(container_id)?.join("merged"))
    }

    /// Whether the container's rootfs is a copy rather than an overlay.
    pub fn rootfs_is_copy(&self, container_id: &str) -> Result<bool> {
        Ok(self.container_dir(container_id)?.join(COPY_MARKER).exists())
    }

    /// Makes the container's root filesystem from the snapshots
    /// `lower_chain` (chain ids, base layer first, as in
    /// [`Store::image_layers`]) and returns its path. Idempotent: an
    /// already mounted (or copied) rootfs is returned as is. Create the
    /// container's row first: recovery deletes container directories that
    /// have none.
    ///
    /// ```no_run
    /// # fn main() -> berth_store::Result<()> {
    /// # let store = berth_store::Store::open(std::path::Path::new("/var/lib/berth"))?;
    /// # let id = "0".repeat(64);
    /// let layers = store.container_layers(&id)?;
    /// let rootfs = store.mount_rootfs(&id, &layers)?;
    /// // ... run the container on `rootfs`, then:
    /// store.unmount_rootfs(&id)?;
    /// # Ok(()) }
    /// ```
    pub fn mount_rootfs<S: AsRef<str>>(
        &self,
        container_id: &str,
        lower_chain: &[S],
    ) -> Result<PathBuf> {
        self.mount_rootfs_with(container_id, lower_chain, false)
    }

    /// [`Store::mount_rootfs`] with overlayfs's `volatile` option, for a
    /// container removed when it exits (`run --rm`): overlayfs then never
    /// syncs, and unmounting it does not `syncfs` the whole file system under
    /// the store (18 ms and more on a host busy writing). Its files may be
    /// incomplete after a power loss, which matters for nothing that is
    /// deleted on exit. On kernels without the option (before 5.10, or
    /// without the new mount API) it is an ordinary mount.
    pub fn mount_rootfs_volatile<S: AsRef<str>>(
        &self,
        container_id: &str,
        lower_chain: &[S],
    ) -> Result<PathBuf> {
        self.mount_rootfs_with(container_id, lower_chain, true)
    }

    fn mount_rootfs_with<S: AsRef<str>>(
        &self,
        container_id: &str,
        lower_chain: &[S],
        volatile: bool,
    ) -> Result<PathBuf> {
        let dir = self.container_dir(container_id)?;
        let merged = dir.join("merged");
        let upper = dir.join("upper");
        let work = dir.join("work");
        for d in [&dir, &merged] {
            fs_err::create_dir_all(d)?;
        }
        if dir.join(COPY_MARKER).exists() || is_mountpoint(&merged)? {
            return Ok(merged);
        }
        let mut lowers = Vec::with_capacity(lower_chain.len().max(1));
        let mut hexes = Vec::with_capacity(lower_chain.len());
        for chain in lower_chain.iter().rev() {
            let chain = chain.as_ref();
            hexes.push(digest_hex(chain)?.to_owned());
            lowers.push(self.snapshot_path(chain)?);
        }
        if lowers.is_empty() {
            // overlay needs one lowerdir; an image FROM scratch has none.
            let empty = self.root.join("l/empty");
            fs_err::create_dir_all(&empty)?;
            lowers.push(empty);
        }
        match self.options.rootfs_mode {
            RootfsMode::Copy => self.copy_rootfs(&dir, &lowers)?,
            mode => {
                // A volatile mount that was never unmounted (the machine went down)
                // leaves this marker, and overlayfs then refuses the work dir. The
                // work dir is scratch space: a fresh one is all it takes.
                if work.join("work/incompat/volatile").exists() {
                    self.trash(&work)?;
                }
                fs_err::create_dir_all(&upper)?;
                fs_err::create_dir_all(&work)?;
                let spec = OverlaySpec {
                    lowers: &lowers,
                    upper: &upper,
                    work: &work,
                    target: &merged,
                    volatile,
                };
                match self.mount_overlay(&spec, &hexes) {
                    Ok(()) => {}
                    Err(Error::Mount { source, .. })
                        if mode == RootfsMode::Auto && means_unavailable(source) =>
                    {
                        self.copy_rootfs(&dir, &lowers)?;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(merged)
    }

    fn mount_overlay(&self, spec: &OverlaySpec<'_>, hexes: &[String]) -> Result<()> {
        let attempt = if self.options.classic_mount {
            Err(NewApiError::Unsupported)
        } else {
            mount_new_api(spec)
        };
        match attempt {
            Ok(()) => return Ok(()),
            Err(NewApiError::Failed(source)) => {
                return Err(Error::Mount {
                    op: "mount overlay on",
                    path: spec.target.to_owned(),
                    source,
                });
            }
            Err(NewApiError::Unsupported) => {}
        }
        match mount_classic(spec) {
            Err(Error::MountOptionsTooLong { .. }) if hexes.len() == spec.lowers.len() => {
                // Shorter names for the same directories: l/<12 hex> symlinks.
                let mut short = Vec::with_capacity(hexes.len());
                for (hex, path) in hexes.iter().zip(spec.lowers) {
                    let link = self.root.join("l").join(&hex[..12]);
                    if fs_err::symlink_metadata(&link).is_err() {
                        match std::os::unix::fs::symlink(path, &link) {
                            Ok(()) => {}
                            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                            Err(e) => return Err(Error::path("symlink", link, e)),
                        }
                    }
                    short.push(link);
                }
                let short_spec = OverlaySpec {
                    lowers: &short,
                    ..*spec
                };
                mount_classic(&short_spec).map_err(|e| match e {
                    Error::MountOptionsTooLong { path, len, .. } => Error::MountOptionsTooLong {
                        path,
                        len,
                        limit: MOUNT_DATA_LIMIT,
                    },
                    e => e,
                })
            }
            other => other,
        }
    }

    fn copy_rootfs(&self, dir: &Path, lowers_top_first: &[PathBuf]) -> Result<()> {
        // Build in tmp/ and rename, so a crash never leaves a half copy
        // that looks finished.
        let (lock, staging) = self.create_tmp_subdir("rootfs")?;
        for lower in lowers_top_first.iter().rev() {
            crate::copy::apply_layer(lower, &staging)?;
        }
        let merged = dir.join("merged");
        crate::tmp::remove_any(&merged)?;
        fs_err::rename(&staging, &merged)?;
        drop(lock);
        fs_err::write(dir.join(COPY_MARKER), b"")?;
        Ok(())
    }

    /// Unmounts the container's rootfs (nothing to do for a copy or if it is
    /// not mounted).
    pub fn unmount_rootfs(&self, container_id: &str) -> Result<()> {
        let merged = self.rootfs_path(container_id)?;
        if is_mountpoint(&merged)? {
            unmount(&merged)?;
        }
        Ok(())
    }

    /// Unmounts and deletes a container's directory.
    pub(crate) fn remove_container_dir(&self, container_id: &str) -> Result<()> {
        self.unmount_rootfs(container_id)?;
        self.trash(&self.container_dir(container_id)?)
    }
}
