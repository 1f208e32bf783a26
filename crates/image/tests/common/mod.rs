//! Shared helpers for berth-image's integration tests.
#![allow(dead_code)]

pub mod proxy;
pub mod registry;

use std::path::{Path, PathBuf};

/// The shared test images folder, or `None` (with the reason printed) when it is missing.
pub fn shared_images() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/images");
    let p = if p.exists() {
        p
    } else {
        PathBuf::from("/work/shared/images")
    };
    if p.join("busybox-1.38.0").exists() {
        Some(p)
    } else {
        eprintln!("skipping: shared/images not found next to the repository");
        None
    }
}
