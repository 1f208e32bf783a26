//! Test harness: run the berth binary, make bundles, clean up with guards.

#![allow(dead_code)]

pub mod faults;
pub mod registry;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// Path of the berth binary under test.
pub fn berth_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_berth"))
}

/// True when running as root (the runtime tests need it).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Skips (returns true) with a printed reason when not root.
pub fn skip_unless_root() -> bool {
    if is_root() {
        return false;
    }
    eprintln!("skipped: this test creates namespaces and cgroups and needs root");
    true
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A unique container id for this test process.
pub fn unique_id(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A bundle in a temp dir with a busybox rootfs and an editable spec.
pub struct BundleDir {
    pub dir: tempfile::TempDir,
    pub spec: Value,
}

/// Where a static busybox can be found (Debian's busybox-static).
fn static_busybox() -> PathBuf {
    for p in ["/bin/busybox", "/usr/bin/busybox"] {
        let out = Command::new("file").arg(p).output();
        if let Ok(o) = out
            && String::from_utf8_lossy(&o.stdout).contains("statically linked")
        {
            return PathBuf::from(p);
        }
    }
    PathBuf::from("/bin/busybox")
}

impl BundleDir {
    /// A busybox rootfs (static, from busybox-static) and runc's default spec,
    /// with `args` as the process.
    pub fn new(args: &[&str]) -> BundleDir {
        let dir = tempfile::Builder::new()
            .prefix("berth-bundle-")
            .tempdir()
            .unwrap();
        let rootfs = dir.path().join("rootfs");
        for d in ["bin", "proc", "sys", "dev", "etc", "tmp"] {
            std::fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        std::fs::copy(static_busybox(), rootfs.join("bin/busybox")).unwrap();
        // Ask the original: running the fresh copy races with forks in other test threads
        // that still hold it open for writing (ETXTBSY).
        let list = Command::new(static_busybox())
            .arg("--list")
            .output()
            .unwrap();
        assert!(list.status.success());
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if applet != "busybox" {
                std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
            }
        }
        std::fs::write(
            rootfs.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        )
        .unwrap();
        std::fs::write(rootfs.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
        let out = Command::new(berth_bin())
            .args(["oci", "spec", "--bundle"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
        let mut spec: Value = serde_json::from_str(&text).unwrap();
        spec["process"]["terminal"] = Value::Bool(false);
        spec["process"]["args"] = args.iter().map(|a| Value::String(a.to_string())).collect();
        spec["root"]["readonly"] = Value::Bool(false);
        BundleDir { dir, spec }
    }

    /// Writes the spec to config.json.
    pub fn save(&self) {
        std::fs::write(
            self.dir.path().join("config.json"),
            serde_json::to_vec_pretty(&self.spec).unwrap(),
        )
        .unwrap();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }
}

/// A runtime state root; deletes every container left in it on drop.
pub struct Oci {
    pub state: tempfile::TempDir,
}

impl Default for Oci {
    fn default() -> Self {
        Self::new()
    }
}

impl Oci {
    pub fn new() -> Oci {
        Oci {
            state: tempfile::Builder::new()
                .prefix("berth-state-")
                .tempdir()
                .unwrap(),
        }
    }

    /// `berth oci --root STATE ARGS...`
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(berth_bin());
        c.arg("oci").arg("--root").arg(self.state.path()).args(args);
        c.stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// For commands that leave a container behind (`create`, `run -d`): the container
    /// inherits stdio like runc's does, so pipes would never reach end-of-file. Output
    /// goes to files instead; returns (success, stderr).
    pub fn run_detached(&self, args: &[&str]) -> (bool, String) {
        let out = tempfile::NamedTempFile::new().unwrap();
        let err = tempfile::NamedTempFile::new().unwrap();
        let status = self
            .cmd(args)
            .stdout(out.reopen().unwrap())
            .stderr(err.reopen().unwrap())
            .status()
            .unwrap();
        (
            status.success(),
            std::fs::read_to_string(err.path()).unwrap_or_default(),
        )
    }

    /// Runs a bundle to completion; returns (exit code, stdout, stderr).
    pub fn run_bundle(&self, b: &BundleDir) -> (i32, String, String) {
        b.save();
        let id = unique_id("run");
        let out = self.run(&["run", "--bundle", b.path().to_str().unwrap(), &id]);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Saves the bundle and runs it detached (`run -d`); returns the new container's id.
    pub fn run_d(&self, b: &BundleDir, prefix: &str) -> String {
        b.save();
        let id = unique_id(prefix);
        let (ok, err) =
            self.run_detached(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id]);
        assert!(ok, "{err}");
        id
    }

    /// Saves the bundle and creates a container from it; returns its id.
    pub fn create(&self, b: &BundleDir, prefix: &str) -> String {
        b.save();
        let id = unique_id(prefix);
        let (ok, err) = self.run_detached(&["create", "--bundle", b.path().to_str().unwrap(), &id]);
        assert!(ok, "{err}");
        id
    }

    /// Polls `state` until the container stopped (5 s at most).
    pub fn wait_stopped(&self, id: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.state(id)["status"] != "stopped" {
            assert!(
                std::time::Instant::now() < deadline,
                "container {id} did not stop"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    pub fn state(&self, id: &str) -> Value {
        let out = self.run(&["state", id]);
        assert!(
            out.status.success(),
            "state {id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Oci {
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(self.state.path()) {
            for e in entries.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = self.run(&["delete", "--force", &id]);
            }
        }
    }
}
