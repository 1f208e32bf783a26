//! Applying one tar entry inside a [`Root`].

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{Read, Write as _};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;

use rustix::fs::Timespec;
use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, Timestamps, Uid, XattrFlags};
use rustix::io::Errno;
use tar::EntryType;

use super::scoped::{Rel, Root, children, remove_all_at};
use super::{ApplyOptions, Mode as ApplyMode};
use crate::error::{Error, Result};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";
const COPY_BUF: usize = 256 << 10;

/// State kept across the entries of one layer.
pub(crate) struct Applier<'a> {
    pub root: &'a Root,
    pub opts: &'a ApplyOptions,
    /// Directories and their mtimes, set at the end (writing children changes them).
    dir_times: Vec<(Rel, u64)>,
    /// Paths this layer wrote (flat mode: an opaque directory keeps only these).
    written: HashSet<Rel>,
    buf: Vec<u8>,
}

struct Meta {
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: u64,
    xattrs: Vec<(String, Vec<u8>)>,
}

impl<'a> Applier<'a> {
    pub(crate) fn new(root: &'a Root, opts: &'a ApplyOptions) -> Self {
        Self {
            root,
            opts,
            dir_times: Vec::new(),
            written: HashSet::new(),
            buf: vec![0; COPY_BUF],
        }
    }

    pub(crate) fn entry<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<()> {
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let unsafe_entry = |reason: &str| Error::UnsafeEntry {
            entry: shown.clone(),
            reason: reason.to_owned(),
        };
        let rel = Rel::clean(&raw).map_err(unsafe_entry)?;
        let header = entry.header();
        let kind = header.entry_type();
        let meta = Meta {
            uid: id(header.uid(), &header.as_old().uid, &shown)?,
            gid: id(header.gid(), &header.as_old().gid, &shown)?,
            mode: header.mode().map_err(|e| tar_err(&shown, e))? & 0o7777,
            mtime: header.mtime().unwrap_or(0),
            xattrs: xattrs(&mut entry, &shown)?,
        };
        let Some((parent, name)) = rel.split_last() else {
            // `./` itself: only its metadata can be applied.
            if kind.is_dir() {
                let fd = reopen(self.root.fd(), OsStr::new("."), true)
                    .map_err(|e| self.root.err("opening", &rel, e))?;
                self.set_meta(fd.as_fd(), &rel, &meta)?;
                return Ok(());
            }
            return Err(unsafe_entry("a non-directory entry for the layer's root"));
        };
        let name_bytes = name.as_bytes();
        if name_bytes.starts_with(WHITEOUT_PREFIX.as_bytes()) {
            return self.whiteout(&parent, name, &shown);
        }
        let pfd = self.root.ensure_dir(&parent)?;
        let p = pfd.as_fd();
        let (root, rel_ref) = (self.root, &rel);
        let err = |op: &'static str| move |e: Errno| root.err(op, rel_ref, e);
        match kind {
            EntryType::Directory => {
                match rustix::fs::statat(p, name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {}
                    Ok(_) => {
                        remove_all_at(p, name).map_err(err("replacing"))?;
                        rustix::fs::mkdirat(p, name, Mode::from_raw_mode(0o700))
                            .map_err(err("creating directory"))?;
                    }
                    Err(Errno::NOENT) => rustix::fs::mkdirat(p, name, Mode::from_raw_mode(0o700))
                        .map_err(err("creating directory"))?,
                    Err(e) => return Err(err("inspecting")(e)),
                }
                let fd = reopen(p, name, true).map_err(err("opening"))?;
                self.set_meta(fd.as_fd(), &rel, &meta)?;
                self.dir_times.push((rel.clone(), meta.mtime));
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                replace(p, name).map_err(err("replacing"))?;
                let fd = rustix::fs::openat(
                    p,
                    name,
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )
                .map_err(err("creating"))?;
                let mut file = std::fs::File::from(fd);
                loop {
                    let n = entry.read(&mut self.buf).map_err(|e| tar_err(&shown, e))?;
                    if n == 0 {
                        break;
                    }
                    file.write_all(&self.buf[..n]).map_err(|e| {
                        self.root.err(
                            "writing",
                            &rel,
                            Errno::from_io_error(&e).unwrap_or(Errno::IO),
                        )
                    })?;
                }
                self.set_meta(file.as_fd(), &rel, &meta)?;
                set_times_fd(file.as_fd(), meta.mtime).map_err(err("setting times on"))?;
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| unsafe_entry("symlink without a target"))?
                    .into_owned();
                replace(p, name).map_err(err("replacing"))?;
                // Written as-is: the target is only ever resolved inside the root later.
                rustix::fs::symlinkat(OsStr::from_bytes(&target), p, name)
                    .map_err(err("creating symlink"))?;
                if self.opts.chown {
                    rustix::fs::chownat(
                        p,
                        name,
                        Some(uid(meta.uid)),
                        Some(gid(meta.gid)),
                        AtFlags::SYMLINK_NOFOLLOW,
                    )
                    .map_err(err("changing owner of"))?;
                }
                set_times_at(p, name, meta.mtime).map_err(err("setting times on"))?;
            }
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| unsafe_entry("hard link without a target"))?
                    .into_owned();
                let src = Rel::clean(&target)
                    .map_err(|r| unsafe_entry(&format!("hard link target: {r}")))?;
                let (src_parent, src_name) = src
                    .split_last()
                    .ok_or_else(|| unsafe_entry("hard link to the layer's root"))?;
                // The source's directory is resolved inside the root like everything else, so
                // a link can only ever point at a file in this tree.
                let sfd = self
                    .root
                    .open_dir(&src_parent)
                    .map_err(|e| self.root.err("resolving hard link target", &src, e))?;
                if src == rel {
                    return Ok(());
                }
                replace(p, name).map_err(err("replacing"))?;
                rustix::fs::linkat(&sfd, src_name, p, name, AtFlags::empty())
                    .map_err(|e| self.root.err("hard-linking", &src, e))?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let (ft, dev) = match kind {
                    EntryType::Char => (FileType::CharacterDevice, dev(&entry)),
                    EntryType::Block => (FileType::BlockDevice, dev(&entry)),
                    _ => (FileType::Fifo, 0),
                };
                replace(p, name).map_err(err("replacing"))?;
                rustix::fs::mknodat(p, name, ft, Mode::from_raw_mode(0o600), dev)
                    .map_err(err("creating device node"))?;
                if self.opts.chown {
                    rustix::fs::chownat(
                        p,
                        name,
                        Some(uid(meta.uid)),
                        Some(gid(meta.gid)),
                        AtFlags::SYMLINK_NOFOLLOW,
                    )
                    .map_err(err("changing owner of"))?;
                }
                // The node was just created here and is not a symlink, so chmodat (which
                // cannot take NOFOLLOW on Linux) touches only it.
                rustix::fs::chmodat(p, name, Mode::from_raw_mode(meta.mode), AtFlags::empty())
                    .map_err(err("changing mode of"))?;
                set_times_at(p, name, meta.mtime).map_err(err("setting times on"))?;
            }
            other => {
                return Err(unsafe_entry(&format!(
                    "unsupported tar entry type {other:?}"
                )));
            }
        }
        if self.opts.mode == ApplyMode::Flat {
            self.written.insert(rel);
        }
        Ok(())
    }

    fn whiteout(&mut self, parent: &Rel, name: &OsStr, shown: &str) -> Result<()> {
        let pfd = self.root.ensure_dir(parent)?;
        let p = pfd.as_fd();
        if name == OPAQUE {
            match self.opts.mode {
                ApplyMode::Overlay => {
                    let dir = reopen(p, OsStr::new("."), true)
                        .map_err(|e| self.root.err("opening", parent, e))?;
                    rustix::fs::fsetxattr(
                        &dir,
                        self.opts.opaque_xattr(),
                        b"y",
                        XattrFlags::empty(),
                    )
                    .map_err(|e| self.root.err("marking opaque", parent, e))?;
                }
                ApplyMode::Flat => {
                    let dir = reopen(p, OsStr::new("."), true)
                        .map_err(|e| self.root.err("opening", parent, e))?;
                    for child in
                        children(dir.as_fd()).map_err(|e| self.root.err("listing", parent, e))?
                    {
                        if !self.written.contains(&parent.join(&child)) {
                            remove_all_at(dir.as_fd(), &child)
                                .map_err(|e| self.root.err("removing", &parent.join(&child), e))?;
                        }
                    }
                }
            }
            return Ok(());
        }
        let hidden = OsStr::from_bytes(&name.as_bytes()[WHITEOUT_PREFIX.len()..]);
        if hidden.is_empty() || hidden == "." || hidden == ".." {
            return Err(Error::UnsafeEntry {
                entry: shown.to_owned(),
                reason: "whiteout of no name".to_owned(),
            });
        }
        let rel = parent.join(hidden);
        remove_all_at(p, hidden).map_err(|e| self.root.err("removing", &rel, e))?;
        if self.opts.mode == ApplyMode::Overlay {
            // overlayfs's whiteout: a 0/0 character device with the hidden name.
            rustix::fs::mknodat(p, hidden, FileType::CharacterDevice, Mode::empty(), 0)
                .map_err(|e| self.root.err("creating whiteout", &rel, e))?;
        }
        Ok(())
    }

    fn set_meta(&self, fd: BorrowedFd<'_>, rel: &Rel, meta: &Meta) -> Result<()> {
        let err = |op: &'static str| move |e: Errno| self.root.err(op, rel, e);
        if self.opts.chown {
            rustix::fs::fchown(fd, Some(uid(meta.uid)), Some(gid(meta.gid)))
                .map_err(err("changing owner of"))?;
        }
        // After chown: chown clears setuid/setgid bits.
        rustix::fs::fchmod(fd, Mode::from_raw_mode(meta.mode)).map_err(err("changing mode of"))?;
        for (name, value) in &meta.xattrs {
            match rustix::fs::fsetxattr(fd, name.as_str(), value, XattrFlags::empty()) {
                // The filesystem cannot store it (e.g. security.* on some); Docker ignores too.
                Ok(()) | Err(Errno::NOTSUP) => {}
                Err(e) => return Err(err("setting extended attribute on")(e)),
            }
        }
        Ok(())
    }

    /// Sets directory mtimes last, deepest first.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.dir_times
            .sort_by_key(|d| std::cmp::Reverse(d.0.0.len()));
        for (rel, mtime) in &self.dir_times {
            let Some((parent, name)) = rel.split_last() else {
                continue;
            };
            let Ok(pfd) = self.root.open_dir(&parent) else {
                continue;
            };
            // The directory may have been removed or replaced by a later entry.
            match set_times_at(pfd.as_fd(), name, *mtime) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => return Err(self.root.err("setting times on", rel, e)),
            }
        }
        Ok(())
    }
}

fn tar_err(entry: &str, source: std::io::Error) -> Error {
    if source.get_ref().is_some_and(|e| e.is::<Error>()) {
        return crate::digest::from_io(source);
    }
    Error::Tar {
        entry: entry.to_owned(),
        source,
    }
}

fn id(v: std::io::Result<u64>, raw: &[u8], entry: &str) -> Result<u32> {
    // An empty field means 0, as Go's archive/tar (and so Docker) reads it.
    if raw.iter().all(|b| *b == 0 || *b == b' ') {
        return Ok(0);
    }
    let v = v.map_err(|e| tar_err(entry, e))?;
    match u32::try_from(v) {
        // -1 means "no change" to chown; never an owner.
        Ok(v) if v != u32::MAX => Ok(v),
        _ => Err(Error::UnsafeEntry {
            entry: entry.to_owned(),
            reason: format!("owner id {v} out of range"),
        }),
    }
}

fn uid(v: u32) -> Uid {
    Uid::from_raw(v)
}

fn gid(v: u32) -> Gid {
    Gid::from_raw(v)
}

fn dev<R: Read>(entry: &tar::Entry<'_, R>) -> u64 {
    let h = entry.header();
    let major = h.device_major().ok().flatten().unwrap_or(0);
    let minor = h.device_minor().ok().flatten().unwrap_or(0);
    rustix::fs::makedev(major, minor)
}

/// `SCHILY.xattr.*` PAX records, minus overlayfs's own attributes: a layer that could set
/// `trusted.overlay.redirect` or `.metacopy` would make overlayfs look up other paths.
fn xattrs<R: Read>(entry: &mut tar::Entry<'_, R>, shown: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    if let Some(exts) = entry.pax_extensions().map_err(|e| tar_err(shown, e))? {
        for ext in exts {
            let ext = ext.map_err(|e| tar_err(shown, e))?;
            let Ok(key) = ext.key() else { continue };
            if let Some(name) = key.strip_prefix("SCHILY.xattr.")
                && !name.starts_with("trusted.overlay.")
                && !name.starts_with("user.overlay.")
            {
                out.push((name.to_owned(), ext.value_bytes().to_vec()));
            }
        }
    }
    Ok(out)
}

/// Removes whatever is at `name` so a new entry can take its place; an existing directory is
/// removed with its contents, as a non-directory entry replaces it in the layer model.
fn replace(dir: BorrowedFd<'_>, name: &OsStr) -> std::result::Result<(), Errno> {
    remove_all_at(dir, name)
}

/// Opens `name` in `dir` for metadata changes without following a symlink.
fn reopen(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    directory: bool,
) -> std::result::Result<OwnedFd, Errno> {
    let mut flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    if directory {
        flags |= OFlags::DIRECTORY;
    }
    rustix::fs::openat(dir, name, flags, Mode::empty())
}

fn times(mtime: u64) -> Timestamps {
    let t = Timespec {
        tv_sec: i64::try_from(mtime).unwrap_or(i64::MAX),
        tv_nsec: 0,
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

fn set_times_fd(fd: BorrowedFd<'_>, mtime: u64) -> std::result::Result<(), Errno> {
    rustix::fs::futimens(fd, &times(mtime))
}

fn set_times_at(dir: BorrowedFd<'_>, name: &OsStr, mtime: u64) -> std::result::Result<(), Errno> {
    rustix::fs::utimensat(dir, name, &times(mtime), AtFlags::SYMLINK_NOFOLLOW)
}
