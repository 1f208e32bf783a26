//! Processes in the cgroup: membership, freezing, signals, a fork bomb, the OOM killer.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use berth_cgroups::{Error, Mode};
use oci_spec::runtime::{LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder};

use crate::support::{Guard, can_run, cpu_ticks, eventually, proc_state};

#[test]
fn moved_process_is_listed_and_sees_its_cgroup() {
    if !can_run() {
        return;
    }
    let mut g = Guard::new("procs");
    let (_, pid) = g.spawn_sleep();
    assert_eq!(g.cg.pids().unwrap(), vec![pid]);
    let rel = g.cg.path().to_string();
    let own = fs_err::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    // Every hierarchy line (v1 "N:ctrl:/path", v2 "0::/path") names our cgroup.
    for line in own.lines() {
        let path = line.splitn(3, ':').nth(2).unwrap();
        assert_eq!(path, rel, "{line}");
    }
    // A child cgroup's processes count too.
    let mut child = g.nested("sub");
    let (_, pid2) = child.spawn_sleep();
    let all = g.cg.pids().unwrap();
    assert!(all.contains(&pid) && all.contains(&pid2), "{all:?}");
    drop(child);
    assert_eq!(g.cg.pids().unwrap(), vec![pid]);
}

#[test]
fn a_process_joins_itself_in_every_hierarchy() {
    if !can_run() {
        return;
    }
    let g = Guard::new("join");
    let joiner = g.cg.joiner().unwrap();
    let (r, w) = nix::unistd::pipe().unwrap();
    // SAFETY: the child only makes syscalls (join_self allocates only on failure) and exits.
    let child = match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            let ok = joiner.join_self(false).is_ok();
            let _ = nix::unistd::write(&w, if ok { b"y" } else { b"n" });
            // SAFETY: waiting to be killed, then leaving the forked child.
            unsafe {
                libc::pause();
                libc::_exit(0)
            }
        }
        nix::unistd::ForkResult::Parent { child } => child,
    };
    drop(w);
    let mut answer = [0u8; 1];
    nix::unistd::read(&r, &mut answer).unwrap();
    let own = fs_err::read_to_string(format!("/proc/{child}/cgroup")).unwrap();
    let _ = nix::sys::signal::kill(child, nix::sys::signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(child, None);
    assert_eq!(&answer, b"y");
    // In every hierarchy, v1 ones by their `tasks` and the unified one by cgroup.procs.
    let rel = g.cg.path().to_string();
    let unified = g.cg.unified_dir().unwrap().is_some();
    for line in own.lines().filter(|l| unified || !l.starts_with("0::")) {
        assert_eq!(line.splitn(3, ':').nth(2).unwrap(), rel, "{line}");
    }
}

#[test]
fn freeze_and_thaw_stop_and_resume_a_busy_process() {
    if !can_run() {
        return;
    }
    let mut g = Guard::new("freeze");
    let (_, pid) = g.spawn_sh("while :; do :; done");
    assert!(!g.cg.is_frozen().unwrap());
    g.cg.freeze().unwrap();
    assert!(g.cg.is_frozen().unwrap());
    if let Some(d) = g.cg.v1_dir("freezer").unwrap() {
        assert_eq!(
            fs_err::read_to_string(d.join("freezer.state"))
                .unwrap()
                .trim(),
            "FROZEN"
        );
    }
    // Frozen tasks show as D (v1 freezer, TASK_FROZEN) or S/T (v2 freezer trap), never R.
    let state = proc_state(pid);
    assert!(matches!(state, 'D' | 'S' | 'T'), "state {state}");
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(cpu_ticks(pid), before, "a frozen process used CPU");
    g.cg.thaw().unwrap();
    assert!(!g.cg.is_frozen().unwrap());
    assert!(
        eventually(Duration::from_secs(5), || cpu_ticks(pid) > before),
        "the thawed process did not run again"
    );
}

#[test]
fn kill_all_signals_every_process() {
    if !can_run() {
        return;
    }
    let mut g = Guard::new("kill");
    let idx: Vec<usize> = (0..3).map(|_| g.spawn_sleep().0).collect();
    g.cg.kill_all(libc::SIGKILL).unwrap();
    for i in idx {
        assert_eq!(
            g.wait(i, Duration::from_secs(5)).signal(),
            Some(libc::SIGKILL)
        );
    }
    // A catchable signal goes to each process (no cgroup.kill for it).
    let (i, _) = g.spawn_sleep();
    g.cg.kill_all(libc::SIGTERM).unwrap();
    assert_eq!(
        g.wait(i, Duration::from_secs(5)).signal(),
        Some(libc::SIGTERM)
    );
    assert!(
        !g.cg.is_frozen().unwrap(),
        "kill_all must thaw what it froze"
    );
    assert!(g.cg.kill_all(12345).is_err());
}

#[test]
fn pids_limit_stops_a_fork_bomb() {
    if !can_run() {
        return;
    }
    let mut g = Guard::new("forkbomb");
    let res = LinuxResourcesBuilder::default()
        .pids(LinuxPidsBuilder::default().limit(8).build().unwrap())
        .build()
        .unwrap();
    g.cg.apply(&res).unwrap();
    // Bounded: 40 forks at most, each child sleeps; the limit lets only 8 tasks exist.
    let (i, _) = g.spawn_sh("n=0; while [ $n -lt 40 ]; do sleep 60 & n=$((n+1)); done; wait");
    let events_dir = match g.cg.v1_dir("pids").unwrap() {
        Some(d) => d,
        None => g.unified(),
    };
    let refused = || {
        fs_err::read_to_string(events_dir.join("pids.events"))
            .ok()
            .and_then(|t| {
                t.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
            })
            .unwrap_or(0)
    };
    assert!(
        eventually(Duration::from_secs(10), || refused() > 0),
        "no fork was refused"
    );
    let n = g.cg.pids().unwrap().len();
    assert!(n <= 8, "{n} processes despite pids.max 8");
    let current: u64 = g
        .read("pids", "pids.current", "pids.current")
        .parse()
        .unwrap();
    assert!(current <= 8, "pids.current {current}");
    assert_eq!(g.cg.stats().unwrap().pids.limit, 8);
    g.cg.kill_all(libc::SIGKILL).unwrap();
    g.wait(i, Duration::from_secs(10));
    assert!(eventually(Duration::from_secs(5), || g
        .cg
        .pids()
        .unwrap()
        .is_empty()));
}

#[test]
fn memory_limit_gets_a_process_oom_killed() {
    if !can_run() {
        return;
    }
    let mut g = Guard::new("oom");
    let limit = 32i64 << 20;
    let mut m = LinuxMemoryBuilder::default().limit(limit);
    if g.cg.mode().unwrap() != Mode::V2 {
        // No swap either, so the process cannot escape the limit into swap.
        m = m.swap(limit);
    }
    let res = LinuxResourcesBuilder::default()
        .memory(m.build().unwrap())
        .build()
        .unwrap();
    g.cg.apply(&res).unwrap();
    assert_eq!(g.cg.oom_kill_count().unwrap(), 0);
    // tail keeps every line; with no newline in 256 MiB of zeros it keeps all of it.
    let (i, _) = g.spawn_sh("head -c 268435456 /dev/zero | tail > /dev/null");
    let st = g.wait(i, Duration::from_secs(60));
    assert_eq!(st.code(), Some(128 + libc::SIGKILL), "{st:?}");
    assert!(g.cg.oom_kill_count().unwrap() >= 1);
    let s = g.cg.stats().unwrap();
    assert_eq!(s.memory.usage.limit, u64::try_from(limit).unwrap());
    assert!(
        s.memory.usage.failcnt > 0 || s.memory.usage.max > 0,
        "{:?}",
        s.memory.usage
    );
}

#[test]
fn stats_report_real_usage_in_runc_shape() {
    if !can_run() {
        return;
    }
    let mut g = Guard::new("stats");
    let (i, pid) = g.spawn_sh("n=0; while [ $n -lt 20000 ]; do n=$((n+1)); done; sleep 300");
    assert!(eventually(Duration::from_secs(20), || {
        proc_state(pid) == 'S' && g.cg.stats().unwrap().cpu.usage.total > 0
    }));
    let s = g.cg.stats().unwrap();
    assert!(s.cpu.usage.total > 0);
    assert!(s.memory.usage.usage > 0 || s.memory.raw.values().any(|v| *v > 0));
    assert_eq!(s.pids.current, 2, "sh and sleep");
    let v = serde_json::to_value(&s).unwrap();
    for key in ["cpu", "memory", "pids", "blkio", "hugetlb"] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert!(v["cpu"]["usage"]["total"].as_u64().unwrap() > 0);
    assert!(v["memory"]["usage"].get("limit").is_some());
    g.cg.kill_all(libc::SIGKILL).unwrap();
    g.wait(i, Duration::from_secs(5));
}

#[test]
fn destroy_reports_every_busy_hierarchy_then_succeeds() {
    if !can_run() {
        return;
    }
    let mut g = Guard::new("destroy");
    let (i, _) = g.spawn_sleep();
    let err = g.cg.destroy().unwrap_err();
    let Error::Destroy { errors, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(errors.len(), g.cg.dirs().unwrap().len(), "{err}");
    assert!(err.to_string().contains("busy"), "{err}");
    assert!(g.cg.exists());
    g.cg.kill_all(libc::SIGKILL).unwrap();
    g.wait(i, Duration::from_secs(5));
    g.cg.destroy().unwrap();
    assert!(!g.cg.exists());
    for d in g.cg.dirs().unwrap() {
        assert!(!d.exists(), "{} left behind", d.display());
    }
    // Destroying again is fine: missing directories are skipped.
    g.cg.destroy().unwrap();
}

#[test]
fn destroy_takes_child_cgroups_with_it() {
    if !can_run() {
        return;
    }
    let g = Guard::new("tree");
    let h = g.cg.hierarchies().unwrap().clone();
    let deeper =
        berth_cgroups::Cgroup::with_hierarchies(&format!("{}/sub/deeper", g.cg.path()), h).unwrap();
    deeper.create().unwrap();
    assert!(deeper.exists());
    g.cg.destroy().unwrap();
    for d in g.cg.dirs().unwrap() {
        assert!(!d.exists(), "{} is left", d.display());
    }
}
