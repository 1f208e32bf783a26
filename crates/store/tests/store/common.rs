//! Shared helpers: temp roots, layers, images.

use std::path::Path;

use berth_store::digest::{chain_ids, sha256_digest};
use berth_store::{NewImage, NewImageLayer, Store};

/// A store in a fresh temp dir (removed on drop).
pub struct TestStore {
    pub store: Store,
    pub dir: tempfile::TempDir,
}

pub fn store() -> TestStore {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open store");
    TestStore { store, dir }
}

/// Commits a layer on top of `diffs` (which gains its diff id); `build`
/// fills the staging dir. Returns the new chain id.
pub fn layer(
    store: &Store,
    diffs: &mut Vec<String>,
    seed: &str,
    build: impl FnOnce(&Path),
) -> String {
    let diff = sha256_digest(seed.as_bytes());
    let parent = chain_ids(diffs).unwrap().last().cloned();
    diffs.push(diff.clone());
    let chain = chain_ids(diffs).unwrap().last().cloned().unwrap();
    let staging = store.prepare_snapshot(&chain).unwrap();
    build(&staging.fs_path());
    store
        .commit_snapshot(staging, &chain, parent.as_deref(), &diff, 10)
        .unwrap();
    chain
}

/// Adds an image with the given layers (diff ids) and returns its id.
pub fn image(store: &Store, diffs: &[String], seed: &str, created: i64) -> String {
    let config = format!(r#"{{"seed":"{seed}"}}"#);
    let id = sha256_digest(config.as_bytes());
    store
        .put_image(&NewImage {
            id: id.clone(),
            created,
            size: 10 * diffs.len() as u64,
            os: "linux".into(),
            architecture: "amd64".into(),
            config,
            layers: diffs
                .iter()
                .map(|d| NewImageLayer {
                    diff_id: d.clone(),
                    blob_digest: None,
                    media_type: None,
                    size: 10,
                })
                .collect(),
            ..NewImage::default()
        })
        .unwrap();
    id
}

/// A one-layer image with a file `/seed` containing `seed`.
pub fn simple_image(store: &Store, seed: &str, created: i64) -> String {
    let mut diffs = Vec::new();
    layer(store, &mut diffs, seed, |fs| {
        fs_err::write(fs.join("seed"), seed).unwrap();
    });
    image(store, &diffs, seed, created)
}

/// A deterministic 64-hex id from a number.
pub fn hex_id(prefix: &str, n: usize) -> String {
    let mut s = format!("{prefix}{n:08x}");
    while s.len() < 64 {
        s.push('0');
    }
    s
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
