//! Round trips with peer tools: `berth save` loaded and run by podman, `podman save`
//! (docker-archive and oci-archive) loaded and run by berth, and a skopeo-pushed image
//! pulled and run by berth.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::skopeo_push_busybox;
use crate::common::registry::{Berth, Registry, available, busybox_static_tarball};
use crate::common::skip_unless_root;

const PODMAN_BIN: &str = "/usr/bin/podman";

/// Podman with its own storage (vfs, no mounts) in a temporary directory; the storage is
/// reset and removed on drop.
struct Podman {
    dir: tempfile::TempDir,
}

impl Podman {
    /// `None` (reason printed) when podman, root or busybox-static is missing.
    fn new() -> Option<Podman> {
        if skip_unless_root() {
            return None;
        }
        for bin in [PODMAN_BIN, "/bin/busybox"] {
            if !Path::new(bin).exists() {
                eprintln!("skipped: {bin} missing (apt-get install podman busybox-static)");
                return None;
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("berth-podman-")
            .tempdir()
            .unwrap();
        Some(Podman { dir })
    }

    fn run(&self, args: &[&str]) -> Output {
        let d = self.dir.path();
        let out = Command::new(PODMAN_BIN)
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("run"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn stdout(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.run(args).stdout).into_owned()
    }

    /// `podman run --rm` with runc (crun refuses this hybrid cgroup host), no network,
    /// and limits this host allows (root lacks CAP_SYS_RESOURCE over the hard limits).
    fn run_rm(&self, image: &str, cmd: &[&str]) -> String {
        let mut args = vec![
            "run",
            "--rm",
            "--runtime",
            "runc",
            "--network",
            "none",
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
            image,
        ];
        args.extend_from_slice(cmd);
        self.stdout(&args)
    }

    fn inspect(&self, image: &str) -> Value {
        let v: Value = serde_json::from_str(&self.stdout(&["image", "inspect", image])).unwrap();
        v[0].clone()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let d = self.dir.path();
        let _ = Command::new(PODMAN_BIN)
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("run"))
            .args(["--storage-driver", "vfs", "system", "reset", "-f"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn diff_ids(inspect: &Value) -> Vec<String> {
    inspect["RootFS"]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn berth_save_is_loaded_and_run_by_podman() {
    let Some(podman) = Podman::new() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let tarball = busybox_static_tarball(work.path(), "saved-by-berth");
    let b = Berth::new();
    b.ok(&[
        "import",
        "-c",
        "CMD [\"/bin/busybox\", \"cat\", \"/etc/marker\"]",
        "-c",
        "ENV GREETING=hello",
        tarball.to_str().unwrap(),
        "example.com/peer/bb:1",
    ]);
    let ours = b.inspect("example.com/peer/bb:1");
    for (format, file) in [("docker-archive", "d.tar"), ("oci-archive", "o.tar")] {
        let tar = work.path().join(file);
        b.ok(&[
            "save",
            "--format",
            format,
            "-o",
            tar.to_str().unwrap(),
            "example.com/peer/bb:1",
        ]);
        let out = podman.stdout(&["load", "-i", tar.to_str().unwrap()]);
        assert!(out.contains("example.com/peer/bb:1"), "{format}: {out}");
        let theirs = podman.inspect("example.com/peer/bb:1");
        assert_eq!(diff_ids(&theirs), diff_ids(&ours), "{format}");
        assert_eq!(theirs["Config"]["Cmd"], ours["Config"]["Cmd"], "{format}");
        assert!(
            theirs["Config"]["Env"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e == "GREETING=hello"),
            "{format}: {theirs}"
        );
        // The same image id: the config bytes came through unchanged.
        assert_eq!(
            format!("sha256:{}", theirs["Id"].as_str().unwrap()),
            ours["Id"].as_str().unwrap(),
            "{format}"
        );
        assert_eq!(
            podman.run_rm("example.com/peer/bb:1", &[]),
            "saved-by-berth",
            "{format}"
        );
        podman.run(&["rmi", "example.com/peer/bb:1"]);
    }
}

#[test]
fn podman_save_is_loaded_and_run_by_berth() {
    let Some(podman) = Podman::new() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let tarball = busybox_static_tarball(work.path(), "saved-by-podman");
    podman.run(&[
        "import",
        "--change",
        "CMD [\"/bin/busybox\", \"cat\", \"/etc/marker\"]",
        tarball.to_str().unwrap(),
        "localhost/peer/pm:1",
    ]);
    let theirs = podman.inspect("localhost/peer/pm:1");
    for (format, file) in [("docker-archive", "d.tar"), ("oci-archive", "o.tar")] {
        let tar = work.path().join(file);
        podman.run(&[
            "save",
            "--format",
            format,
            "-o",
            tar.to_str().unwrap(),
            "localhost/peer/pm:1",
        ]);
        let b = Berth::new();
        let out = b.ok(&["load", "-i", tar.to_str().unwrap()]);
        assert_eq!(out, "Loaded image: localhost/peer/pm:1\n", "{format}");
        let ours = b.inspect("localhost/peer/pm:1");
        assert_eq!(diff_ids(&ours), diff_ids(&theirs), "{format}");
        assert_eq!(ours["Config"]["Cmd"], theirs["Config"]["Cmd"], "{format}");
        let out = b.ok(&["run", "--rm", "--network", "none", "localhost/peer/pm:1"]);
        assert_eq!(out, "saved-by-podman", "{format}");
    }
}

#[test]
fn skopeo_pushed_image_is_pulled_and_run_by_berth() {
    if skip_unless_root() || !available() {
        return;
    }
    let reg = Registry::start(&[]);
    let Some(_layout) = skopeo_push_busybox(&reg, "peer/busybox:musl") else {
        return;
    };
    let b = Berth::new();
    let name = format!("{}/peer/busybox:musl", reg.host());
    b.ok(&["pull", "-q", &name]);
    let out = b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        &name,
        "sh",
        "-c",
        "echo ran on $(cat /etc/hostname | wc -c) && busybox | head -1",
    ]);
    let mut lines = out.lines();
    assert!(lines.next().unwrap().starts_with("ran on "), "{out}");
    assert!(
        lines.next().unwrap().starts_with("BusyBox v1.38.0"),
        "{out}"
    );
}
