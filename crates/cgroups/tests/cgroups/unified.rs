//! The cgroup v2 code paths, exercised in the unified hierarchy (on hybrid hosts, a cgroup
//! that uses only the unified mount): BPF device filter, cgroup.freeze, cgroup.kill.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use berth_cgroups::v2::devices::attached_count;
use oci_spec::runtime::{LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxResourcesBuilder};

use crate::devices::{make_nodes, run_probe};
use crate::support::{Guard, can_run, cpu_ticks, eventually};

#[test]
fn bpf_device_filter_denies_unlisted_devices() {
    if !can_run() {
        return;
    }
    let Some(mut g) = Guard::unified_only("bpf") else {
        eprintln!("skipping: no unified hierarchy");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    make_nodes(tmp.path());
    let r = |allow: bool, minor: Option<i64>, access: &str| {
        let mut b = LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .access(access);
        if let Some(m) = minor {
            b = b.typ(LinuxDeviceType::C).major(1i64).minor(m);
        }
        b.build().unwrap()
    };
    let rules = vec![
        r(false, None, "rwm"),
        r(true, Some(3), "rwm"),
        r(true, Some(9), "r"),
    ];
    g.cg.apply(
        &LinuxResourcesBuilder::default()
            .devices(rules)
            .build()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(attached_count(&g.unified()).unwrap(), 1);
    let out = run_probe(&mut g, tmp.path());
    assert_eq!(
        out,
        "r-null-ok\nw-null-ok\nr-urandom-ok\nw-urandom-denied\n"
    );
    let err = fs_err::read_to_string(tmp.path().join("err-w-urandom")).unwrap();
    assert!(err.contains("Operation not permitted"), "{err}");

    // Update: the old program is replaced, not stacked (stacked programs would AND together).
    let rules = vec![
        r(false, None, "rwm"),
        r(true, Some(3), "rwm"),
        r(true, Some(9), "rw"),
    ];
    g.cg.apply(
        &LinuxResourcesBuilder::default()
            .devices(rules)
            .build()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(attached_count(&g.unified()).unwrap(), 1);
    let out = run_probe(&mut g, tmp.path());
    assert_eq!(out, "r-null-ok\nw-null-ok\nr-urandom-ok\nw-urandom-ok\n");
}

#[test]
fn v2_freeze_thaw_and_cgroup_kill() {
    if !can_run() {
        return;
    }
    let Some(mut g) = Guard::unified_only("v2freeze") else {
        eprintln!("skipping: no unified hierarchy");
        return;
    };
    if !g.unified().join("cgroup.freeze").exists() {
        eprintln!("skipping: kernel without cgroup.freeze");
        return;
    }
    let (i, pid) = g.spawn_sh("while :; do :; done");
    assert_eq!(g.cg.pids().unwrap(), vec![pid]);
    g.cg.freeze().unwrap();
    assert!(g.cg.is_frozen().unwrap());
    let events = fs_err::read_to_string(g.unified().join("cgroup.events")).unwrap();
    assert!(events.contains("frozen 1"), "{events}");
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(cpu_ticks(pid), before, "a frozen process used CPU");
    g.cg.thaw().unwrap();
    assert!(!g.cg.is_frozen().unwrap());
    assert!(eventually(Duration::from_secs(5), || cpu_ticks(pid) > before));
    g.cg.kill_all(libc::SIGKILL).unwrap();
    assert_eq!(
        g.wait(i, Duration::from_secs(5)).signal(),
        Some(libc::SIGKILL)
    );
    assert!(eventually(Duration::from_secs(5), || g
        .cg
        .pids()
        .unwrap()
        .is_empty()));
}
