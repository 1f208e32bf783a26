//! A read-only view of an image's root filesystem made of its snapshot directories
//! (top layer first), without mounting anything: look a path up, resolve symlinks inside
//! the root, read a file, list a directory's merged children. Overlay whiteouts (0/0
//! character devices) hide what is below; opaque directories stop the descent.

use std::collections::BTreeMap;
use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Snapshot directories, top layer first.
#[derive(Debug, Clone, Default)]
pub struct Lowers {
    top_first: Vec<PathBuf>,
}

fn is_whiteout(m: &Metadata) -> bool {
    m.file_type().is_char_device() && m.rdev() == 0
}

fn is_opaque(p: &std::path::Path) -> bool {
    matches!(xattr::get(p, "trusted.overlay.opaque"), Ok(Some(v)) if v == b"y")
}

/// Splits a path into its normal components (`..` clamped at the root).
pub fn components(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c.to_owned()),
        }
    }
    out
}

impl Lowers {
    /// A view of `top_first`.
    pub fn new(top_first: Vec<PathBuf>) -> Lowers {
        Lowers { top_first }
    }

    /// The host path and metadata of `rel` (components, no symlinks followed), if present.
    pub fn lstat(&self, rel: &[String]) -> Option<(PathBuf, Metadata)> {
        'layers: for layer in &self.top_first {
            // An opaque or non-directory parent in this layer hides the layers below.
            let mut dir = layer.clone();
            for (i, c) in rel.iter().enumerate() {
                let p = dir.join(c);
                match fs_err::symlink_metadata(&p) {
                    Ok(m) if is_whiteout(&m) => return None,
                    Ok(m) if i + 1 == rel.len() => return Some((p, m)),
                    Ok(m) if m.is_dir() => {
                        if is_opaque(&p) {
                            // Deeper components must come from this layer only.
                            let rest: PathBuf = rel[i + 1..].iter().collect();
                            let q = p.join(rest);
                            return fs_err::symlink_metadata(&q)
                                .ok()
                                .filter(|m| !is_whiteout(m))
                                .map(|m| (q, m));
                        }
                        dir = p;
                    }
                    Ok(_) => return None,
                    Err(_) => continue 'layers,
                }
            }
            if rel.is_empty() {
                return fs_err::symlink_metadata(layer)
                    .ok()
                    .map(|m| (layer.clone(), m));
            }
        }
        None
    }

    /// Resolves `path` inside the root, following symlinks in every component (and in
    /// the last one when `follow_last`); the result never leaves the root.
    pub fn resolve(&self, path: &str, follow_last: bool) -> Vec<String> {
        let mut todo: Vec<String> = components(path).into_iter().rev().collect();
        let mut done: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(c) = todo.pop() {
            if c == ".." {
                done.pop();
                continue;
            }
            done.push(c);
            let last = todo.is_empty();
            if last && !follow_last {
                break;
            }
            if let Some((p, m)) = self.lstat(&done)
                && m.file_type().is_symlink()
                && hops < 40
            {
                hops += 1;
                done.pop();
                if let Ok(target) = fs_err::read_link(&p) {
                    let t = target.to_string_lossy().into_owned();
                    if t.starts_with('/') {
                        done.clear();
                    }
                    for part in t.split('/').rev() {
                        if !part.is_empty() && part != "." {
                            todo.push(part.to_owned());
                        }
                    }
                }
            }
        }
        done
    }

    /// The bytes of a file, following symlinks inside the root.
    pub fn read(&self, path: &str) -> Option<Vec<u8>> {
        let rel = self.resolve(path, true);
        let (p, m) = self.lstat(&rel)?;
        if !m.is_file() {
            return None;
        }
        fs_err::read(p).ok()
    }

    /// The merged children of directory `rel`: name → (host path, metadata).
    pub fn children(&self, rel: &[String]) -> Result<BTreeMap<String, (PathBuf, Metadata)>> {
        let mut out = BTreeMap::new();
        let mut hidden = std::collections::BTreeSet::new();
        for layer in &self.top_first {
            let dir: PathBuf = std::iter::once(layer.clone())
                .chain(rel.iter().map(PathBuf::from))
                .collect();
            let Ok(m) = fs_err::symlink_metadata(&dir) else {
                continue;
            };
            if !m.is_dir() {
                break;
            }
            let rd = fs_err::read_dir(&dir).map_err(|e| Error::io(dir.clone(), e))?;
            for entry in rd {
                let entry = entry.map_err(|e| Error::io(dir.clone(), e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if out.contains_key(&name) || hidden.contains(&name) {
                    continue;
                }
                let p = entry.path();
                let m = fs_err::symlink_metadata(&p).map_err(|e| Error::io(p.clone(), e))?;
                if is_whiteout(&m) {
                    hidden.insert(name);
                } else {
                    out.insert(name, (p, m));
                }
            }
            if is_opaque(&dir) {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_follow_layers_and_symlinks() {
        let base = tempfile::tempdir().unwrap();
        let top = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(base.path().join("usr/bin")).unwrap();
        fs_err::write(base.path().join("usr/bin/a"), "a").unwrap();
        std::os::unix::fs::symlink("usr/bin", base.path().join("bin")).unwrap();
        fs_err::create_dir_all(top.path().join("usr/bin")).unwrap();
        fs_err::write(top.path().join("usr/bin/b"), "b").unwrap();
        let l = Lowers::new(vec![top.path().into(), base.path().into()]);
        assert_eq!(l.resolve("/bin/a", true), ["usr", "bin", "a"]);
        assert_eq!(l.resolve("/bin/../etc", true), ["etc"]);
        assert_eq!(l.read("/bin/a").unwrap(), b"a");
        let names: Vec<String> = l
            .children(&components("/usr/bin"))
            .unwrap()
            .into_keys()
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert!(l.lstat(&components("/nope")).is_none());
    }

    #[test]
    fn components_clamp_at_root() {
        assert_eq!(components("/../a/./b/../c"), ["a", "c"]);
    }
}
