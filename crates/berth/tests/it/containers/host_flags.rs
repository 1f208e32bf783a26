//! `run` flags added for Docker parity: per-device block I/O throttles, realtime CPU
//! budgets, `--runtime`, `--gpus`, `--storage-opt` (links are in `links.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::kernel_flags::sh;
use super::{Root, skip};

/// A loop device over a small file, detached on drop (also when the test fails), with
/// its I/O scheduler set back to what it was.
struct LoopDevice {
    path: String,
    scheduler: Option<(PathBuf, String)>,
    _dir: tempfile::TempDir,
}

impl LoopDevice {
    fn new() -> Option<LoopDevice> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("disk.img");
        fs_err::write(&file, vec![0u8; 1 << 20]).unwrap();
        let out = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&file)
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "skipped: losetup failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
        Some(LoopDevice {
            path: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            scheduler: None,
            _dir: dir,
        })
    }

    /// Switches the device to bfq, the scheduler with per-cgroup weights; false where the
    /// kernel has no bfq.
    fn use_bfq(&mut self) -> bool {
        let name = Path::new(&self.path).file_name().unwrap().to_owned();
        let file = Path::new("/sys/block").join(name).join("queue/scheduler");
        let Ok(now) = fs_err::read_to_string(&file) else {
            return false;
        };
        let Some(current) = now
            .split_whitespace()
            .find(|s| s.starts_with('['))
            .map(|s| s.trim_matches(['[', ']']).to_owned())
        else {
            return false;
        };
        if fs_err::write(&file, "bfq").is_err() {
            return false;
        }
        self.scheduler = Some((file, current));
        true
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        if let Some((file, old)) = &self.scheduler {
            let _ = fs_err::write(file, old);
        }
        let _ = Command::new("losetup").args(["-d", &self.path]).status();
    }
}

fn major_minor(dev: &str) -> String {
    use std::os::unix::fs::MetadataExt as _;
    let rdev = fs_err::metadata(dev).unwrap().rdev();
    format!("{}:{}", libc::major(rdev), libc::minor(rdev))
}

#[test]
fn device_throttles_reach_the_cgroup() {
    if skip() {
        return;
    }
    let Some(mut dev) = LoopDevice::new() else {
        return;
    };
    let bfq = dev.use_bfq();
    let r = Root::with_alpine();
    let d = &dev.path;
    let numbers = major_minor(d);
    let wbps = format!("{d}:1mb");
    let riops = format!("{d}:100");
    let got = sh(
        &r,
        &["--device-write-bps", &wbps, "--device-read-iops", &riops],
        "cat /sys/fs/cgroup/io.max 2>/dev/null || { cat /sys/fs/cgroup/blkio/blkio.throttle.write_bps_device; cat /sys/fs/cgroup/blkio/blkio.throttle.read_iops_device; }",
    );
    if got.contains("wbps") {
        assert!(got.contains(&format!("{numbers} ")), "{got}");
        assert!(
            got.contains("wbps=1048576") && got.contains("riops=100"),
            "{got}"
        );
    } else {
        assert_eq!(got, format!("{numbers} 1048576\n{numbers} 100"));
    }

    // Weights, with a scheduler that has them (v1 bfq files, or v2 io.bfq.weight).
    if bfq {
        let wdev = format!("{d}:300");
        let got = sh(
            &r,
            &["--blkio-weight", "200", "--blkio-weight-device", &wdev],
            "cd /sys/fs/cgroup; cat io.bfq.weight 2>/dev/null || cat blkio/blkio.bfq.weight_device blkio/blkio.bfq.weight",
        );
        assert!(got.contains(&format!("{numbers} 300")), "{got}");
        assert!(got.lines().any(|l| l.ends_with("200")), "{got}");
        // `update --blkio-weight` reaches the live cgroup.
        r.ok(&[
            "run",
            "-d",
            "--name",
            "wt",
            "--blkio-weight",
            "200",
            "alpine:test",
            "sleep",
            "300",
        ]);
        r.ok(&["update", "--blkio-weight", "300", "wt"]);
        let live = r.ok(&[
            "exec", "wt", "sh", "-c",
            "cat /sys/fs/cgroup/io.bfq.weight 2>/dev/null || cat /sys/fs/cgroup/blkio/blkio.bfq.weight",
        ]);
        assert!(live.lines().any(|l| l.ends_with("300")), "{live}");
        assert_eq!(r.inspect("wt", "{{.HostConfig.BlkioWeight}}"), "300");
        r.ok(&["rm", "-f", "wt"]);
    }

    // Stored and shown under Docker's names.
    let wdev = format!("{d}:300");
    r.ok(&[
        "create",
        "--name",
        "thr",
        "--device-write-bps",
        &wbps,
        "--blkio-weight-device",
        &wdev,
        "alpine:test",
        "true",
    ]);
    assert_eq!(
        r.inspect("thr", "{{json .HostConfig.BlkioDeviceWriteBps}}"),
        format!("[{{\"Path\":\"{d}\",\"Rate\":1048576}}]")
    );
    assert_eq!(
        r.inspect("thr", "{{json .HostConfig.BlkioWeightDevice}}"),
        format!("[{{\"Path\":\"{d}\",\"Weight\":300}}]")
    );
    assert_eq!(
        r.inspect("thr", "{{json .HostConfig.BlkioDeviceReadBps}}"),
        "[]"
    );

    // Bad values: a clear error naming the flag, exit 125, nothing made.
    let before = r.all_ids().len();
    for (flag, value, says) in [
        ("--device-write-bps", d.to_owned(), "DEVICE:RATE"),
        ("--device-write-bps", format!("{d}:fast"), "DEVICE:RATE"),
        ("--device-read-iops", format!("{d}:1mb"), "whole number"),
        (
            "--device-write-bps",
            "/dev/null:1mb".to_owned(),
            "not a block device",
        ),
        (
            "--device-write-bps",
            "/dev/berth-no-such-disk:1mb".to_owned(),
            "/dev/berth-no-such-disk",
        ),
        (
            "--blkio-weight-device",
            format!("{d}:5"),
            "between 10 and 1000",
        ),
    ] {
        let e = r.fails(&["run", "--rm", flag, &value, "alpine:test", "true"], 125);
        assert!(e.contains(flag) && e.contains(says), "{flag} {value}: {e}");
    }
    assert_eq!(r.all_ids().len(), before);
    // `update` takes --blkio-weight as Docker's does, with the same range check.
    let e = r.fails(&["update", "--blkio-weight", "5", "thr"], 1);
    assert!(e.contains("--blkio-weight"), "{e}");
}

/// A cgroup parent in every hierarchy, removed on drop (after the containers in it).
struct CgroupParent {
    name: String,
}

impl CgroupParent {
    fn dirs(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Ok(rd) = fs_err::read_dir("/sys/fs/cgroup") {
            for e in rd.flatten() {
                out.push(e.path().join(&self.name));
            }
        }
        out.push(Path::new("/sys/fs/cgroup").join(&self.name));
        out
    }
}

impl Drop for CgroupParent {
    fn drop(&mut self) {
        for d in self.dirs() {
            let _ = fs_err::remove_dir(&d);
        }
    }
}

#[test]
fn realtime_budgets_follow_docker() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let e = r.fails(
        &[
            "run",
            "--rm",
            "--cpu-rt-period",
            "1000",
            "--cpu-rt-runtime",
            "2000",
            "alpine:test",
            "true",
        ],
        125,
    );
    assert!(e.contains("--cpu-rt-"), "{e}");
    let cpu = Path::new("/sys/fs/cgroup/cpu");
    if !cpu.join("cpu.rt_runtime_us").exists() {
        // cgroup v2 or no CONFIG_RT_GROUP_SCHED: Docker refuses the flags.
        let e = r.fails(
            &[
                "run",
                "--rm",
                "--cpu-rt-runtime",
                "1000",
                "alpine:test",
                "true",
            ],
            125,
        );
        assert!(e.contains("real-time scheduler"), "{e}");
        return;
    }
    // berth's own parent has no realtime budget: the kernel's refusal is explained.
    let e = r.fails(
        &[
            "run",
            "--rm",
            "--cpu-rt-runtime",
            "10000",
            "alpine:test",
            "true",
        ],
        125,
    );
    assert!(e.contains("realtime budget") && e.contains("hint:"), "{e}");
    // A parent with a budget: the container gets its share.
    let parent = CgroupParent {
        // Not named berth*: the runtime removes its own empty parents.
        name: format!("rt-budget-test-{}", std::process::id()),
    };
    let pdir = cpu.join(&parent.name);
    fs_err::create_dir_all(&pdir).unwrap();
    fs_err::write(pdir.join("cpu.rt_runtime_us"), "20000").unwrap();
    let got = sh(
        &r,
        &[
            "--cgroup-parent",
            &parent.name,
            "--cpu-rt-period",
            "1000000",
            "--cpu-rt-runtime",
            "10000",
        ],
        "cat /sys/fs/cgroup/cpu/cpu.rt_runtime_us /sys/fs/cgroup/cpu/cpu.rt_period_us",
    );
    assert_eq!(got, "10000\n1000000");
    // `update --cpu-rt-runtime` reaches the live cgroup; over the parent's budget it is
    // refused and changes nothing.
    r.ok(&[
        "run",
        "-d",
        "--name",
        "rtlive",
        "--cgroup-parent",
        &parent.name,
        "--cpu-rt-runtime",
        "5000",
        "alpine:test",
        "sleep",
        "300",
    ]);
    let live = || {
        r.ok(&[
            "exec",
            "rtlive",
            "cat",
            "/sys/fs/cgroup/cpu/cpu.rt_runtime_us",
        ])
        .trim()
        .to_owned()
    };
    assert_eq!(live(), "5000");
    r.ok(&["update", "--cpu-rt-runtime", "8000", "rtlive"]);
    assert_eq!(live(), "8000");
    let e = r.fails(&["update", "--cpu-rt-runtime", "30000", "rtlive"], 1);
    assert!(e.contains("realtime budget"), "{e}");
    assert_eq!(live(), "8000");
    assert_eq!(
        r.inspect("rtlive", "{{.HostConfig.CpuRealtimeRuntime}}"),
        "8000"
    );
    r.ok(&["rm", "-f", "rtlive"]);
    r.ok(&[
        "create",
        "--name",
        "rt",
        "--cpu-rt-runtime",
        "10000",
        "alpine:test",
        "true",
    ]);
    assert_eq!(
        r.inspect("rt", "{{.HostConfig.CpuRealtimeRuntime}}"),
        "10000"
    );
    assert_eq!(r.inspect("rt", "{{.HostConfig.CpuRealtimePeriod}}"), "0");
    r.ok(&["rm", "rt"]);
}

#[test]
fn runtime_gpus_and_storage_opt_follow_docker() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    // berth is its own runtime; runc (Docker's default name) and berth name it.
    for name in ["runc", "berth"] {
        assert_eq!(sh(&r, &["--runtime", name], "echo ok"), "ok");
    }
    r.ok(&["create", "--name", "plain", "alpine:test", "true"]);
    assert_eq!(r.inspect("plain", "{{.HostConfig.Runtime}}"), "runc");
    assert_eq!(
        r.inspect("plain", "{{json .HostConfig.DeviceRequests}}"),
        "null"
    );
    let e = r.fails(&["run", "--runtime", "crun", "alpine:test", "true"], 125);
    assert!(e.contains("unknown or invalid runtime name: crun"), "{e}");

    // No GPU driver: Docker's own words, before anything is made (or pulled).
    let e = r.fails(&["run", "--gpus", "all", "alpine:test", "true"], 125);
    assert!(
        e.contains("could not select device driver \"\" with capabilities: [[gpu]]"),
        "{e}"
    );
    let e = r.fails(
        &[
            "run",
            "--gpus",
            "\"capabilities=compute,utility\"",
            "no-such-image",
            "true",
        ],
        125,
    );
    assert!(e.contains("capabilities: [[compute utility gpu]]"), "{e}");
    let e = r.fails(&["run", "--gpus", "two", "alpine:test", "true"], 125);
    assert!(e.contains("--gpus") && e.contains("two"), "{e}");

    // The store is not on xfs with project quotas here, so a size is Docker's error.
    let e = r.fails(
        &["run", "--storage-opt", "size=10G", "alpine:test", "true"],
        125,
    );
    assert!(
        e.contains(
            "--storage-opt is supported only for overlay over xfs with 'pquota' mount option"
        ),
        "{e}"
    );
    let e = r.fails(
        &["run", "--storage-opt", "color=red", "alpine:test", "true"],
        125,
    );
    assert!(e.contains("unknown storage option \"color\""), "{e}");
    let e = r.fails(
        &["run", "--storage-opt", "size", "alpine:test", "true"],
        125,
    );
    assert!(e.contains("KEY=VALUE"), "{e}");
    assert_eq!(r.all_ids().len(), 1, "refused runs leave no container");
}
