//! Apparent size of a directory tree, as `system df` and the prune reports count it.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

/// Sum of the sizes of the regular files and symlinks under `path`, each inode counted
/// once (hard links share their data), without following symlinks or crossing into
/// other filesystems. Unreadable entries count as 0: the figure is a report, not a check.
pub fn tree_size(path: &Path) -> u64 {
    let Ok(root) = fs_err::symlink_metadata(path) else {
        return 0;
    };
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = fs_err::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else {
                continue;
            };
            if m.is_dir() {
                if m.dev() == root.dev() {
                    stack.push(e.path());
                }
            } else if m.nlink() <= 1 || seen.insert((m.dev(), m.ino())) {
                total += m.len();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn counts_files_once_and_skips_symlink_targets() {
        let d = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(d.path().join("a/b")).unwrap();
        fs_err::write(d.path().join("a/one"), vec![0u8; 1000]).unwrap();
        fs_err::write(d.path().join("a/b/two"), vec![0u8; 234]).unwrap();
        fs_err::hard_link(d.path().join("a/one"), d.path().join("a/b/link")).unwrap();
        std::os::unix::fs::symlink("/usr", d.path().join("a/usr")).unwrap();
        // The symlink itself counts its target's length ("/usr" = 4 bytes).
        assert_eq!(tree_size(d.path()), 1000 + 234 + 4);
        assert_eq!(tree_size(&d.path().join("missing")), 0);
    }
}
