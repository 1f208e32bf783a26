//! Running, stopping, restarting and removing containers; exit codes; exec; logs;
//! limits.

use super::{Root, skip};

#[test]
fn exit_codes_follow_docker() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    assert_eq!(
        r.ok(&["run", "--rm", "alpine:test", "echo", "hello"]),
        "hello\n"
    );
    r.fails(&["run", "--rm", "alpine:test", "sh", "-c", "exit 1"], 1);
    r.fails(&["run", "--rm", "alpine:test", "sh", "-c", "exit 42"], 42);
    let e = r.fails(&["run", "--rm", "alpine:test", "/etc/passwd"], 126);
    assert!(e.contains("/etc/passwd"), "{e}");
    let e = r.fails(&["run", "--rm", "alpine:test", "/no/such/program"], 127);
    assert!(e.contains("/no/such/program"), "{e}");
    // --rm left nothing behind: no container, no container directory, no mount.
    assert!(r.all_ids().is_empty());
    let dirs = fs_err::read_dir(r.dir.path().join("containers"))
        .unwrap()
        .count();
    assert_eq!(dirs, 0);
    let mounts = fs_err::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(r.dir.path().to_str().unwrap()));
}

#[test]
fn detached_container_logs_exec_stop_and_inspect() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let id = r.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-e",
        "GREETING=hi there",
        "-l",
        "tier=front",
        "alpine:test",
        "sh",
        "-c",
        "echo out-$GREETING; echo err-line >&2; while true; do sleep 0.1; done",
    ]);
    let id = id.trim();
    assert_eq!(id.len(), 64, "run -d prints the full id: {id}");
    r.wait_for(10, "log lines", || {
        r.ok(&["logs", "web"]).contains("out-hi there")
    });
    let o = r.run(&["logs", "web"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "out-hi there\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err-line\n");
    // The log file is Docker's json-file format.
    let log = r
        .dir
        .path()
        .join("containers")
        .join(id)
        .join(format!("{id}-json.log"));
    let first = fs_err::read_to_string(&log).unwrap();
    let line: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    assert_eq!(line["log"], "out-hi there\n");
    assert!(line["time"].as_str().unwrap().ends_with('Z'));
    assert!(
        r.ok(&["logs", "-t", "--tail", "1", "web"]).is_empty(),
        "stdout of the last line (stderr) is empty"
    );
    // ps shows it running, with filters.
    assert_eq!(r.ok(&["ps", "-q"]).trim(), &id[..12]);
    assert_eq!(
        r.ok(&["ps", "-q", "--filter", "label=tier=front"]).trim(),
        &id[..12]
    );
    assert!(r.ok(&["ps", "-q", "--filter", "status=exited"]).is_empty());
    assert!(
        r.ok(&["ps", "--format", "{{.Names}} {{.State}}"])
            .contains("web running")
    );
    let json: serde_json::Value =
        serde_json::from_str(r.ok(&["ps", "--format", "json"]).lines().next().unwrap()).unwrap();
    assert_eq!(json["Names"], "web");
    // exec sees the container's environment and hostname.
    assert_eq!(
        r.ok(&["exec", "web", "sh", "-c", "echo $GREETING"]),
        "hi there\n"
    );
    assert_eq!(r.ok(&["exec", "web", "hostname"]).trim(), &id[..12]);
    // --env-file, then -e on top of it.
    let env_file = r.dir.path().join("exec.env");
    fs_err::write(&env_file, "# for exec\nA=1\nB=two words\n").unwrap();
    assert_eq!(
        r.ok(&[
            "exec",
            "--env-file",
            env_file.to_str().unwrap(),
            "-e",
            "A=3",
            "web",
            "sh",
            "-c",
            "echo $A $B"
        ]),
        "3 two words\n"
    );
    r.fails(&["exec", "web", "sh", "-c", "exit 3"], 3);
    r.fails(&["exec", "web", "/no/such"], 127);
    assert_eq!(
        r.ok(&["exec", "-u", "nobody", "web", "id", "-u"]).trim(),
        "65534"
    );
    // inspect: Docker's shape.
    let doc: serde_json::Value = serde_json::from_str(&r.ok(&["inspect", "web"])).unwrap();
    let c = &doc[0];
    assert_eq!(c["Id"], id);
    assert_eq!(c["Name"], "/web");
    assert_eq!(c["State"]["Status"], "running");
    assert_eq!(c["State"]["Running"], true);
    assert!(c["State"]["Pid"].as_i64().unwrap() > 0);
    assert_eq!(c["Path"], "sh");
    assert_eq!(c["Config"]["Labels"]["tier"], "front");
    assert_eq!(c["HostConfig"]["RestartPolicy"]["Name"], "no");
    // pause/unpause.
    r.ok(&["pause", "web"]);
    assert_eq!(r.inspect("web", "{{.State.Status}}"), "paused");
    r.ok(&["unpause", "web"]);
    assert_eq!(r.inspect("web", "{{.State.Status}}"), "running");
    // The shell as PID 1 ignores SIGTERM: stop waits -t seconds, then kills.
    r.ok(&["stop", "-t", "1", "web"]);
    assert_eq!(
        r.inspect("web", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 137"
    );
    assert_eq!(r.ok(&["wait", "web"]).trim(), "137");
    assert_eq!(
        r.ok(&["ps", "-a", "-q", "--filter", "exited=137"]).trim(),
        &id[..12]
    );
    // start again, rename, then remove.
    r.ok(&["start", "web"]);
    assert_eq!(r.inspect("web", "{{.State.Running}}"), "true");
    r.ok(&["rename", "web", "web2"]);
    assert_eq!(r.inspect("web2", "{{.Name}}"), "/web2");
    let e = r.fails(&["rm", "web2"], 1);
    assert!(e.contains("running") && e.contains("hint:"), "{e}");
    assert_eq!(
        r.inspect("web2", "{{.State.Running}}"),
        "true",
        "a refused rm changes nothing"
    );
    r.ok(&["rm", "-f", "web2"]);
    assert!(r.all_ids().is_empty());
}

#[test]
fn kill_signals_and_restart_policy() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    // PID 1 ignores signals it has no handler for; SIGKILL always ends it.
    r.ok(&["run", "-d", "--name", "tt", "alpine:test", "sleep", "1000"]);
    r.ok(&["kill", "tt"]);
    assert_eq!(r.ok(&["wait", "tt"]).trim(), "137");
    let e = r.fails(&["kill", "tt"], 1);
    assert!(e.contains("not running"), "{e}");
    // With --init, berth is PID 1: it forwards TERM, so the program dies of it (143),
    // and it reaps orphans (no zombie left by a double fork).
    r.ok(&[
        "run",
        "-d",
        "--init",
        "--name",
        "ini",
        "alpine:test",
        "sh",
        "-c",
        "(sleep 0.1 &) ; sleep 1000",
    ]);
    let ps = r.ok(&["exec", "ini", "ps", "-o", "pid,stat,args"]);
    assert!(
        ps.lines()
            .any(|l| l.trim_start().starts_with("1 ") && l.contains("__init")),
        "{ps}"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let ps = r.ok(&["exec", "ini", "ps", "-o", "stat"]);
    assert!(
        !ps.lines().any(|l| l.trim().starts_with('Z')),
        "zombie left: {ps}"
    );
    r.ok(&["kill", "-s", "TERM", "ini"]);
    assert_eq!(r.ok(&["wait", "ini"]).trim(), "143");
    // on-failure:2 restarts twice, then gives up.
    r.ok(&[
        "run",
        "-d",
        "--name",
        "rp",
        "--restart",
        "on-failure:2",
        "alpine:test",
        "sh",
        "-c",
        "echo attempt; exit 1",
    ]);
    r.wait_for(20, "the restarts", || {
        r.inspect("rp", "{{.State.Status}} {{.RestartCount}}") == "exited 2"
    });
    assert_eq!(r.ok(&["logs", "rp"]).matches("attempt").count(), 3);
    assert_eq!(
        r.inspect(
            "rp",
            "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}"
        ),
        "on-failure 2"
    );
    // Success is not restarted by on-failure.
    r.ok(&[
        "run",
        "--name",
        "ok",
        "--restart",
        "on-failure",
        "alpine:test",
        "true",
    ]);
    assert_eq!(r.inspect("ok", "{{.RestartCount}}"), "0");
    // -d --rm: removed once it exits.
    r.ok(&["run", "-d", "--rm", "--name", "gone", "alpine:test", "true"]);
    r.wait_for(10, "--rm removal", || {
        !r.ok(&["ps", "-a", "--format", "{{.Names}}"])
            .contains("gone")
    });
}

#[test]
fn limits_are_enforced() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    // Memory: the OOM killer ends it, and inspect says so.
    let o = r.run(&[
        "run",
        "--name",
        "oom",
        "-m",
        "8m",
        "alpine:test",
        "sh",
        "-c",
        "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived",
    ]);
    assert_eq!(
        o.status.code(),
        Some(137),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains("survived"));
    assert_eq!(r.inspect("oom", "{{.State.OOMKilled}}"), "true");
    assert_eq!(
        r.inspect("oom", "{{.HostConfig.Memory}}"),
        (8 << 20).to_string()
    );
    // pids: the sixth process cannot be forked.
    let o = r.run(&[
        "run",
        "--rm",
        "--pids-limit",
        "5",
        "alpine:test",
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8; do sleep 3 & done; wait",
    ]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("can't fork"),
        "{o:?}"
    );
    // read-only root, writable tmpfs.
    let e = r.fails(
        &[
            "run",
            "--rm",
            "--read-only",
            "--tmpfs",
            "/scratch",
            "alpine:test",
            "sh",
            "-c",
            "echo ok > /scratch/f && cat /scratch/f && touch /etc/x",
        ],
        1,
    );
    assert!(e.contains("Read-only file system"), "{e}");
    // Security defaults: Docker's capabilities, seccomp on, /proc/timer_list masked
    // (non-empty on the host).
    assert!(
        !fs_err::read_to_string("/proc/timer_list")
            .unwrap()
            .is_empty()
    );
    let out = r.ok(&[
        "run",
        "--rm",
        "alpine:test",
        "sh",
        "-c",
        "grep -E '^(CapEff|Seccomp):' /proc/self/status; wc -c < /proc/timer_list",
    ]);
    assert!(out.contains("CapEff:\t00000000a80425fb"), "{out}");
    assert!(out.contains("Seccomp:\t2"), "{out}");
    assert!(out.trim_end().ends_with('0'), "{out}");
    let out = r.ok(&[
        "run",
        "--rm",
        "--privileged",
        "alpine:test",
        "sh",
        "-c",
        "grep -E '^Seccomp:' /proc/self/status",
    ]);
    assert!(out.contains("Seccomp:\t0"), "{out}");
    // User, group lookup and workdir.
    assert_eq!(
        r.ok(&[
            "run",
            "--rm",
            "-u",
            "nobody",
            "-w",
            "/tmp",
            "alpine:test",
            "sh",
            "-c",
            "id -u; pwd"
        ]),
        "65534\n/tmp\n"
    );
}

#[test]
fn user_and_groups_come_from_the_image() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    if !r.import_busybox_static() {
        return;
    }
    // bbstatic's /etc/passwd and /etc/group (not the host's) decide the ids.
    let ids = |user: &[&str]| {
        let mut a = vec!["run", "--rm"];
        a.extend_from_slice(user);
        a.extend_from_slice(&[
            "bbstatic:test",
            "sh",
            "-c",
            "echo $(id -u) $(id -g) $(id -G)",
        ]);
        r.ok(&a).trim().to_owned()
    };
    assert_eq!(ids(&["-u", "web"]), "1000 1000 1000 2000");
    assert_eq!(
        ids(&["-u", "web:root", "--group-add", "1234"]),
        "1000 0 0 1234"
    );
    let e = r.fails(&["run", "--rm", "-u", "ghost", "bbstatic:test", "id"], 125);
    assert!(e.contains("ghost") && e.contains("/etc/passwd"), "{e}");
    assert!(r.all_ids().is_empty(), "a refused create leaves nothing");
}
