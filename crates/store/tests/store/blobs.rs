//! Blob store: verify-then-publish, mismatch, resume, temp cleanup.

use std::io::Write as _;
use std::time::Duration;

use berth_store::Error;
use berth_store::digest::sha256_digest;

use crate::common::store;

fn tmp_entries(root: &std::path::Path) -> Vec<String> {
    fs_err::read_dir(root.join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn commit_publishes_verified_blob() {
    let t = store();
    let data = b"hello layer".repeat(1000);
    let digest = sha256_digest(&data);
    let mut w = t.store.begin_blob().unwrap();
    w.write_all(&data).unwrap();
    assert!(
        !t.store.has_blob(&digest).unwrap(),
        "not visible before commit"
    );
    assert_eq!(w.commit(&digest).unwrap(), data.len() as u64);
    assert!(t.store.has_blob(&digest).unwrap());
    assert_eq!(t.store.read_blob(&digest).unwrap(), data);
    assert_eq!(t.store.blob_size(&digest).unwrap(), data.len() as u64);
    let hex = digest.strip_prefix("sha256:").unwrap();
    assert!(t.dir.path().join("blobs/sha256").join(hex).is_file());
    assert!(tmp_entries(t.store.root()).is_empty());
    assert!(t.store.delete_blob(&digest).unwrap());
    assert!(!t.store.has_blob(&digest).unwrap());
    assert!(matches!(
        t.store.open_blob(&digest),
        Err(Error::BlobNotFound(_))
    ));
}

#[test]
fn mismatch_deletes_temp_and_names_both_digests() {
    let t = store();
    let expected = sha256_digest(b"what the manifest said");
    let mut w = t.store.begin_blob().unwrap();
    w.write_all(b"what the registry sent").unwrap();
    let err = w.commit(&expected).unwrap_err();
    let actual = sha256_digest(b"what the registry sent");
    match &err {
        Error::DigestMismatch {
            expected: e,
            actual: a,
        } => {
            assert_eq!(e, &expected);
            assert_eq!(a, &actual);
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains(&expected) && msg.contains(&actual), "{msg}");
    assert!(!t.store.has_blob(&expected).unwrap());
    assert!(!t.store.has_blob(&actual).unwrap());
    assert!(tmp_entries(t.store.root()).is_empty());
}

#[test]
fn invalid_digests_are_refused() {
    let t = store();
    for bad in ["sha256:../../etc/passwd", "md5:abc", "sha256:ABC"] {
        assert!(matches!(t.store.has_blob(bad), Err(Error::InvalidDigest(d)) if d == bad));
    }
    let w = t.store.begin_blob().unwrap();
    assert!(matches!(w.commit("nope"), Err(Error::InvalidDigest(_))));
    assert!(tmp_entries(t.store.root()).is_empty());
}

#[test]
fn dropped_writer_leaves_nothing() {
    let t = store();
    let mut w = t.store.begin_blob().unwrap();
    w.write_all(b"partial").unwrap();
    drop(w);
    assert!(tmp_entries(t.store.root()).is_empty());
}

#[test]
fn interrupted_download_resumes() {
    let t = store();
    let data: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let digest = sha256_digest(&data);
    let mut w = t
        .store
        .resume_blob(&digest)
        .unwrap()
        .expect("not present yet");
    assert_eq!(w.written(), 0);
    w.write_all(&data[..150_000]).unwrap();
    drop(w); // connection lost
    // Only a temp file remains, and gc keeps it (young partial download).
    assert_eq!(tmp_entries(t.store.root()).len(), 1);
    assert!(t.store.gc_tmp(Duration::ZERO).unwrap().is_empty());
    let mut w = t
        .store
        .resume_blob(&digest)
        .unwrap()
        .expect("still not present");
    assert_eq!(w.written(), 150_000, "resume offset");
    w.write_all(&data[150_000..]).unwrap();
    w.commit(&digest).unwrap();
    assert_eq!(t.store.read_blob(&digest).unwrap(), data);
    assert!(
        t.store.resume_blob(&digest).unwrap().is_none(),
        "present now"
    );
    assert!(tmp_entries(t.store.root()).is_empty());
}

#[test]
fn gc_tmp_spares_locked_entries_and_removes_abandoned_ones() {
    let t = store();
    let mut live = t.store.begin_blob().unwrap();
    live.write_all(b"in progress").unwrap();
    let staging = t.store.prepare_snapshot(&sha256_digest(b"x")).unwrap();
    // An abandoned entry, as a crashed process leaves it (nobody holds a lock).
    fs_err::create_dir_all(t.store.root().join("tmp/snap-crashed/fs/etc")).unwrap();
    let removed = t.store.gc_tmp(Duration::ZERO).unwrap();
    assert_eq!(removed, vec![t.store.root().join("tmp/snap-crashed")]);
    assert!(live.tmp_path().exists());
    assert!(staging.path().exists());
    let digest = sha256_digest(b"in progress");
    live.commit(&digest).unwrap();
    drop(staging);
    assert!(tmp_entries(t.store.root()).is_empty());
}

#[test]
fn concurrent_commits_from_threads_yield_one_blob() {
    let t = store();
    let data = b"same layer".repeat(10_000);
    let digest = sha256_digest(&data);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let mut w = t.store.begin_blob().unwrap();
                for chunk in data.chunks(997) {
                    w.write_all(chunk).unwrap();
                }
                w.commit(&digest).unwrap();
            });
        }
    });
    assert_eq!(t.store.read_blob(&digest).unwrap(), data);
    let n = fs_err::read_dir(t.store.root().join("blobs/sha256"))
        .unwrap()
        .count();
    assert_eq!(n, 1);
    assert!(tmp_entries(t.store.root()).is_empty());
}
