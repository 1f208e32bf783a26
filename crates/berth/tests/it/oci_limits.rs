//! cgroup limits applied by `berth oci`, seen from inside and enforced by the kernel.

use serde_json::{Value, json};

use crate::common::{BundleDir, Oci, skip_unless_root, unique_id};

#[test]
fn memory_limit_oom_kills_a_hog() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    // dd allocates a 64 MiB buffer and touches it: far above the 16 MiB limit.
    let mut b = BundleDir::new(&["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=4"]);
    b.spec["linux"]["resources"] =
        json!({"memory": {"limit": 16 * 1024 * 1024, "swap": 16 * 1024 * 1024}});
    let (code, _, err) = oci.run_bundle(&b);
    assert_eq!(
        code,
        128 + 9,
        "expected SIGKILL by the OOM killer; stderr: {err}"
    );
}

#[test]
fn pids_limit_stops_a_fork_bomb() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    // The inner shell forks until the limit stops it; the outer one then counts the
    // processes through /proc (globbing needs no fork) and kills them (a builtin).
    let script = "sh -c 'for i in $(seq 1 40); do sleep 30 & done' 2>/dev/null; echo inner=$?; \
                  n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo procs=$n; kill -9 -1; true";
    let mut b = BundleDir::new(&["sh", "-c", script]);
    b.spec["linux"]["resources"] = json!({"pids": {"limit": 10}});
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "{err}");
    let procs: i64 = out
        .lines()
        .find_map(|l| l.strip_prefix("procs="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(99);
    assert!(
        out.contains("inner=2"),
        "the fork loop must have been stopped: {out} {err}"
    );
    assert!(procs <= 10, "pids limit 10 must hold: {out} {err}");
}

#[test]
fn cpu_and_memory_values_land_in_the_cgroup() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let mut b = BundleDir::new(&["sleep", "60"]);
    let cg = format!("/berth-it-{}", unique_id("cg"));
    b.spec["linux"]["cgroupsPath"] = json!(cg);
    b.spec["linux"]["resources"] = json!({
        "memory": {"limit": 64 * 1024 * 1024},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000},
        "pids": {"limit": 33}
    });
    let id = oci.run_d(&b, "cgv");
    let pid = oci.state(&id)["pid"].as_i64().unwrap();
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(own.contains(&cg), "init must be in {cg}: {own}");
    match berth_cgroups_mode() {
        Mode::V2 => {
            let base = format!("/sys/fs/cgroup{cg}");
            assert_eq!(read(&format!("{base}/memory.max")), "67108864");
            assert_eq!(read(&format!("{base}/cpu.max")), "50000 100000");
            assert_eq!(read(&format!("{base}/pids.max")), "33");
        }
        Mode::V1 => {
            assert_eq!(
                read(&format!("/sys/fs/cgroup/memory{cg}/memory.limit_in_bytes")),
                "67108864"
            );
            let cpu = if std::path::Path::new("/sys/fs/cgroup/cpu").is_dir() {
                "cpu"
            } else {
                "cpu,cpuacct"
            };
            assert_eq!(read(&format!("/sys/fs/cgroup/{cpu}{cg}/cpu.shares")), "512");
            assert_eq!(
                read(&format!("/sys/fs/cgroup/{cpu}{cg}/cpu.cfs_quota_us")),
                "50000"
            );
            assert_eq!(read(&format!("/sys/fs/cgroup/pids{cg}/pids.max")), "33");
        }
    }
    // update changes a live limit
    let out = oci.run(&["update", "--pids-limit", "44", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pids_file = match berth_cgroups_mode() {
        Mode::V2 => format!("/sys/fs/cgroup{cg}/pids.max"),
        Mode::V1 => format!("/sys/fs/cgroup/pids{cg}/pids.max"),
    };
    assert_eq!(read(&pids_file), "44");
    // events --stats reports the pids and the memory limit
    let out = oci.run(&["events", "--stats", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ev["type"], "stats");
    assert_eq!(ev["data"]["pids"]["current"], 1);
    assert_eq!(ev["data"]["memory"]["usage"]["limit"], 67108864);
    let out = oci.run(&["delete", "--force", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !std::path::Path::new(&pids_file).exists(),
        "delete must remove the cgroup"
    );
}

enum Mode {
    V1,
    V2,
}

fn berth_cgroups_mode() -> Mode {
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        Mode::V2
    } else {
        Mode::V1
    }
}

fn read(p: &str) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{p}: {e}"))
        .trim()
        .to_string()
}

#[test]
fn events_stream_reports_an_oom_kill() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let mut b = BundleDir::new(&[
        "sh",
        "-c",
        "sleep 1; dd if=/dev/zero of=/dev/null bs=64M count=1",
    ]);
    b.spec["linux"]["resources"] =
        json!({"memory": {"limit": 16 * 1024 * 1024, "swap": 16 * 1024 * 1024}});
    let id = oci.run_d(&b, "oomev");
    // The stream ends by itself when the container stops.
    let out = oci.run(&["events", "--interval", "200ms", &id]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.contains("\"type\":\"oom\"")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("\"type\":\"stats\"")),
        "{text}"
    );
}

#[test]
fn exec_cap_adds_a_capability() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let mut b = BundleDir::new(&["sleep", "60"]);
    let set = json!(["CAP_KILL"]);
    b.spec["process"]["capabilities"] =
        json!({"bounding": set, "effective": set, "permitted": set, "inheritable": set});
    let id = oci.run_d(&b, "execcap");
    let out = oci.run(&[
        "exec",
        "--cap",
        "CAP_NET_BIND_SERVICE",
        &id,
        "grep",
        "CapEff",
        "/proc/self/status",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("0000000000000420"));
    let out = oci.run(&["exec", "--cap", "CAP_NOPE", &id, "true"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a capability"));
}
