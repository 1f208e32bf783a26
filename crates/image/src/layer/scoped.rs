//! Path resolution that cannot leave a root directory.
//!
//! Every lookup goes through `openat2(2)` with `RESOLVE_IN_ROOT`: `..` stops at the root and
//! symlinks, absolute or relative, resolve as if the root were `/`. A layer with `a -> /etc`
//! followed by `a/passwd` therefore writes `<root>/etc/passwd`, never the host's file
//! (the class of bug behind CVE-2018-15664 and CVE-2019-14271). The last component of a
//! path is always handled with `*at` calls and `NOFOLLOW`, so nothing is written through a
//! symlink.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::error::{Error, Result};

/// A tar path made safe: no empty, `.` or `..` components, relative to the root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Rel(pub Vec<OsString>);

impl Rel {
    /// Cleans a path from an archive lexically: a leading `/` and `.` components are
    /// dropped, `..` removes the previous component. A `..` that would climb above the
    /// root is refused.
    pub(crate) fn clean(raw: &[u8]) -> std::result::Result<Self, &'static str> {
        let mut out: Vec<OsString> = Vec::new();
        for c in raw.split(|b| *b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => {
                    if out.pop().is_none() {
                        return Err("path climbs out of the layer with `..`");
                    }
                }
                c => out.push(OsStr::from_bytes(c).to_os_string()),
            }
        }
        Ok(Self(out))
    }

    /// The parent and the last component (`None` for the root itself).
    pub(crate) fn split_last(&self) -> Option<(Rel, &OsStr)> {
        let (last, parent) = self.0.split_last()?;
        Some((Rel(parent.to_vec()), last.as_os_str()))
    }

    pub(crate) fn join(&self, name: &OsStr) -> Rel {
        let mut v = self.0.clone();
        v.push(name.to_os_string());
        Rel(v)
    }

    pub(crate) fn to_path(&self) -> PathBuf {
        if self.0.is_empty() {
            PathBuf::from(".")
        } else {
            self.0.iter().collect()
        }
    }
}

/// An open root directory; all operations stay inside it.
pub(crate) struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

impl Root {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let fd = rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::Path {
            op: "opening layer target",
            path: path.to_path_buf(),
            source: e.into(),
        })?;
        Ok(Self {
            fd,
            path: path.to_path_buf(),
        })
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn err(&self, op: &'static str, rel: &Rel, e: Errno) -> Error {
        let source = if e == Errno::NOSYS {
            std::io::Error::other("openat2 is not available (Linux 5.6 or newer is needed)")
        } else {
            e.into()
        };
        Error::Path {
            op,
            path: self.path.join(rel.to_path()),
            source,
        }
    }

    /// Opens directory `rel` (resolved inside the root) as an `O_PATH` handle.
    pub(crate) fn open_dir(&self, rel: &Rel) -> std::result::Result<OwnedFd, Errno> {
        rustix::fs::openat2(
            &self.fd,
            rel.to_path(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            RESOLVE,
        )
    }

    /// Opens regular file `rel` for reading, symlinks resolved inside the root.
    pub(crate) fn open_file(&self, rel: &Rel) -> Result<std::fs::File> {
        rustix::fs::openat2(
            &self.fd,
            rel.to_path(),
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
            RESOLVE,
        )
        .map(std::fs::File::from)
        .map_err(|e| self.err("opening", rel, e))
    }

    /// Opens directory `rel`, creating missing components (mode 0755, owned by us) first.
    pub(crate) fn ensure_dir(&self, rel: &Rel) -> Result<OwnedFd> {
        match self.open_dir(rel) {
            Ok(fd) => Ok(fd),
            Err(Errno::NOENT) => {
                let Some((parent, name)) = rel.split_last() else {
                    return Err(self.err("opening", rel, Errno::NOENT));
                };
                let pfd = self.ensure_dir(&parent)?;
                match rustix::fs::mkdirat(&pfd, name, Mode::from_raw_mode(0o755)) {
                    Ok(()) => self.open_dir(rel).map_err(|e| self.err("opening", rel, e)),
                    // Something is there yet does not resolve to a directory: a symlink whose
                    // target is missing inside the root. Creating that target would mean
                    // guessing; refuse instead.
                    Err(Errno::EXIST) => self.open_dir(rel).map_err(|e| Error::UnsafeEntry {
                        entry: rel.to_path().display().to_string(),
                        reason: format!(
                            "it is a symlink whose target is not a directory inside the layer ({e})"
                        ),
                    }),
                    Err(e) => Err(self.err("creating directory", rel, e)),
                }
            }
            Err(e) => Err(self.err("opening", rel, e)),
        }
    }
}

/// Removes `name` in `dir` without following symlinks: a directory with everything in it,
/// anything else with `unlink`. Missing is fine.
pub(crate) fn remove_all_at(dir: BorrowedFd<'_>, name: &OsStr) -> std::result::Result<(), Errno> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(e),
        Ok(st)
            if rustix::fs::FileType::from_raw_mode(st.st_mode)
                == rustix::fs::FileType::Directory =>
        {
            let sub = rustix::fs::openat(
                dir,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            for child in children(sub.as_fd())? {
                remove_all_at(sub.as_fd(), &child)?;
            }
            rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)
        }
        Ok(_) => rustix::fs::unlinkat(dir, name, AtFlags::empty()),
    }
}

/// The names in a directory, without `.` and `..`.
pub(crate) fn children(dir: BorrowedFd<'_>) -> std::result::Result<Vec<OsString>, Errno> {
    let mut out = Vec::new();
    let d = rustix::fs::Dir::read_from(dir)?;
    for entry in d {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            out.push(OsStr::from_bytes(name).to_os_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_table() {
        let ok: &[(&str, &[&str])] = &[
            ("a/b", &["a", "b"]),
            ("./a/./b/", &["a", "b"]),
            ("/etc/passwd", &["etc", "passwd"]),
            ("a/../b", &["b"]),
            ("a/b/../../c", &["c"]),
            ("./", &[]),
            ("", &[]),
        ];
        for (raw, want) in ok {
            let got = Rel::clean(raw.as_bytes()).unwrap();
            let want: Vec<OsString> = want.iter().map(OsString::from).collect();
            assert_eq!(got.0, want, "{raw}");
        }
        for raw in ["..", "../x", "a/../../x", "./../../etc/shadow", "/../x"] {
            assert!(Rel::clean(raw.as_bytes()).is_err(), "{raw}");
        }
    }
}
