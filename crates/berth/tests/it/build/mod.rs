//! `berth build` end to end: real Dockerfiles, real base images imported from
//! /work/shared/images, real RUN containers, each test in its own `--root`.
//! `Bench` (here) is the shared fixture; one file per area.

#![allow(clippy::unwrap_used)]

mod basics;
mod copy_flags;
mod flags;
mod parallel;
mod secrets;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::common::berth_bin;

pub const ALPINE: &str = "/work/shared/images/alpine-3.20.3/alpine-minirootfs-3.20.3-x86_64.tar.gz";
pub const BUSYBOX: &str = "/work/shared/images/busybox-1.38.0/musl/rootfs.tar.gz";

/// A temporary berth root and context; unmounts anything left below it when dropped.
pub struct Bench {
    pub dir: tempfile::TempDir,
}

impl Drop for Bench {
    fn drop(&mut self) {
        let root = self.dir.path().to_string_lossy().into_owned();
        let info = fs_err::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut points: Vec<&str> = info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| p.starts_with(&root))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = nix::mount::umount2(p, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

pub fn out_text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

impl Bench {
    /// None (with the reason printed) when the test cannot run here.
    pub fn new() -> Option<Bench> {
        if super::common::skip_unless_root() {
            return None;
        }
        for f in [ALPINE, BUSYBOX] {
            if !Path::new(f).exists() {
                eprintln!("skipped: {f} is missing (the shared test images)");
                return None;
            }
        }
        let b = Bench {
            dir: tempfile::tempdir().unwrap(),
        };
        let o = b.berth(&["import", ALPINE, "alpine:3.20"]);
        assert!(o.status.success(), "{}", out_text(&o));
        let o = b.berth(&["import", BUSYBOX, "busybox:latest"]);
        assert!(o.status.success(), "{}", out_text(&o));
        fs_err::create_dir_all(b.ctx()).unwrap();
        Some(b)
    }

    pub fn ctx(&self) -> PathBuf {
        self.dir.path().join("ctx")
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.ctx().join(rel);
        fs_err::create_dir_all(p.parent().unwrap()).unwrap();
        fs_err::write(p, text).unwrap();
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(berth_bin());
        c.arg("--root")
            .arg(self.dir.path().join("root"))
            .args(args)
            .stdin(Stdio::null());
        c
    }

    pub fn berth(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    pub fn build(&self, extra: &[&str]) -> Output {
        let ctx = self.ctx();
        let mut args = vec!["build"];
        args.extend_from_slice(extra);
        args.push(ctx.to_str().unwrap());
        self.berth(&args)
    }

    pub fn build_ok(&self, extra: &[&str]) -> String {
        let o = self.build(extra);
        assert!(o.status.success(), "{}", out_text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs `script` with `sh -c` inside `image` and returns its output: through
    /// `berth run` when this binary has it, else as a `RUN` of a throwaway build.
    pub fn sh_in(&self, image: &str, script: &str) -> String {
        if self.berth(&["run", "--help"]).status.success() {
            let o = self.berth(&["run", "--rm", "--entrypoint", "", image, "sh", "-c", script]);
            assert!(o.status.success(), "{}", out_text(&o));
            return String::from_utf8_lossy(&o.stdout).into_owned();
        }
        let dir = tempfile::tempdir_in(self.dir.path()).unwrap();
        let df = format!("FROM {image}\nRUN {}\n", script.replace('\n', " "));
        fs_err::write(dir.path().join("Dockerfile"), df).unwrap();
        let o = self.berth(&["build", "--no-cache", dir.path().to_str().unwrap()]);
        assert!(o.status.success(), "{}", out_text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn images(&self) -> String {
        let o = self.berth(&[
            "images",
            "-a",
            "--format",
            "{{.Repository}}:{{.Tag}} {{.ID}}",
        ]);
        assert!(o.status.success(), "{}", out_text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}
