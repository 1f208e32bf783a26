//! Shared helpers for berth-image's integration tests.
#![allow(dead_code)]

pub mod proxy;

pub use berth_testkit::shared_images;

/// A busybox OCI layout as upstream publishes it: `blobs/sha256/<digest>` are relative
/// symlinks to the three real files. Built in a temporary directory because copies of the
/// shared folder may have turned those symlinks into small text files.
pub fn busybox_layout(variant: &str) -> Option<tempfile::TempDir> {
    let src = shared_images()?.join("busybox-1.38.0").join(variant);
    let t = tempfile::tempdir().unwrap();
    fs_err::create_dir_all(t.path().join("blobs/sha256")).unwrap();
    for f in [
        "oci-layout",
        "index.json",
        "image-manifest.json",
        "image-config.json",
        "rootfs.tar.gz",
    ] {
        fs_err::copy(src.join(f), t.path().join(f)).unwrap();
    }
    for f in ["image-manifest.json", "image-config.json", "rootfs.tar.gz"] {
        let hex = berth_image::Digest::sha256_of(&fs_err::read(src.join(f)).unwrap())
            .hex()
            .to_owned();
        std::os::unix::fs::symlink(
            format!("../../{f}"),
            t.path().join("blobs/sha256").join(hex),
        )
        .unwrap();
    }
    Some(t)
}
