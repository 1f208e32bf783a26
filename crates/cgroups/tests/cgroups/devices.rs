//! Device rules: a process in the cgroup can open allowed devices and gets EPERM for others.

use std::path::Path;
use std::time::Duration;

use oci_spec::runtime::{
    LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxResourcesBuilder,
};

use crate::support::{Guard, can_run};

fn rule(
    allow: bool,
    ty: LinuxDeviceType,
    major: i64,
    minor: i64,
    access: &str,
) -> LinuxDeviceCgroup {
    LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .typ(ty)
        .major(major)
        .minor(minor)
        .access(access)
        .build()
        .unwrap()
}

fn deny_all() -> LinuxDeviceCgroup {
    LinuxDeviceCgroupBuilder::default()
        .allow(false)
        .access("rwm")
        .build()
        .unwrap()
}

/// Makes char device nodes null (1:3) and urandom (1:9) in `dir`.
pub fn make_nodes(dir: &Path) {
    use nix::sys::stat::{Mode, SFlag, makedev, mknod};
    for (name, minor) in [("null", 3), ("urandom", 9)] {
        mknod(
            &dir.join(name),
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            makedev(1, minor),
        )
        .unwrap();
    }
}

/// The probe run inside the cgroup: which nodes can be opened for reading and writing.
pub fn probe(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "for n in null urandom; do \
           if head -c1 {d}/$n >/dev/null 2>{d}/err-r-$n; then echo r-$n-ok; else echo r-$n-denied; fi; \
           if (echo x > {d}/$n) 2>{d}/err-w-$n; then echo w-$n-ok; else echo w-$n-denied; fi; \
         done"
    )
}

/// Runs the probe in the guard's cgroup and returns its stdout.
pub fn run_probe(g: &mut Guard, dir: &Path) -> String {
    let (i, _) = g.spawn_sh(&probe(dir));
    let st = g.wait(i, Duration::from_secs(10));
    let (out, err) = g.output(i);
    assert!(st.success(), "{st:?}: {out} {err}");
    out
}

#[test]
fn v1_devices_deny_and_allow_in_spec_order() {
    if !can_run() {
        return;
    }
    let mut g = Guard::new("devices");
    let Some(dev_dir) = g.cg.v1_dir("devices").unwrap() else {
        eprintln!("skipping: no v1 devices hierarchy (pure v2 host; the BPF test covers it)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    make_nodes(tmp.path());
    // /dev/null (the real one) too, for the shell's own redirections.
    let rules = vec![
        deny_all(),
        rule(true, LinuxDeviceType::C, 1, 3, "rwm"),
        rule(true, LinuxDeviceType::C, 1, 9, "r"),
    ];
    g.cg.apply(
        &LinuxResourcesBuilder::default()
            .devices(rules)
            .build()
            .unwrap(),
    )
    .unwrap();
    let list = fs_err::read_to_string(dev_dir.join("devices.list")).unwrap();
    assert!(
        list.contains("c 1:3 rwm") && list.contains("c 1:9 r"),
        "{list}"
    );
    assert!(!list.contains("a *:* rwm"), "{list}");
    let out = run_probe(&mut g, tmp.path());
    assert_eq!(
        out,
        "r-null-ok\nw-null-ok\nr-urandom-ok\nw-urandom-denied\n"
    );
    let err = fs_err::read_to_string(tmp.path().join("err-w-urandom")).unwrap();
    assert!(err.contains("Operation not permitted"), "{err}");
    // A later deny wins over an earlier allow.
    let rules = vec![
        deny_all(),
        rule(true, LinuxDeviceType::C, 1, 3, "rwm"),
        rule(true, LinuxDeviceType::C, 1, 9, "rwm"),
        rule(false, LinuxDeviceType::C, 1, 9, "rwm"),
    ];
    g.cg.apply(
        &LinuxResourcesBuilder::default()
            .devices(rules)
            .build()
            .unwrap(),
    )
    .unwrap();
    let out = run_probe(&mut g, tmp.path());
    assert_eq!(
        out,
        "r-null-ok\nw-null-ok\nr-urandom-denied\nw-urandom-denied\n"
    );
}
