//! A real registry (Debian's `docker-registry`, the CNCF Distribution server) on a free
//! loopback port with a temporary storage directory, killed when the guard drops; and
//! test images made from the shared folder and busybox-static.

#![allow(clippy::unwrap_used)] // a failing helper is a failing test

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::berth_bin;

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
pub const SKOPEO_BIN: &str = "/usr/bin/skopeo";

/// Whether the registry and skopeo are installed; prints why a test skips when not.
pub fn available() -> bool {
    for bin in [REGISTRY_BIN, SKOPEO_BIN] {
        if !Path::new(bin).exists() {
            eprintln!("skipped: {bin} missing (apt-get install docker-registry skopeo)");
            return false;
        }
    }
    true
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running registry; killed and its storage removed on drop.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    pub addr: SocketAddr,
}

impl Registry {
    /// Starts a registry; with `users`, htpasswd (bcrypt) authentication is required.
    pub fn start(users: &[(&str, &str)]) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("berth-registry-")
            .tempdir()
            .unwrap();
        let storage = dir.path().join("storage");
        fs_err::create_dir_all(&storage).unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            storage.display()
        );
        if !users.is_empty() {
            let htpasswd = dir.path().join("htpasswd");
            let mut f = fs_err::File::create(&htpasswd).unwrap();
            for (user, password) in users {
                writeln!(f, "{user}:{}", bcrypt::hash(password, 4).unwrap()).unwrap();
            }
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let cfg = dir.path().join("config.yml");
        fs_err::write(&cfg, config).unwrap();
        let log = fs_err::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.into_parts().0)
            .spawn()
            .unwrap();
        let mut reg = Registry { child, dir, addr };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            if let Ok(Some(status)) = reg.child.try_wait() {
                let log =
                    fs_err::read_to_string(reg.dir.path().join("registry.log")).unwrap_or_default();
                panic!("registry exited with {status}: {log}");
            }
            assert!(
                Instant::now() < deadline,
                "registry did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        reg
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The file holding a blob's bytes in the registry's storage.
    pub fn blob_data_path(&self, hex: &str) -> PathBuf {
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

/// The shared test images folder, or `None` (reason printed) when missing.
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
        eprintln!("skipped: shared/images not found next to the repository");
        None
    }
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
