//! `run` flags that reach into the kernel: shared namespaces, sysctls, /dev/shm,
//! OOM score, finer limits, device rules, domain name, `--volumes-from`, `--label-file`.

use super::{Root, skip};

pub(super) fn sh(r: &Root, flags: &[&str], script: &str) -> String {
    let mut a = vec!["run", "--rm"];
    a.extend_from_slice(flags);
    a.extend_from_slice(&["alpine:test", "sh", "-c", script]);
    r.ok(&a).trim().to_owned()
}

#[test]
fn namespaces_are_shared_as_asked() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&[
        "run",
        "-d",
        "--name",
        "ns-owner",
        "alpine:test",
        "sleep",
        "300",
    ]);
    let owner = |ns: &str| {
        r.ok(&["exec", "ns-owner", "readlink", &format!("/proc/1/ns/{ns}")])
            .trim()
            .to_owned()
    };
    // container:NAME joins the other container's namespace, so its processes are seen.
    assert_eq!(
        sh(
            &r,
            &["--pid", "container:ns-owner"],
            "readlink /proc/self/ns/pid"
        ),
        owner("pid")
    );
    assert!(sh(&r, &["--pid", "container:ns-owner"], "ps -o comm").contains("sleep"));
    assert_eq!(
        sh(
            &r,
            &["--ipc", "container:ns-owner"],
            "readlink /proc/self/ns/ipc"
        ),
        owner("ipc")
    );
    // Private by default.
    assert_ne!(sh(&r, &[], "readlink /proc/self/ns/ipc"), owner("ipc"));
    // host: the host's own.
    let host_pid = fs_err::read_link("/proc/self/ns/pid").unwrap();
    assert_eq!(
        sh(&r, &["--pid", "host"], "readlink /proc/self/ns/pid"),
        host_pid.to_str().unwrap()
    );
    let host_name = fs_err::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(sh(&r, &["--uts", "host"], "hostname"), host_name.trim());
    assert_eq!(
        sh(
            &r,
            &["--domainname", "example.org"],
            "cat /proc/sys/kernel/domainname"
        ),
        "example.org"
    );
    // --ipc none: no /dev/shm at all.
    assert_eq!(sh(&r, &["--ipc", "none"], "test -e /dev/shm; echo $?"), "1");

    // A stopped owner cannot be joined; bad modes are refused before anything is made.
    r.ok(&["stop", "-t", "0", "ns-owner"]);
    let e = r.fails(
        &[
            "run",
            "--rm",
            "--pid",
            "container:ns-owner",
            "alpine:test",
            "true",
        ],
        125,
    );
    assert!(e.contains("start that container first"), "{e}");
    let before = r.all_ids().len();
    let e = r.fails(
        &[
            "run",
            "--rm",
            "--uts",
            "container:ns-owner",
            "alpine:test",
            "true",
        ],
        125,
    );
    assert!(e.contains("--uts"), "{e}");
    let e = r.fails(
        &[
            "run",
            "--rm",
            "--uts",
            "host",
            "-h",
            "x",
            "alpine:test",
            "true",
        ],
        125,
    );
    assert!(e.contains("--hostname"), "{e}");
    assert_eq!(r.all_ids().len(), before, "nothing was created");
}

#[test]
fn sysctls_shm_oom_and_limits_reach_the_kernel() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    assert_eq!(
        sh(
            &r,
            &["--sysctl", "net.core.somaxconn=1234"],
            "cat /proc/sys/net/core/somaxconn"
        ),
        "1234"
    );
    assert_eq!(
        sh(
            &r,
            &["--sysctl", "kernel.shmmni=1000"],
            "cat /proc/sys/kernel/shmmni"
        ),
        "1000"
    );
    let e = r.fails(
        &[
            "run",
            "--rm",
            "--sysctl",
            "vm.swappiness=1",
            "alpine:test",
            "true",
        ],
        125,
    );
    assert!(e.contains("not namespaced"), "{e}");
    let e = r.fails(
        &[
            "run",
            "--rm",
            "--network",
            "host",
            "--sysctl",
            "net.core.somaxconn=1",
            "alpine:test",
            "true",
        ],
        125,
    );
    assert!(e.contains("--network host"), "{e}");

    // 128 MiB /dev/shm (Docker's default is 64 MiB).
    assert_eq!(
        sh(
            &r,
            &["--shm-size", "128m"],
            "df -k /dev/shm | tail -1 | awk '{print $2}'"
        ),
        "131072"
    );
    assert_eq!(
        sh(&r, &[], "df -k /dev/shm | tail -1 | awk '{print $2}'"),
        "65536"
    );
    assert_eq!(
        sh(
            &r,
            &["--oom-score-adj", "500"],
            "cat /proc/self/oom_score_adj"
        ),
        "500"
    );
    let e = r.fails(
        &[
            "run",
            "--rm",
            "--oom-score-adj",
            "5000",
            "alpine:test",
            "true",
        ],
        125,
    );
    assert!(e.contains("--oom-score-adj"), "{e}");

    let quota = sh(
        &r,
        &["--cpu-period", "50000", "--cpu-quota", "25000"],
        "cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)",
    );
    assert_eq!(quota, "25000 50000");
    let e = r.fails(
        &[
            "run",
            "--rm",
            "--cpus",
            "1",
            "--cpu-quota",
            "5000",
            "alpine:test",
            "true",
        ],
        125,
    );
    assert!(e.contains("--cpus"), "{e}");
    let soft = sh(
        &r,
        &["-m", "64m", "--memory-reservation", "32m"],
        "cat /sys/fs/cgroup/memory.low 2>/dev/null || cat /sys/fs/cgroup/memory/memory.soft_limit_in_bytes",
    );
    assert_eq!(soft, "33554432");

    // Device rules: a loop device is refused unless a rule allows it.
    let open_loop = "mknod /lp b 7 0 && head -c1 /lp >/dev/null 2>/tmp/e; cat /tmp/e";
    assert!(sh(&r, &[], open_loop).contains("not permitted"));
    assert!(!sh(&r, &["--device-cgroup-rule", "b 7:* rm"], open_loop).contains("not permitted"));
    let e = r.fails(
        &[
            "run",
            "--rm",
            "--device-cgroup-rule",
            "x 1:3 r",
            "alpine:test",
            "true",
        ],
        125,
    );
    assert!(e.contains("--device-cgroup-rule"), "{e}");
}

#[test]
fn volumes_from_and_label_files() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let host = tempfile::tempdir().unwrap();
    fs_err::write(host.path().join("h"), "host").unwrap();
    let bind = format!("{}:/hostdir", host.path().display());
    r.ok(&[
        "run",
        "--name",
        "data-owner",
        "-v",
        "shared:/data",
        "-v",
        &bind,
        "--tmpfs",
        "/scratch",
        "alpine:test",
        "sh",
        "-c",
        "echo kept > /data/x",
    ]);
    // The volume and the bind mount are shared at the same paths; the tmpfs is not.
    assert_eq!(
        sh(
            &r,
            &["--volumes-from", "data-owner"],
            "cat /data/x /hostdir/h; mountpoint -q /scratch; echo $?"
        ),
        "kept\nhost1"
    );
    sh(&r, &["--volumes-from", "data-owner"], "echo new > /data/y");
    assert_eq!(sh(&r, &["-v", "shared:/v"], "cat /v/y"), "new");
    // :ro makes all of them read-only.
    let out = sh(
        &r,
        &["--volumes-from", "data-owner:ro"],
        "touch /data/z 2>&1; touch /hostdir/z 2>&1; true",
    );
    assert_eq!(out.matches("Read-only file system").count(), 2, "{out}");
    let e = r.fails(
        &[
            "run",
            "--rm",
            "--volumes-from",
            "nosuch",
            "alpine:test",
            "true",
        ],
        125,
    );
    assert!(e.contains("nosuch"), "{e}");

    let labels = host.path().join("labels");
    fs_err::write(&labels, "# team labels\nteam=infra\ntier=db\n").unwrap();
    r.ok(&[
        "create",
        "--name",
        "labelled",
        "--label-file",
        labels.to_str().unwrap(),
        "-l",
        "tier=cache",
        "alpine:test",
        "true",
    ]);
    assert_eq!(
        r.inspect(
            "labelled",
            "{{index .Config.Labels \"team\"}} {{index .Config.Labels \"tier\"}}"
        ),
        "infra cache"
    );
}
