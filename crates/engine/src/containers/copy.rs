//! `berth cp`: files between a container and the host, as tar streams.
//!
//! Every path inside the container is resolved with openat2 `RESOLVE_IN_ROOT` against
//! the container's root (`/proc/PID/root` while it runs, so volumes are seen; its
//! rootfs otherwise), so a symlink in the container cannot lead the copy to a host
//! file. Tar streams are unpacked with berth-image's scoped layer applier, which
//! refuses entries that would leave their target.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use berth_image::layer::{ApplyOptions, apply};
use berth_store::ContainerStatus;
use rustix::fs::{Mode, OFlags, ResolveFlags, openat2};

use crate::{Engine, Error, Result};

fn io(path: impl Into<PathBuf>, e: std::io::Error) -> Error {
    Error::Io {
        path: path.into(),
        source: e,
    }
}

/// What a path in the container is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// Anything else (file, symlink, device).
    Other,
}

/// The container's root for one copy; unmounts a rootfs it mounted when dropped.
struct CpRoot<'a> {
    engine: &'a Engine,
    id: String,
    dir: fs_err::File,
    unmount: bool,
}

impl Drop for CpRoot<'_> {
    fn drop(&mut self) {
        if self.unmount {
            let _ = self.engine.store().unmount_rootfs(&self.id);
        }
    }
}

impl CpRoot<'_> {
    /// `path` resolved inside the root, as an O_PATH fd (a final symlink is not
    /// followed: `cp` copies the link itself).
    fn open(&self, path: &str, dir: bool) -> Result<Option<OwnedFd>> {
        self.open_with(path, dir, false)
    }

    /// Like [`CpRoot::open`]; `follow` follows a final symlink too (still inside the
    /// root), for `cp -L`.
    fn open_with(&self, path: &str, dir: bool, follow: bool) -> Result<Option<OwnedFd>> {
        let mut flags = OFlags::PATH | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        if dir || follow {
            flags.remove(OFlags::NOFOLLOW);
        }
        if dir {
            flags |= OFlags::DIRECTORY;
        }
        match openat2(
            &self.dir,
            path,
            flags,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => Ok(Some(fd)),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(io(path, e.into())),
        }
    }
}

fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

impl Engine {
    fn cp_root(&self, name: &str) -> Result<CpRoot<'_>> {
        let (rec, _) = self.container(name)?;
        let running = matches!(
            self.reconcile(&rec)?,
            ContainerStatus::Running | ContainerStatus::Paused
        );
        let (path, unmount) = match rec.state.pid {
            Some(pid) if running => (PathBuf::from(format!("/proc/{pid}/root")), false),
            _ => {
                let layers = self.store().container_layers(&rec.id)?;
                (self.store().mount_rootfs(&rec.id, &layers)?, true)
            }
        };
        let dir = fs_err::File::open(&path).map_err(|e| io(&path, e))?;
        Ok(CpRoot {
            engine: self,
            id: rec.id,
            dir,
            unmount,
        })
    }

    /// What `path` is in the container, or `None` when it does not exist.
    pub fn cp_stat(&self, name: &str, path: &str) -> Result<Option<Kind>> {
        let root = self.cp_root(name)?;
        let Some(fd) = root.open(path, false)? else {
            return Ok(None);
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| io(path, e.into()))?;
        let is_dir =
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory;
        Ok(Some(if is_dir { Kind::Dir } else { Kind::Other }))
    }

    /// Writes a tar stream of the container's `path`, its top entry named `as_name`.
    pub fn cp_out(&self, name: &str, path: &str, as_name: &str, out: impl Write) -> Result<()> {
        self.cp_out_with(name, path, as_name, out, false)
    }

    /// [`Engine::cp_out`]; with `follow` (`cp -L`), a symlink at `path` is followed
    /// (inside the container) and its target copied under `as_name`.
    pub fn cp_out_with(
        &self,
        name: &str,
        path: &str,
        as_name: &str,
        out: impl Write,
        follow: bool,
    ) -> Result<()> {
        let root = self.cp_root(name)?;
        let fd = root
            .open_with(path, false, follow)?
            .ok_or_else(|| Error::Invalid {
                flag: "SRC_PATH",
                value: path.to_owned(),
                hint: format!("no such file or directory in container {name}"),
            })?;
        let st = rustix::fs::fstat(&fd).map_err(|e| io(path, e.into()))?;
        let mut tar = tar::Builder::new(out);
        tar.follow_symlinks(false);
        let ft = rustix::fs::FileType::from_raw_mode(st.st_mode);
        let r = match ft {
            rustix::fs::FileType::Directory => {
                let dfd = root
                    .open(path, true)?
                    .ok_or_else(|| io(path, std::io::ErrorKind::NotFound.into()))?;
                // `/.` makes the kernel resolve the magic link, so the walk starts at
                // the directory itself.
                tar.append_dir_all(as_name, fd_path(&dfd).join("."))
            }
            rustix::fs::FileType::Symlink => {
                let target =
                    rustix::fs::readlinkat(&fd, "", Vec::new()).map_err(|e| io(path, e.into()))?;
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                h.set_mode(0o777);
                h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
                tar.append_link(&mut h, as_name, Path::new(&*target.to_string_lossy()))
            }
            _ => {
                let file = fs_err::File::open(fd_path(&fd)).map_err(|e| io(path, e))?;
                let mut h = tar::Header::new_gnu();
                h.set_metadata(&file.metadata().map_err(|e| io(path, e))?);
                tar.append_data(&mut h, as_name, file)
            }
        };
        r.and_then(|()| tar.finish()).map_err(|e| io(path, e))
    }

    /// Unpacks the tar stream `input` into the container's directory `dir`.
    pub fn cp_in(&self, name: &str, dir: &str, input: impl Read) -> Result<()> {
        self.cp_in_with(name, dir, input, true)
    }

    /// [`Engine::cp_in`]; `keep_owner` (`cp -a`) keeps the entries' uid/gid, else the
    /// files belong to the user berth runs as (root: the container's root, as Docker).
    pub fn cp_in_with(
        &self,
        name: &str,
        dir: &str,
        input: impl Read,
        keep_owner: bool,
    ) -> Result<()> {
        let root = self.cp_root(name)?;
        let fd = root.open(dir, true)?.ok_or_else(|| Error::Invalid {
            flag: "DEST_PATH",
            value: dir.to_owned(),
            hint: format!("no such directory in container {name}"),
        })?;
        let _ = fd.as_fd();
        apply(input, &fd_path(&fd), &owner_options(keep_owner))?;
        Ok(())
    }
}

/// A tar of the host's `src` with its top entry named `as_name` (for `cp` into a
/// container).
pub fn tar_host_path(src: &Path, as_name: &str) -> Result<Vec<u8>> {
    let meta = fs_err::symlink_metadata(src).map_err(|e| io(src, e))?;
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    let r = if meta.is_dir() {
        tar.append_dir_all(as_name, src)
    } else {
        tar.append_path_with_name(src, as_name)
    };
    r.map_err(|e| io(src, e))?;
    tar.into_inner().map_err(|e| io(src, e))
}

/// Unpacks a tar stream into the host directory `dir` (for `cp` out of a container),
/// refusing entries that would leave it.
pub fn untar_to_host(input: impl Read, dir: &Path) -> Result<()> {
    untar_to_host_with(input, dir, true)
}

/// [`untar_to_host`]; `keep_owner` (`cp -a`) keeps the entries' uid/gid, else the files
/// belong to the user running berth, as Docker's `cp` makes them.
pub fn untar_to_host_with(input: impl Read, dir: &Path, keep_owner: bool) -> Result<()> {
    apply(input, dir, &owner_options(keep_owner))?;
    Ok(())
}

fn owner_options(keep_owner: bool) -> ApplyOptions {
    let mut o = ApplyOptions::flat();
    o.chown &= keep_owner;
    o
}
