//! Recovery after a simulated crash.

use berth_store::digest::{chain_ids, sha256_digest};
use berth_store::{ContainerFilter, Store};

use crate::common::{hex_id, layer};

#[test]
fn reopen_cleans_half_made_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (kept, pending_done, pending_lost, vanished);
    {
        let store = Store::open(root).unwrap();
        let mut diffs = Vec::new();
        kept = layer(&store, &mut diffs, "kept", |fs| {
            fs_err::write(fs.join("f"), "x").unwrap()
        });
        let mut d2 = Vec::new();
        vanished = layer(&store, &mut d2, "vanished", |_| {});
        // Crash leftovers, made by hand the way a killed process leaves them:
        // a staging dir and a partial blob nobody holds,
        fs_err::create_dir_all(root.join("tmp/snap-0123/fs/usr")).unwrap();
        fs_err::write(root.join("tmp/blob-0123"), "half").unwrap();
        // a pending row whose rename happened and one whose rename never did,
        let diff_done = sha256_digest(b"done");
        pending_done = chain_ids(&[&diff_done]).unwrap().remove(0);
        let diff_lost = sha256_digest(b"lost");
        pending_lost = chain_ids(&[&diff_lost]).unwrap().remove(0);
        fs_err::create_dir_all(root.join("snapshots").join(&pending_done[7..]).join("fs")).unwrap();
        let conn = rusqlite::Connection::open(root.join("berth.db")).unwrap();
        for (chain, diff) in [(&pending_done, &diff_done), (&pending_lost, &diff_lost)] {
            conn.execute(
                "INSERT INTO snapshots (chain_id, parent, diff_id, size, state, created) VALUES (?1, NULL, ?2, 0, 'pending', 0)",
                [chain, diff],
            )
            .unwrap();
        }
        // a ready snapshot whose directory disappeared,
        fs_err::remove_dir_all(root.join("snapshots").join(&vanished[7..])).unwrap();
        // an orphan snapshot dir (crash during removal) and an orphan container dir.
        fs_err::create_dir_all(root.join("snapshots").join("e".repeat(64)).join("fs")).unwrap();
        fs_err::create_dir_all(root.join("containers").join(hex_id("9", 9)).join("upper")).unwrap();
        // A volume dir without a row is user data: kept.
        fs_err::create_dir_all(root.join("volumes/precious/_data")).unwrap();
        drop(store);
        // The killed process never removed its marker.
        fs_err::write(root.join("locks/active/999999-crashed"), "").unwrap();
    }
    // Reopen after the "crash": recovery runs at open.
    let store = Store::open(root).unwrap();
    assert!(!root.join("locks/active/999999-crashed").exists());
    assert!(!root.join("tmp/snap-0123").exists());
    assert!(!root.join("tmp/blob-0123").exists());
    assert_eq!(fs_err::read_dir(root.join("tmp")).unwrap().count(), 0);
    assert!(store.has_snapshot(&kept).unwrap());
    assert!(
        store.has_snapshot(&pending_done).unwrap(),
        "renamed before the crash: completed"
    );
    assert!(store.get_snapshot(&pending_lost).unwrap().is_none());
    assert!(store.snapshot_users(&pending_lost).unwrap().is_empty());
    assert!(!store.has_snapshot(&vanished).unwrap(), "marked missing");
    assert!(!root.join("snapshots").join("e".repeat(64)).exists());
    assert!(!root.join("containers").join(hex_id("9", 9)).exists());
    assert!(root.join("volumes/precious/_data").exists());
    assert!(
        store
            .list_containers(&ContainerFilter::default())
            .unwrap()
            .is_empty()
    );
    // A missing snapshot can be unpacked again.
    let diff = sha256_digest(b"vanished");
    let staging = store.prepare_snapshot(&vanished).unwrap();
    store
        .commit_snapshot(staging, &vanished, None, &diff, 1)
        .unwrap();
    assert!(store.has_snapshot(&vanished).unwrap());
}

#[test]
fn recovery_report_lists_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let diff = sha256_digest(b"p");
    let chain = chain_ids(&[&diff]).unwrap().remove(0);
    let conn = rusqlite::Connection::open(dir.path().join("berth.db")).unwrap();
    conn.execute(
        "INSERT INTO snapshots (chain_id, parent, diff_id, size, state, created) VALUES (?1, NULL, ?2, 0, 'pending', 0)",
        [&chain, &diff],
    )
    .unwrap();
    fs_err::create_dir_all(dir.path().join("tmp/rootfs-dead")).unwrap();
    // While another process has the root open, recovery does not run.
    let other = Store::open(dir.path()).unwrap();
    let report = store.recover().unwrap();
    assert!(!report.ran);
    assert!(report.tmp_removed.is_empty(), "fresh entries are spared");
    assert!(store.snapshot_users(&chain).unwrap().is_empty());
    drop(other);
    let report = store.recover().unwrap();
    assert!(report.ran);
    assert_eq!(report.snapshots_dropped, vec![chain]);
    assert_eq!(
        report.tmp_removed,
        vec![store.root().join("tmp/rootfs-dead")]
    );
}

#[test]
fn full_recovery_runs_only_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    drop(Store::open(root).unwrap());
    // Every process closed the store: the next lone open skips the scans, so
    // a directory made behind berth's back stays (normal work never makes one)
    // while tmp/ is still collected.
    let orphan = root.join("containers").join(hex_id("8", 8));
    fs_err::create_dir_all(orphan.join("upper")).unwrap();
    fs_err::write(root.join("tmp/blob-4567"), "half").unwrap();
    drop(Store::open(root).unwrap());
    assert!(orphan.exists());
    assert!(!root.join("tmp/blob-4567").exists());
    assert_eq!(
        fs_err::read_dir(root.join("locks/active")).unwrap().count(),
        0
    );
    // A process that ended without closing it: the next lone open recovers.
    let held = Store::open(root).unwrap();
    let marker = fs_err::read_dir(root.join("locks/active"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    fs_err::copy(&marker, root.join("locks/active/999998-crashed")).unwrap();
    drop(held);
    drop(Store::open(root).unwrap());
    assert!(!orphan.exists());
    assert_eq!(
        fs_err::read_dir(root.join("locks/active")).unwrap().count(),
        0
    );
}
