//! `run --rm` on its fast path: nothing of the container stays (row, directory,
//! mount, cgroup, runtime state), the event log holds whole lines, and a lone
//! `ps` after it still sees a consistent store.

use std::path::Path;

use super::{Root, skip};

/// Every cgroup directory named after `id` under the host's hierarchies.
fn cgroups_of(id: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(ctrls) = fs_err::read_dir("/sys/fs/cgroup") else {
        return found;
    };
    for ctrl in ctrls.flatten() {
        for parent in [ctrl.path(), ctrl.path().join("berth")] {
            let dir = parent.join(id);
            if dir.exists() {
                found.push(dir.display().to_string());
            }
        }
    }
    found
}

#[test]
fn run_rm_leaves_no_row_mount_cgroup_or_state() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let cidfile = r.dir.path().join("cid");
    for net in ["none", "bridge"] {
        let _ = fs_err::remove_file(&cidfile);
        let out = r.ok(&[
            "run",
            "--rm",
            "--network",
            net,
            "--cidfile",
            cidfile.to_str().unwrap(),
            "alpine:test",
            "sh",
            "-c",
            "cat /proc/self/cgroup | grep -c . ; echo done",
        ]);
        assert!(out.ends_with("done\n"), "{out}");
        let id = fs_err::read_to_string(&cidfile).unwrap();
        let id = id.trim();
        assert_eq!(id.len(), 64, "{id}");
        assert!(r.all_ids().is_empty(), "row left behind");
        assert!(!r.dir.path().join("containers").join(id).exists());
        let mounts = fs_err::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!mounts.contains(r.dir.path().to_str().unwrap()), "{mounts}");
        assert_eq!(cgroups_of(id), Vec::<String>::new(), "cgroups left behind");
        let state = r.dir.path().join("run/oci").join(id);
        assert!(!Path::new(&state).exists(), "runtime state left behind");
    }
    // One whole JSON object per line, also for lines written back to back.
    let log = fs_err::read_to_string(r.dir.path().join("events.log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() >= 8, "{log}");
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["Type"], "container", "{l}");
    }
    // The store was closed cleanly each time: no process marker is left, and the
    // next lone command finds it consistent.
    let active = fs_err::read_dir(r.dir.path().join("locks/active"))
        .unwrap()
        .count();
    assert_eq!(active, 0);
    assert_eq!(r.ok(&["ps", "-a", "-q"]), "");
}

#[test]
fn a_killed_run_rm_leaves_no_container_behind() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let cidfile = r.dir.path().join("cid");
    let mut run = r
        .cmd(&[
            "run",
            "--rm",
            "--cidfile",
            cidfile.to_str().unwrap(),
            "alpine:test",
            "sleep",
            "600",
        ])
        .spawn()
        .unwrap();
    r.wait_for(20, "the container to run", || {
        r.ok(&["ps", "-q"]).lines().count() == 1
    });
    let id = fs_err::read_to_string(&cidfile).unwrap().trim().to_owned();
    // berth itself dies, as with kill -9: it cannot remove the container.
    run.kill().unwrap();
    run.wait().unwrap();
    // The next look at the containers finishes the job, as Docker's daemon does.
    assert_eq!(r.ok(&["ps", "-a", "-q"]), "");
    assert!(r.all_ids().is_empty(), "row left behind");
    assert!(!r.dir.path().join("containers").join(&id).exists());
    assert_eq!(cgroups_of(&id), Vec::<String>::new(), "cgroups left behind");
    let sleeping = std::process::Command::new("pgrep")
        .args(["-f", "sleep 600"])
        .output()
        .unwrap();
    let pids = String::from_utf8_lossy(&sleeping.stdout);
    // Other tests may run a `sleep 600` of their own: only this container's must be gone.
    for pid in pids.lines() {
        let cg = fs_err::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        assert!(!cg.contains(&id), "the container's process lives on: {pid}");
    }
}
