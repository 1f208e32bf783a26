//! Behaviour the OCI runtime spec and runc's users (containerd, runtime-tools) rely on.

use serde_json::{Value, json};

use crate::common::{BundleDir, Oci, skip_unless_root};

fn hook_logging(logp: &str, name: &str, fail: bool) -> Value {
    let tail = if fail { "; exit 1" } else { "" };
    json!({"path": "/bin/sh", "args": ["sh", "-c", format!("read s; echo \"{name} $s\" >> {logp}{tail}")]})
}

#[test]
fn delete_of_a_created_container_needs_force_and_changes_nothing() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let b = BundleDir::new(&["true"]);
    let id = oci.create(&b, "delcreated");
    let before = oci.state(&id);
    let out = oci.run(&["delete", &id]);
    assert!(
        !out.status.success(),
        "delete of a created container must fail without --force"
    );
    assert_eq!(oci.state(&id), before);
    let out = oci.run(&["delete", "--force", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn failing_poststart_and_poststop_hooks_are_warnings_and_the_rest_still_run() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let logdir = tempfile::tempdir().unwrap();
    let logp = logdir.path().join("log").to_str().unwrap().to_string();
    let mut b = BundleDir::new(&["true"]);
    b.spec["hooks"] = json!({
        "poststart": [hook_logging(&logp, "poststart1", true), hook_logging(&logp, "poststart2", false)],
        "poststop": [hook_logging(&logp, "poststop1", true), hook_logging(&logp, "poststop2", false)],
    });
    let id = oci.create(&b, "hookwarn");
    let out = oci.run(&["start", &id]);
    assert!(
        out.status.success(),
        "a failing poststart hook must not fail start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: poststart hook"));
    oci.wait_stopped(&id);
    let out = oci.run(&["delete", &id]);
    assert!(
        out.status.success(),
        "a failing poststop hook must not fail delete: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&logp).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let names: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        names,
        ["poststart1", "poststart2", "poststop1", "poststop2"]
    );
    // poststart sees the container running, with the pid `state` reported.
    let st: Value = serde_json::from_str(lines[1].split_once(' ').unwrap().1).unwrap();
    assert_eq!(st["status"], "running");
    assert!(st["pid"].as_i64().unwrap() > 0);
}

#[test]
fn prestart_hook_sees_created_state() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let logdir = tempfile::tempdir().unwrap();
    let logp = logdir.path().join("log").to_str().unwrap().to_string();
    let mut b = BundleDir::new(&["true"]);
    b.spec["hooks"] = json!({"prestart": [hook_logging(&logp, "prestart", false)]});
    let (code, _, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&logp).unwrap();
    let st: Value = serde_json::from_str(text.trim().split_once(' ').unwrap().1).unwrap();
    assert_eq!(st["status"], "created");
    assert!(st["pid"].as_i64().unwrap() > 0);
}

#[test]
fn failing_start_container_hook_makes_start_fail() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let mut b = BundleDir::new(&["true"]);
    b.spec["hooks"] = json!({"startContainer": [{"path": "/bin/false"}]});
    let id = oci.create(&b, "startfail");
    let out = oci.run(&["start", &id]);
    assert!(
        !out.status.success(),
        "start must report the init's failure"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("startContainer hook /bin/false"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn device_cgroup_deny_all_still_allows_the_standard_devices() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    // /dev/mem (c 1:1) is created but not allowed by the device cgroup.
    let mut b = BundleDir::new(&[
        "sh",
        "-c",
        "echo ok > /dev/null && echo null-ok; head -c 1 /dev/mem >/dev/null 2>&1; echo mem=$?",
    ]);
    b.spec["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
    b.spec["linux"]["devices"] =
        json!([{"path": "/dev/mem", "type": "c", "major": 1, "minor": 1, "fileMode": 384}]);
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("null-ok"), "{out} {err}");
    // linux.devices entries are allowed (as runc does); a device not listed stays denied.
    assert!(out.contains("mem=0") || out.contains("mem=1"), "{out}");
    let mut b = BundleDir::new(&[
        "sh",
        "-c",
        "mknod /tmp/kmsg c 1 11; head -c 1 /tmp/kmsg >/dev/null 2>&1; echo kmsg=$?",
    ]);
    b.spec["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("kmsg=1"),
        "a device outside the allow list must be denied: {out} {err}"
    );
}

#[test]
fn every_rootfs_propagation_mode_works() {
    if skip_unless_root() {
        return;
    }
    // slave: the root is not a peer of the host's mounts (it receives, never sends).
    for (mode, want) in [
        ("shared", "shared:"),
        ("slave", ""),
        ("private", ""),
        ("unbindable", "unbindable"),
    ] {
        let oci = Oci::new();
        let mut b = BundleDir::new(&["sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo"]);
        b.spec["linux"]["rootfsPropagation"] = json!(mode);
        let (code, out, err) = oci.run_bundle(&b);
        assert_eq!(code, 0, "{mode}: {err}");
        if want.is_empty() {
            assert!(!out.contains("shared:"), "{mode}: {out}");
        } else {
            assert!(out.contains(want), "{mode}: {out}");
        }
    }
}

#[test]
fn cgroup_namespace_makes_the_container_cgroup_its_root() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let b = BundleDir::new(&["cat", "/proc/self/cgroup"]);
    // runc's default spec (ours too) has a cgroup namespace.
    assert!(
        b.spec["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .contains(&json!({"type": "cgroup"}))
    );
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "{err}");
    // Every hierarchy's path is "/" from inside: the container cannot see where it sits.
    for line in out.lines() {
        assert!(line.ends_with(":/"), "{out}");
    }
}

#[test]
fn time_namespace_offsets_boottime() {
    if skip_unless_root() {
        return;
    }
    if !std::path::Path::new("/proc/self/ns/time").exists() {
        eprintln!("skipped: this kernel has no time namespaces");
        return;
    }
    let oci = Oci::new();
    let mut b = BundleDir::new(&["cat", "/proc/uptime"]);
    b.spec["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "time"}));
    b.spec["linux"]["timeOffsets"] = json!({"boottime": {"secs": 864000, "nanosecs": 0}});
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "{err}");
    let inside: f64 = out.split_whitespace().next().unwrap().parse().unwrap();
    let host: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(inside >= host + 863_000.0, "inside {inside} host {host}");
}

#[test]
fn oom_score_adj_and_umask_are_applied() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let mut b = BundleDir::new(&["sh", "-c", "cat /proc/self/oom_score_adj; umask"]);
    b.spec["process"]["oomScoreAdj"] = json!(500);
    b.spec["process"]["user"]["umask"] = json!(0o027);
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "500\n0027\n");
}

#[test]
fn console_socket_receives_the_pty_master() {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::net::UnixListener;
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let sockdir = tempfile::tempdir().unwrap();
    let sock = sockdir.path().join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let mut b = BundleDir::new(&["sh", "-c", "tty; echo console-ok"]);
    b.spec["process"]["terminal"] = json!(true);
    b.save();
    let id = crate::common::unique_id("console");
    let (ok, err) = oci.run_detached(&[
        "create",
        "--console-socket",
        sock.to_str().unwrap(),
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]);
    assert!(ok, "{err}");
    // runc's protocol: one message carrying the master as SCM_RIGHTS.
    let (conn, _) = listener.accept().unwrap();
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let mut buf = [0u8; 256];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = nix::sys::socket::recvmsg::<()>(
        std::os::fd::AsRawFd::as_raw_fd(&conn),
        &mut iov,
        Some(&mut cmsg),
        nix::sys::socket::MsgFlags::empty(),
    )
    .unwrap();
    let mut master = None;
    for c in msg.cmsgs().unwrap() {
        if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
            master = Some(unsafe { OwnedFd::from_raw_fd(fds[0]) });
        }
    }
    let master = master.expect("no pty master received");
    let out = oci.run(&["start", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut f = std::fs::File::from(master);
    let mut text = String::new();
    let mut chunk = [0u8; 1024];
    // Read until the slave side closes (EIO) or we have what we need.
    while !text.contains("console-ok") {
        match f.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&chunk[..n])),
        }
    }
    assert!(text.contains("/dev/pts/0"), "{text}");
    assert!(text.contains("console-ok"), "{text}");
}

#[test]
fn cgroup_mount_shows_the_containers_own_limits() {
    if skip_unless_root() {
        return;
    }
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let file = if v2 {
        "/sys/fs/cgroup/pids.max"
    } else {
        "/sys/fs/cgroup/pids/pids.max"
    };
    let oci = Oci::new();
    let mut b = BundleDir::new(&["cat", file]);
    b.spec["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
        "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
    }));
    b.spec["linux"]["resources"] = json!({"pids": {"limit": 77}});
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "77");
}

#[test]
fn namespaced_sysctl_is_written_inside() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let mut b = BundleDir::new(&[
        "cat",
        "/proc/sys/net/ipv4/ip_forward",
        "/proc/sys/kernel/shmmni",
    ]);
    b.spec["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"});
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1\n1234\n");
}
