//! Container rootfs: overlay with whiteouts, the copy fallback, diffs.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use berth_store::{ChangeKind, RootfsMode, Store, StoreOptions};
use nix::sys::stat::{Mode, SFlag, mknod};

use crate::common::{hex_id, is_root, layer};

/// Unmounts the rootfs even when an assertion fails.
struct MountGuard<'a> {
    store: &'a Store,
    id: String,
}

impl Drop for MountGuard<'_> {
    fn drop(&mut self) {
        let _ = self.store.unmount_rootfs(&self.id);
    }
}

/// Two layers: the lower has /a/x, /b, /keep, /dev/null-like fifo; the top
/// adds /a/y and /c, hardlinks /c to /c2 and deletes /keep with a whiteout.
fn two_layers(store: &Store) -> Vec<String> {
    let mut diffs = Vec::new();
    let c1 = layer(store, &mut diffs, "lower", |fs| {
        fs_err::create_dir(fs.join("a")).unwrap();
        fs_err::write(fs.join("a/x"), "1").unwrap();
        fs_err::write(fs.join("b"), "b").unwrap();
        fs_err::write(fs.join("keep"), "doomed").unwrap();
        fs_err::create_dir(fs.join("opaque")).unwrap();
        fs_err::write(fs.join("opaque/hidden"), "h").unwrap();
        std::os::unix::fs::symlink("a/x", fs.join("link")).unwrap();
        mknod(
            &fs.join("fifo"),
            SFlag::S_IFIFO,
            Mode::from_bits_truncate(0o640),
            0,
        )
        .unwrap();
        std::os::unix::fs::lchown(fs.join("b"), Some(1000), Some(1000)).unwrap();
    });
    let c2 = layer(store, &mut diffs, "upper", |fs| {
        fs_err::create_dir(fs.join("a")).unwrap();
        fs_err::write(fs.join("a/y"), "2").unwrap();
        fs_err::write(fs.join("c"), "c").unwrap();
        fs_err::hard_link(fs.join("c"), fs.join("c2")).unwrap();
        mknod(&fs.join("keep"), SFlag::S_IFCHR, Mode::empty(), 0).unwrap();
        fs_err::create_dir(fs.join("opaque")).unwrap();
        xattr::set(fs.join("opaque"), "trusted.overlay.opaque", b"y").unwrap();
        fs_err::write(fs.join("opaque/new"), "n").unwrap();
        xattr::set(fs.join("c"), "user.note", b"kept").unwrap();
    });
    vec![c1, c2]
}

/// (path, kind letter, content or link target, uid) for every entry below `root`.
fn view(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    for e in fs_err::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let m = fs_err::symlink_metadata(&p).unwrap();
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        let desc = if m.is_dir() {
            walk(root, &p, out);
            format!("dir {:o}", m.mode() & 0o7777)
        } else if m.file_type().is_symlink() {
            format!("link {}", fs_err::read_link(&p).unwrap().display())
        } else if m.is_file() {
            let note = xattr::get(&p, "user.note")
                .unwrap()
                .map(|v| String::from_utf8(v).unwrap());
            format!(
                "file {} uid {} nlink {} note {note:?}",
                fs_err::read_to_string(&p).unwrap(),
                m.uid(),
                m.nlink()
            )
        } else {
            format!("other {:o} rdev {}", m.mode(), m.rdev())
        };
        out.push((rel, desc));
    }
}

fn change_view(store: &Store, id: &str, chain: &[String]) -> Vec<String> {
    store
        .diff_paths(id, chain)
        .unwrap()
        .into_iter()
        .map(|c| format!("{} {}", c.kind.letter(), c.path))
        .collect()
}

/// Writes through the rootfs the way a container would.
fn modify(rootfs: &Path) {
    fs_err::write(rootfs.join("a/x"), "changed").unwrap();
    fs_err::write(rootfs.join("a/z"), "new").unwrap();
    fs_err::remove_file(rootfs.join("b")).unwrap();
    fs_err::write(rootfs.join("new"), "n").unwrap();
}

const EXPECTED_DIFF: &[&str] = &["C /a", "C /a/x", "A /a/z", "D /b", "A /new"];

fn expected_view() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = [
        ("a", "dir 755"),
        ("a/x", "file 1 uid 0 nlink 1 note None"),
        ("a/y", "file 2 uid 0 nlink 1 note None"),
        ("b", "file b uid 1000 nlink 1 note None"),
        ("c", "file c uid 0 nlink 2 note Some(\"kept\")"),
        ("c2", "file c uid 0 nlink 2 note Some(\"kept\")"),
        ("fifo", "other 10640 rdev 0"),
        ("link", "link a/x"),
        ("opaque", "dir 755"),
        ("opaque/new", "file n uid 0 nlink 1 note None"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    v.sort();
    v
}

fn run_mode(mode: RootfsMode) -> (Vec<(String, String)>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(
        dir.path(),
        StoreOptions {
            rootfs_mode: mode,
            ..Default::default()
        },
    )
    .unwrap();
    let chain = two_layers(&store);
    let id = hex_id("f", 1);
    let guard = MountGuard {
        store: &store,
        id: id.clone(),
    };
    let rootfs = store.mount_rootfs(&id, &chain).unwrap();
    assert_eq!(store.rootfs_is_copy(&id).unwrap(), mode == RootfsMode::Copy);
    // Mounting again is idempotent.
    assert_eq!(store.mount_rootfs(&id, &chain).unwrap(), rootfs);
    let before = view(&rootfs);
    modify(&rootfs);
    let diff = change_view(&store, &id, &chain);
    // Lower snapshots are untouched by writes through the rootfs.
    assert_eq!(
        fs_err::read_to_string(store.snapshot_path(&chain[0]).unwrap().join("a/x")).unwrap(),
        "1"
    );
    store.unmount_rootfs(&id).unwrap();
    drop(guard);
    if mode == RootfsMode::Overlay {
        // Unmounted: merged is an empty directory again; the changes live in upper.
        assert!(fs_err::read_dir(&rootfs).unwrap().next().is_none());
        assert_eq!(
            fs_err::read_to_string(store.container_dir(&id).unwrap().join("upper/new")).unwrap(),
            "n"
        );
        // The diff does not need the mount.
        assert_eq!(change_view(&store, &id, &chain), diff);
    }
    (before, diff)
}

#[test]
fn overlay_mount_shows_merged_view_and_diff() {
    if !is_root() {
        eprintln!(
            "skipping overlay_mount_shows_merged_view_and_diff: needs root to mount overlayfs"
        );
        return;
    }
    let (view, diff) = run_mode(RootfsMode::Overlay);
    assert_eq!(view, expected_view());
    assert_eq!(diff, EXPECTED_DIFF);
}

#[test]
fn copy_fallback_gives_the_same_view_and_diff() {
    if !is_root() {
        eprintln!(
            "skipping copy_fallback_gives_the_same_view_and_diff: needs root for whiteouts and chown"
        );
        return;
    }
    let (view, diff) = run_mode(RootfsMode::Copy);
    assert_eq!(view, expected_view());
    assert_eq!(diff, EXPECTED_DIFF);
}

#[test]
fn opaque_and_whiteout_changes_in_upper_are_reported() {
    if !is_root() {
        eprintln!("skipping: needs root to mount overlayfs");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(
        dir.path(),
        StoreOptions {
            rootfs_mode: RootfsMode::Overlay,
            ..Default::default()
        },
    )
    .unwrap();
    let chain = two_layers(&store);
    let id = hex_id("f", 2);
    let _guard = MountGuard {
        store: &store,
        id: id.clone(),
    };
    let rootfs = store.mount_rootfs(&id, &chain).unwrap();
    // Replacing a lower directory makes overlay mark the new one opaque.
    fs_err::remove_dir_all(rootfs.join("a")).unwrap();
    fs_err::create_dir(rootfs.join("a")).unwrap();
    fs_err::write(rootfs.join("a/only"), "o").unwrap();
    let diff = change_view(&store, &id, &chain);
    assert_eq!(diff, vec!["C /a", "A /a/only", "D /a/x", "D /a/y"]);
}

#[test]
fn remove_container_unmounts_and_deletes_its_dir() {
    if !is_root() {
        eprintln!("skipping: needs root to mount overlayfs");
        return;
    }
    let t = crate::common::store();
    let chain = two_layers(&t.store);
    let id = hex_id("f", 3);
    t.store
        .create_container(&berth_store::NewContainer {
            id: id.clone(),
            name: "mounted".into(),
            image_ref: "x".into(),
            config: "{}".into(),
            layers: Some(chain.clone()),
            ..Default::default()
        })
        .unwrap();
    let _guard = MountGuard {
        store: &t.store,
        id: id.clone(),
    };
    let rootfs = t
        .store
        .mount_rootfs(&id, &t.store.container_layers(&id).unwrap())
        .unwrap();
    assert!(rootfs.join("a/x").exists());
    assert!(matches!(
        t.store.remove_snapshot(&chain[1]),
        Err(berth_store::Error::SnapshotInUse { .. })
    ));
    t.store.remove_container(&id).unwrap();
    assert!(!t.store.container_dir(&id).unwrap().exists());
    let mounts = fs_err::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&id), "overlay still mounted");
    t.store.remove_snapshot(&chain[1]).unwrap();
}

#[test]
fn scratch_rootfs_without_layers() {
    if !is_root() {
        eprintln!("skipping: needs root to mount overlayfs");
        return;
    }
    let t = crate::common::store();
    let id = hex_id("f", 4);
    let _guard = MountGuard {
        store: &t.store,
        id: id.clone(),
    };
    let rootfs = t.store.mount_rootfs::<String>(&id, &[]).unwrap();
    fs_err::write(rootfs.join("hello"), "hi").unwrap();
    let diff = t.store.diff_paths::<String>(&id, &[]).unwrap();
    assert_eq!(diff.len(), 1);
    assert_eq!(diff[0].kind, ChangeKind::Added);
    assert_eq!(diff[0].path, "/hello");
}

/// 100 layers: their full paths overflow mount(2)'s one-page option limit,
/// so this needs `lowerdir+` (new mount API) or the `l/` short links.
fn deep_image_mounts(classic: bool) {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        rootfs_mode: RootfsMode::Overlay,
        classic_mount: classic,
    };
    let store = Store::open_with(dir.path(), options).unwrap();
    let mut diffs = Vec::new();
    let mut chain = Vec::new();
    for i in 0..100 {
        chain.push(layer(&store, &mut diffs, &format!("deep{i}"), |fs| {
            fs_err::write(fs.join(format!("f{i}")), i.to_string()).unwrap();
            fs_err::write(fs.join("shared"), i.to_string()).unwrap();
        }));
    }
    let full_len: usize = chain
        .iter()
        .map(|c| store.snapshot_path(c).unwrap().as_os_str().len() + 1)
        .sum();
    assert!(
        full_len > 4096,
        "the test must exceed the page limit ({full_len})"
    );
    let id = hex_id("d", if classic { 1 } else { 2 });
    let _guard = MountGuard {
        store: &store,
        id: id.clone(),
    };
    let rootfs = store.mount_rootfs(&id, &chain).unwrap();
    assert_eq!(
        fs_err::read_to_string(rootfs.join("shared")).unwrap(),
        "99",
        "top layer wins"
    );
    for i in 0..100 {
        assert_eq!(
            fs_err::read_to_string(rootfs.join(format!("f{i}"))).unwrap(),
            i.to_string()
        );
    }
    assert_eq!(
        store.root().join("l").read_dir().unwrap().count(),
        if classic { 100 } else { 0 }
    );
}

#[test]
fn deep_image_mounts_with_new_mount_api() {
    if !is_root() {
        eprintln!("skipping: needs root to mount overlayfs");
        return;
    }
    deep_image_mounts(false);
}

#[test]
fn deep_image_mounts_with_classic_mount_and_short_links() {
    if !is_root() {
        eprintln!("skipping: needs root to mount overlayfs");
        return;
    }
    deep_image_mounts(true);
}

#[test]
fn volatile_rootfs_is_volatile_and_survives_a_crashed_mount() {
    if !is_root() {
        eprintln!("skipping: needs root to mount overlayfs");
        return;
    }
    let t = crate::common::store();
    let chain = two_layers(&t.store);
    let id = hex_id("e", 4);
    t.store
        .create_container(&berth_store::NewContainer {
            id: id.clone(),
            name: "volatile".into(),
            image_ref: "x".into(),
            config: "{}".into(),
            layers: Some(chain.clone()),
            ..Default::default()
        })
        .unwrap();
    let _guard = MountGuard {
        store: &t.store,
        id: id.clone(),
    };
    let layers = t.store.container_layers(&id).unwrap();
    let rootfs = t.store.mount_rootfs_volatile(&id, &layers).unwrap();
    assert!(rootfs.join("a/x").exists());
    fs_err::write(rootfs.join("new"), "n").unwrap();
    let mounts = fs_err::read_to_string("/proc/self/mountinfo").unwrap();
    let line = mounts
        .lines()
        .find(|l| l.contains(rootfs.to_str().unwrap()))
        .unwrap();
    assert!(line.contains("volatile"), "{line}");
    t.store.unmount_rootfs(&id).unwrap();
    // What a machine that went down while it was mounted leaves: overlayfs
    // would refuse the work dir; mounting again starts a fresh one.
    let work = t.store.container_dir(&id).unwrap().join("work");
    fs_err::create_dir_all(work.join("work/incompat/volatile")).unwrap();
    let rootfs = t.store.mount_rootfs(&id, &layers).unwrap();
    assert_eq!(fs_err::read_to_string(rootfs.join("new")).unwrap(), "n");
    let mounts = fs_err::read_to_string("/proc/self/mountinfo").unwrap();
    let line = mounts
        .lines()
        .find(|l| l.contains(rootfs.to_str().unwrap()))
        .unwrap();
    assert!(!line.contains("volatile"), "{line}");
    t.store.remove_container(&id).unwrap();
    assert!(!t.store.container_dir(&id).unwrap().exists());
}
