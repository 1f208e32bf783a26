//! `docker diff`: what a container changed, as A (added), C (changed) and
//! D (deleted) paths.
//!
//! With overlayfs the answer is in the upper directory: whiteouts are
//! deletions, opaque directories hide everything below, other entries are
//! additions or changes depending on whether a lower layer has the path.
//! For a copied rootfs the merged tree is compared with the layers.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::Store;
use crate::copy::{is_opaque, is_whiteout};
use crate::error::Result;

/// Kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// Modified (or a directory whose content changed).
    Changed,
    /// New.
    Added,
    /// Removed.
    Deleted,
}

impl ChangeKind {
    /// Docker's letter: `A`, `C` or `D`.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Changed => 'C',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// One changed path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// Absolute path inside the container (`/etc/hosts`).
    pub path: String,
    /// What happened to it.
    pub kind: ChangeKind,
}

/// The union of the lowers (top first) seen at one relative path.
struct Lowers<'a> {
    top_first: &'a [PathBuf],
}

impl Lowers<'_> {
    /// Metadata of `rel` as the stacked lowers show it.
    fn lookup(&self, rel: &Path) -> Option<std::fs::Metadata> {
        for lower in self.top_first {
            match fs_err::symlink_metadata(lower.join(rel)) {
                Ok(m) if is_whiteout(&m) => return None,
                Ok(m) => return Some(m),
                Err(_) => {
                    // Hidden below an opaque directory of this layer?
                    if rel
                        .ancestors()
                        .skip(1)
                        .any(|a| !a.as_os_str().is_empty() && is_opaque(&lower.join(a)))
                    {
                        return None;
                    }
                }
            }
        }
        None
    }

    /// Names of a directory's entries in the stacked lowers.
    fn children(&self, rel: &Path) -> BTreeSet<OsString> {
        let mut seen = BTreeSet::new();
        let mut hidden = BTreeSet::new();
        for lower in self.top_first {
            let dir = lower.join(rel);
            match fs_err::symlink_metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => break,
                Err(_) => continue,
            }
            if let Ok(rd) = fs_err::read_dir(&dir) {
                for e in rd.flatten() {
                    let name = e.file_name();
                    if hidden.contains(&name) {
                        continue;
                    }
                    match e.metadata() {
                        Ok(m) if is_whiteout(&m) => {
                            hidden.insert(name);
                        }
                        Ok(m) => {
                            if !m.is_dir() {
                                // A file hides the same name further down.
                                hidden.insert(name.clone());
                            }
                            seen.insert(name);
                        }
                        Err(_) => {}
                    }
                }
            }
            if is_opaque(&dir) {
                break;
            }
        }
        seen
    }
}

fn abs(rel: &Path) -> String {
    format!("/{}", rel.display())
}

/// Diff of an overlay upper directory against its lowers.
fn diff_upper(upper: &Path, lowers: &Lowers<'_>, rel: &Path, out: &mut Vec<Change>) -> Result<()> {
    for entry in fs_err::read_dir(upper.join(rel))? {
        let entry = entry?;
        let child = rel.join(entry.file_name());
        let meta = fs_err::symlink_metadata(entry.path())?;
        if is_whiteout(&meta) {
            out.push(Change {
                path: abs(&child),
                kind: ChangeKind::Deleted,
            });
            continue;
        }
        let in_lower = lowers.lookup(&child);
        let kind = if in_lower.is_some() {
            ChangeKind::Changed
        } else {
            ChangeKind::Added
        };
        out.push(Change {
            path: abs(&child),
            kind,
        });
        if meta.is_dir() {
            diff_upper(upper, lowers, &child, out)?;
            if in_lower.as_ref().is_some_and(std::fs::Metadata::is_dir) && is_opaque(&entry.path())
            {
                for name in lowers.children(&child) {
                    if fs_err::symlink_metadata(entry.path().join(&name)).is_err() {
                        out.push(Change {
                            path: abs(&child.join(name)),
                            kind: ChangeKind::Deleted,
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

fn same(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.mode() == b.mode()
        && a.uid() == b.uid()
        && a.gid() == b.gid()
        && a.mtime() == b.mtime()
        && a.mtime_nsec() == b.mtime_nsec()
        && (a.is_dir() || a.size() == b.size())
        && a.rdev() == b.rdev()
}

/// Diff of a copied rootfs against its lowers.
fn diff_copy(merged: &Path, lowers: &Lowers<'_>, rel: &Path, out: &mut Vec<Change>) -> Result<()> {
    let dir = merged.join(rel);
    let mut present = BTreeSet::new();
    for entry in fs_err::read_dir(&dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let child = rel.join(&name);
        present.insert(name);
        let meta = fs_err::symlink_metadata(entry.path())?;
        match lowers.lookup(&child) {
            None => {
                out.push(Change {
                    path: abs(&child),
                    kind: ChangeKind::Added,
                });
                if meta.is_dir() {
                    diff_copy(merged, &Lowers { top_first: &[] }, &child, out)?;
                }
            }
            Some(lower) => {
                let changed = !same(&meta, &lower) || meta.is_dir() != lower.is_dir();
                if changed {
                    out.push(Change {
                        path: abs(&child),
                        kind: ChangeKind::Changed,
                    });
                }
                if meta.is_dir() {
                    if lower.is_dir() {
                        diff_copy(merged, lowers, &child, out)?;
                    } else {
                        diff_copy(merged, &Lowers { top_first: &[] }, &child, out)?;
                    }
                }
            }
        }
    }
    for name in lowers.children(rel) {
        if !present.contains(&name) {
            out.push(Change {
                path: abs(&rel.join(name)),
                kind: ChangeKind::Deleted,
            });
        }
    }
    Ok(())
}

impl Store {
    /// What the container changed relative to its layers `lower_chain`
    /// (base first), sorted by path.
    pub fn diff_paths<S: AsRef<str>>(
        &self,
        container_id: &str,
        lower_chain: &[S],
    ) -> Result<Vec<Change>> {
        let dir = self.container_dir(container_id)?;
        let mut lowers = Vec::with_capacity(lower_chain.len());
        for chain in lower_chain.iter().rev() {
            lowers.push(self.snapshot_path(chain.as_ref())?);
        }
        let view = Lowers { top_first: &lowers };
        let mut out = Vec::new();
        if self.rootfs_is_copy(container_id)? {
            diff_copy(&dir.join("merged"), &view, Path::new(""), &mut out)?;
        } else {
            let upper = dir.join("upper");
            if upper.is_dir() {
                diff_upper(&upper, &view, Path::new(""), &mut out)?;
            }
        }
        out.sort();
        Ok(out)
    }
}
