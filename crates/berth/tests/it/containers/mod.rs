//! Container tests: the real berth binary running real containers in a temporary
//! `--root`, with images from /work/shared/images and Debian's busybox-static.
//! Every test's [`Root`] removes its containers, volumes and mounts on drop, also
//! when the test fails.

#![allow(clippy::unwrap_used)] // test harness: a failed setup step is a failed test

mod bad_input;
mod concurrency;
mod copy;
mod health;
mod host_flags;
mod kernel_flags;
mod lifecycle;
mod links;
mod prune;
mod ps;
mod run_flags;
mod run_rm;
mod stats;
mod stop_exec;
mod system;
mod tty;
mod update;
mod volume_opts;
mod volumes;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::berth_bin;

/// The shared test images (read-only).
pub const IMAGES: &str = "/work/shared/images";
/// The Alpine 3.10 minirootfs.
pub const ALPINE: &str = "alpine-3.10.9/alpine-minirootfs-3.10.9-x86_64.tar.gz";

/// A berth root in a temp dir; its Drop removes everything the test made.
pub struct Root {
    pub dir: tempfile::TempDir,
}

/// The pid of a process whose command line holds every one of `needles`.
pub fn pid_with(needles: &[&str]) -> Option<i32> {
    fs_err::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = fs_err::read(e.path().join("cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd);
        needles.iter().all(|n| cmd.contains(n)).then_some(pid)
    })
}

/// The pid of the monitor of container `id`.
pub fn monitor_pid(id: &str) -> Option<i32> {
    pid_with(&["__monitor", id])
}

/// Skips (returns true) with a printed reason when a container test cannot run here.
pub fn skip() -> bool {
    if !crate::common::is_root() {
        eprintln!("skipped: container tests create namespaces, cgroups and mounts and need root");
        return true;
    }
    if !Path::new(IMAGES).join(ALPINE).exists() {
        eprintln!("skipped: the test images in {IMAGES} are missing");
        return true;
    }
    false
}

impl Root {
    /// A fresh root with the Alpine image imported as `alpine:test`.
    pub fn with_alpine() -> Root {
        let r = Root {
            dir: tempfile::Builder::new()
                .prefix("berth-ct-")
                .tempdir()
                .unwrap(),
        };
        let img = Path::new(IMAGES).join(ALPINE);
        r.ok(&[
            "import",
            "--change",
            "CMD [\"/bin/sh\"]",
            img.to_str().unwrap(),
            "alpine:test",
        ]);
        r
    }

    /// `berth --root DIR ARGS…` as a command.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(berth_bin());
        c.arg("--root").arg(self.dir.path()).args(args);
        c.stdin(Stdio::null());
        c
    }

    /// Runs berth and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs berth, asserts success and returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "berth {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    /// Runs berth, asserts it fails with `code`, and returns its stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let o = self.run(args);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(
            o.status.code(),
            Some(code),
            "berth {args:?}: expected exit {code}\nstdout: {}\nstderr: {err}",
            String::from_utf8_lossy(&o.stdout)
        );
        err
    }

    /// `inspect -f TEMPLATE NAME`, trimmed.
    pub fn inspect(&self, name: &str, tmpl: &str) -> String {
        self.ok(&["inspect", "-f", tmpl, name]).trim().to_owned()
    }

    /// Waits until `f` holds (or panics after `secs`).
    pub fn wait_for(&self, secs: u64, what: &str, mut f: impl FnMut() -> bool) {
        let start = Instant::now();
        while !f() {
            assert!(
                start.elapsed() < Duration::from_secs(secs),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Ids of all containers.
    pub fn all_ids(&self) -> Vec<String> {
        self.ok(&["ps", "-a", "-q", "--no-trunc"])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Imports a rootfs made of Debian's static busybox as `bbstatic:test`.
    pub fn import_busybox_static(&self) -> bool {
        let Some(bb) = ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| {
                Command::new("file")
                    .arg(p)
                    .output()
                    .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("statically linked"))
            })
        else {
            eprintln!("skipped part: Debian's busybox-static is not installed");
            return false;
        };
        let tree = self.dir.path().join("bbtree");
        for d in ["bin", "etc", "tmp", "proc", "sys", "dev"] {
            fs_err::create_dir_all(tree.join(d)).unwrap();
        }
        fs_err::copy(&bb, tree.join("bin/busybox")).unwrap();
        for applet in ["sh", "echo", "cat", "sleep", "ls", "id", "true", "false"] {
            std::os::unix::fs::symlink("busybox", tree.join("bin").join(applet)).unwrap();
        }
        fs_err::write(
            tree.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000::/home/web:/bin/sh\n",
        )
        .unwrap();
        fs_err::write(
            tree.join("etc/group"),
            "root:x:0:\nweb:x:1000:\nextra:x:2000:web\n",
        )
        .unwrap();
        let tar = self.dir.path().join("bb.tar");
        let st = Command::new("tar")
            .arg("-C")
            .arg(&tree)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap();
        assert!(st.success());
        self.ok(&[
            "import",
            "--change",
            "CMD [\"/bin/sh\"]",
            tar.to_str().unwrap(),
            "bbstatic:test",
        ]);
        true
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        if let Ok(o) = self.cmd(&["ps", "-a", "-q", "--no-trunc"]).output() {
            for id in String::from_utf8_lossy(&o.stdout).lines() {
                let _ = self.cmd(&["rm", "-f", "-v", id]).output();
            }
        }
        let _ = self.cmd(&["volume", "prune", "-f", "-a"]).output();
        // Networks a test made (their bridges and rules outlive containers, as Docker's).
        let _ = self.cmd(&["network", "prune", "-f"]).output();
        // Anything still mounted under the root (a test that died half way): deepest first.
        let root = self.dir.path().to_string_lossy().into_owned();
        let mut mounts: Vec<String> = fs_err::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_owned))
            .filter(|m| m.starts_with(&root))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
    }
}
