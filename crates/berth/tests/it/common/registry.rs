//! Registry tests' side of the harness: the registry itself (a real `docker-registry` on
//! loopback) and the shared images folder come from `berth-testkit`; here live skopeo, a
//! berth with its own Docker config, and test images made from the shared folder and
//! busybox-static.

#![allow(clippy::unwrap_used)] // a failing helper is a failing test

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub use berth_testkit::registry::Registry;
pub use berth_testkit::shared_images;

use super::berth_bin;

pub const SKOPEO_BIN: &str = "/usr/bin/skopeo";

/// Whether the registry and skopeo are installed; prints why a test skips when not.
pub fn available() -> bool {
    berth_testkit::registry::available() && berth_testkit::installed(SKOPEO_BIN, "skopeo")
}

/// Runs skopeo (TLS checks off: the registry is plain HTTP on loopback).
pub fn skopeo(args: &[&str]) -> Output {
    let out = Command::new(SKOPEO_BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(fs_err::read(path).unwrap()))
}

/// A busybox OCI layout as upstream publishes it, rebuilt in a temporary directory:
/// copies of the shared folder may hold small text files where `blobs/sha256/*` should be
/// symlinks. Blobs are real files here.
pub fn busybox_layout(variant: &str) -> Option<tempfile::TempDir> {
    let src = shared_images()?.join("busybox-1.38.0").join(variant);
    let t = tempfile::Builder::new()
        .prefix("berth-layout-")
        .tempdir()
        .unwrap();
    fs_err::create_dir_all(t.path().join("blobs/sha256")).unwrap();
    for f in ["oci-layout", "index.json"] {
        fs_err::copy(src.join(f), t.path().join(f)).unwrap();
    }
    for f in ["image-manifest.json", "image-config.json", "rootfs.tar.gz"] {
        let hex = sha256_hex(&src.join(f));
        fs_err::copy(src.join(f), t.path().join("blobs/sha256").join(hex)).unwrap();
    }
    Some(t)
}

/// A rootfs tarball with Debian's static busybox (`/bin/busybox`, `/bin/sh` link) and a
/// marker file, gzip-compressed.
pub fn busybox_static_tarball(dir: &Path, marker: &str) -> PathBuf {
    let root = dir.join("rootfs");
    fs_err::create_dir_all(root.join("bin")).unwrap();
    fs_err::create_dir_all(root.join("etc")).unwrap();
    fs_err::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    fs_err::write(root.join("etc/marker"), marker).unwrap();
    let out = dir.join("rootfs.tar.gz");
    let st = Command::new("tar")
        .arg("-czf")
        .arg(&out)
        .arg("-C")
        .arg(&root)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    out
}

/// A berth with its own `--root` and Docker config dir, both temporary.
pub struct Berth {
    pub root: tempfile::TempDir,
    pub docker_config: tempfile::TempDir,
}

impl Berth {
    pub fn new() -> Berth {
        Berth::in_root(
            tempfile::Builder::new()
                .prefix("berth-root-")
                .tempdir()
                .unwrap(),
        )
    }

    pub fn in_root(root: tempfile::TempDir) -> Berth {
        Berth {
            root,
            docker_config: tempfile::Builder::new()
                .prefix("berth-dockercfg-")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(berth_bin());
        c.arg("--root")
            .arg(self.root.path())
            .args(args)
            .env("DOCKER_CONFIG", self.docker_config.path())
            .env_remove("BERTH_CONFIG")
            .stdin(Stdio::null());
        c
    }

    /// Runs berth; returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs berth and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "berth {args:?} failed: {err}\nstdout: {out}");
        out
    }

    /// Runs berth and asserts Docker's error status 125; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(
            code, 125,
            "berth {args:?}: expected exit 125, got {code}\nstdout: {out}\nstderr: {err}"
        );
        err
    }

    /// `image inspect` as JSON.
    pub fn inspect(&self, image: &str) -> serde_json::Value {
        let v: serde_json::Value =
            serde_json::from_str(&self.ok(&["image", "inspect", image])).unwrap();
        v[0].clone()
    }

    /// The snapshot directories of an image, top layer first.
    pub fn layer_dirs(&self, image: &str) -> Vec<PathBuf> {
        let v = self.inspect(image);
        v["GraphDriver"]["Data"]["LowerDir"]
            .as_str()
            .unwrap()
            .split(':')
            .map(PathBuf::from)
            .collect()
    }
}
