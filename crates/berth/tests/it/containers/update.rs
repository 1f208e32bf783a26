//! `update`: new limits reach the live cgroup and later starts; a bad value changes
//! nothing; a new restart policy is honoured by the running container's monitor.

use super::{Root, skip};

/// A cgroup value as the container itself sees it (v1 or v2 names).
fn cgroup(r: &Root, name: &str, v1: &str, v2: &str) -> String {
    let script = format!("cat /sys/fs/cgroup/{v2} 2>/dev/null || cat /sys/fs/cgroup/{v1}");
    r.ok(&["exec", name, "sh", "-c", &script]).trim().to_owned()
}

fn memory(r: &Root, name: &str) -> String {
    cgroup(r, name, "memory/memory.limit_in_bytes", "memory.max")
}

#[test]
fn update_changes_live_limits_and_later_starts() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&[
        "run",
        "-d",
        "--name",
        "lim",
        "-m",
        "64m",
        "--pids-limit",
        "40",
        "alpine:test",
        "sleep",
        "300",
    ]);
    assert_eq!(memory(&r, "lim"), "67108864");

    assert_eq!(
        r.ok(&[
            "update",
            "-m",
            "128m",
            "--memory-swap",
            "256m",
            "--pids-limit",
            "20",
            "lim"
        ])
        .trim(),
        "lim"
    );
    assert_eq!(memory(&r, "lim"), "134217728");
    assert_eq!(cgroup(&r, "lim", "pids/pids.max", "pids.max"), "20");
    assert_eq!(
        r.inspect(
            "lim",
            "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}}"
        ),
        "134217728 268435456 20"
    );

    // Below the minimum: refused, and the limit stays what it was.
    let e = r.fails(&["update", "-m", "1m", "lim"], 1);
    assert!(e.contains("--memory"), "{e}");
    assert_eq!(memory(&r, "lim"), "134217728");
    // A swap limit below the memory limit is refused too.
    let e = r.fails(&["update", "-m", "512m", "lim"], 1);
    assert!(e.contains("--memory-swap"), "{e}");
    let e = r.fails(&["update", "lim"], 1);
    assert!(e.contains("--memory"), "{e}");

    // --pids-limit -1 lifts the limit.
    r.ok(&["update", "--pids-limit", "-1", "lim"]);
    assert_eq!(cgroup(&r, "lim", "pids/pids.max", "pids.max"), "max");

    // A stopped container gets the new limit when it starts again.
    r.ok(&["stop", "-t", "0", "lim"]);
    r.ok(&["update", "-m", "100m", "--memory-swap", "-1", "lim"]);
    r.ok(&["start", "lim"]);
    assert_eq!(memory(&r, "lim"), "104857600");

    let e = r.fails(&["update", "-m", "100m", "nosuch"], 1);
    assert!(e.contains("nosuch"), "{e}");
}

#[test]
fn update_changes_cfs_quota_memory_reservation_and_mems() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&[
        "run",
        "-d",
        "--name",
        "cfs",
        "-m",
        "64m",
        "alpine:test",
        "sleep",
        "300",
    ]);
    assert_eq!(
        r.ok(&[
            "update",
            "--cpu-period",
            "50000",
            "--cpu-quota",
            "25000",
            "--memory-reservation",
            "32m",
            "--cpuset-mems",
            "0",
            "cfs",
        ])
        .trim(),
        "cfs"
    );
    let quota = || {
        cgroup(&r, "cfs", "cpu/cpu.cfs_quota_us", "cpu.max")
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(quota(), "25000");
    let period = cgroup(&r, "cfs", "cpu/cpu.cfs_period_us", "cpu.max");
    assert_eq!(period.split_whitespace().last(), Some("50000"), "{period}");
    assert_eq!(
        cgroup(&r, "cfs", "memory/memory.soft_limit_in_bytes", "memory.low"),
        "33554432"
    );
    assert_eq!(cgroup(&r, "cfs", "cpuset/cpuset.mems", "cpuset.mems"), "0");
    assert_eq!(
        r.inspect(
            "cfs",
            "{{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}} {{.HostConfig.MemoryReservation}} {{.HostConfig.CpusetMems}}"
        ),
        "50000 25000 33554432 0"
    );

    // Docker's conflicts and limits: nothing changes.
    let e = r.fails(&["update", "--cpus", "1", "cfs"], 1);
    assert!(e.contains("Conflicting options"), "{e}");
    let e = r.fails(&["update", "--memory-reservation", "128m", "cfs"], 1);
    assert!(e.contains("--memory-reservation"), "{e}");
    let e = r.fails(&["update", "--cpu-quota", "10", "cfs"], 1);
    assert!(e.contains("--cpu-quota"), "{e}");
    assert_eq!(quota(), "25000");
    assert_eq!(
        r.inspect("cfs", "{{.HostConfig.MemoryReservation}}"),
        "33554432"
    );

    // -1 lifts the quota.
    r.ok(&["update", "--cpu-quota", "-1", "cfs"]);
    assert!(matches!(quota().as_str(), "-1" | "max"), "{}", quota());
    assert_eq!(r.inspect("cfs", "{{.HostConfig.CpuQuota}}"), "-1");

    // A container limited with --cpus cannot take a quota on top.
    r.ok(&[
        "run",
        "-d",
        "--name",
        "nano",
        "--cpus",
        "0.5",
        "alpine:test",
        "sleep",
        "300",
    ]);
    let e = r.fails(&["update", "--cpu-quota", "20000", "nano"], 1);
    assert!(e.contains("NanoCPUs"), "{e}");
}

#[test]
fn update_restart_policy_reaches_the_running_monitor() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    // Exits with 3 once /tmp/go exists, so the policy can be changed first.
    r.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "alpine:test",
        "sh",
        "-c",
        "while [ ! -e /tmp/go ]; do sleep 0.1; done; rm /tmp/go; exit 3",
    ]);
    r.ok(&["update", "--restart", "on-failure:1", "flaky"]);
    assert_eq!(
        r.inspect("flaky", "{{.HostConfig.RestartPolicy.Name}}"),
        "on-failure"
    );
    r.ok(&["exec", "flaky", "touch", "/tmp/go"]);
    r.wait_for(20, "the restart", || {
        r.inspect("flaky", "{{.RestartCount}}") == "1"
            && r.inspect("flaky", "{{.State.Status}}") == "running"
    });

    r.ok(&[
        "run",
        "-d",
        "--rm",
        "--name",
        "gone",
        "alpine:test",
        "sleep",
        "300",
    ]);
    let e = r.fails(&["update", "--restart", "always", "gone"], 1);
    assert!(e.contains("--rm"), "{e}");
    r.ok(&["rm", "-f", "gone"]);
}
