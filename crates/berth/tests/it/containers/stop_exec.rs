//! `stop -s`, `restart -s`, `exec -d` (with and without `-t`), exec's 126/127, a
//! container whose monitor was killed, and an idle monitor's footprint.

use std::path::Path;

use super::{Root, monitor_pid, skip};

/// A container that answers SIGUSR1 with a line on stdout and exit code 7.
fn trapping(r: &Root, name: &str) {
    r.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "alpine:test",
        "sh",
        "-c",
        "trap 'echo got-usr1; exit 7' USR1; echo ready; while true; do sleep 0.1; done",
    ]);
    r.wait_for(10, "the trap to be set", || {
        r.ok(&["logs", name]).contains("ready")
    });
}

#[test]
fn stop_and_restart_take_a_signal() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    trapping(&r, "trap");
    // SIGTERM (the default) is ignored by a shell as PID 1 with no trap for it, so only
    // the given signal can end it before the timeout.
    r.ok(&["stop", "-s", "USR1", "-t", "30", "trap"]);
    assert_eq!(r.inspect("trap", "{{.State.ExitCode}}"), "7");
    assert!(r.ok(&["logs", "trap"]).contains("got-usr1"));

    r.ok(&["start", "trap"]);
    r.wait_for(10, "the second trap", || {
        r.ok(&["logs", "trap"]).matches("ready").count() == 2
    });
    r.ok(&["restart", "--signal", "SIGUSR1", "-t", "30", "trap"]);
    assert_eq!(r.inspect("trap", "{{.State.Running}}"), "true");
    assert_eq!(r.ok(&["logs", "trap"]).matches("got-usr1").count(), 2);

    let o = r.run(&["stop", "-s", "NOSUCHSIG", "trap"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--signal"));
    assert_eq!(r.inspect("trap", "{{.State.Running}}"), "true");
}

#[test]
fn exec_detached_with_and_without_a_terminal() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&["run", "-d", "--name", "box", "alpine:test", "sleep", "300"]);
    assert_eq!(
        r.ok(&["exec", "-d", "box", "sh", "-c", "sleep 0.3; touch /tmp/bg"]),
        ""
    );
    r.wait_for(10, "the detached exec", || {
        r.run(&["exec", "box", "test", "-e", "/tmp/bg"])
            .status
            .success()
    });
    // With -t the process has a terminal and outlives `berth exec`: without something
    // holding the pty master it would get SIGHUP before writing /tmp/done.
    assert_eq!(
        r.ok(&[
            "exec",
            "-d",
            "-t",
            "box",
            "sh",
            "-c",
            "tty > /tmp/tty; sleep 1; echo done > /tmp/done",
        ]),
        ""
    );
    r.wait_for(10, "the detached exec with a terminal", || {
        r.run(&["exec", "box", "cat", "/tmp/done"]).stdout == b"done\n"
    });
    let tty = r.ok(&["exec", "box", "cat", "/tmp/tty"]);
    assert!(tty.starts_with("/dev/pts/"), "{tty}");
}

#[test]
fn exec_exit_codes_follow_docker() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&["run", "-d", "--name", "box", "alpine:test", "sleep", "300"]);
    r.fails(&["exec", "box", "sh", "-c", "exit 3"], 3);
    let e = r.fails(&["exec", "box", "/etc/passwd"], 126);
    assert!(e.contains("/etc/passwd"), "{e}");
    let e = r.fails(&["exec", "box", "no-such-program"], 127);
    assert!(e.contains("no-such-program"), "{e}");
    let e = r.fails(&["exec", "-d", "box", "/no/such/file"], 127);
    assert!(e.contains("/no/such/file"), "{e}");
    r.ok(&["stop", "-t", "0", "box"]);
    let o = r.run(&["exec", "box", "true"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("start it first"));
}

/// `voluntary_ctxt_switches` of process `pid`: how often it went to sleep.
fn sleeps(pid: i32) -> u64 {
    let status = fs_err::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("voluntary_ctxt_switches in /proc/PID/status")
}

#[test]
fn an_idle_monitor_sleeps_until_something_happens() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&[
        "run",
        "-d",
        "--name",
        "idle",
        "--network",
        "none",
        "alpine:test",
        "sleep",
        "300",
    ]);
    let id = r.inspect("idle", "{{.Id}}");
    let pid = monitor_pid(&id).expect("the monitor runs");
    // Settle: the monitor reaps, sheds its memory and goes to sleep in poll.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let before = sleeps(pid);
    // A monitor with a timer (it had a 1 s poll timeout) would wake twice or more here.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(sleeps(pid), before, "the idle monitor woke up");
    // And it still does its job when something happens: output reaches the log, the
    // exit is recorded.
    r.ok(&["exec", "idle", "sh", "-c", "echo woke > /proc/1/fd/1"]);
    r.wait_for(10, "the line in the log", || {
        r.ok(&["logs", "idle"]).contains("woke")
    });
    r.ok(&["kill", "idle"]);
    r.wait_for(10, "the exit to be recorded", || {
        r.inspect("idle", "{{.State.Status}}") == "exited"
    });
}

/// The monitor is this executable; as a PIE its `.data.rel.ro` would be relocated into
/// private memory in every monitor (see crates/berth/build.rs).
#[test]
fn berth_is_linked_at_a_fixed_address() {
    use std::io::Read;
    let mut header = [0u8; 18];
    fs_err::File::open(crate::common::berth_bin())
        .unwrap()
        .read_exact(&mut header)
        .unwrap();
    assert_eq!(&header[..4], b"\x7fELF");
    // e_type, little-endian: ET_EXEC (2), not ET_DYN (3, a PIE).
    assert_eq!(u16::from_le_bytes([header[16], header[17]]), 2);
}

#[test]
fn a_killed_monitor_is_noticed_by_ps_and_inspect() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    for name in ["one", "two"] {
        r.ok(&["run", "-d", "--name", name, "alpine:test", "sleep", "300"]);
    }
    let ids: Vec<String> = ["one", "two"]
        .iter()
        .map(|n| r.inspect(n, "{{.Id}}"))
        .collect();
    let pids: Vec<String> = ["one", "two"]
        .iter()
        .map(|n| r.inspect(n, "{{.State.Pid}}"))
        .collect();
    for id in &ids {
        let pid = monitor_pid(id).expect("the monitor runs");
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        r.wait_for(10, "the monitor to be gone", || monitor_pid(id).is_none());
    }
    // `ps` notices for `one`…
    assert_eq!(r.ok(&["ps", "-q"]), "");
    let status = r.ok(&[
        "ps",
        "-a",
        "--filter",
        "name=one",
        "--format",
        "{{.Status}}",
    ]);
    assert!(status.starts_with("Exited (137)"), "{status}");
    // …and `inspect` alone for `two`.
    assert_eq!(
        r.inspect("two", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 137"
    );
    // What ran in them is gone too.
    for pid in &pids {
        r.wait_for(10, "the container's process to be gone", || {
            !Path::new(&format!("/proc/{pid}")).exists()
                || fs_err::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.contains(") Z"))
        });
    }
    // It can start again, under a new monitor.
    r.ok(&["start", "one"]);
    assert_eq!(r.inspect("one", "{{.State.Status}}"), "running");
}

#[test]
fn log_driver_none_writes_no_log() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&[
        "run",
        "-d",
        "--name",
        "quiet",
        "--log-driver",
        "none",
        "alpine:test",
        "sh",
        "-c",
        "echo hidden; sleep 300",
    ]);
    let e = r.fails(&["logs", "quiet"], 1);
    assert!(
        e.contains("configured logging driver does not support reading"),
        "{e}"
    );
    assert_eq!(r.inspect("quiet", "{{.LogPath}}"), "");
    assert_eq!(r.inspect("quiet", "{{.HostConfig.LogConfig.Type}}"), "none");
    let id = r.inspect("quiet", "{{.Id}}");
    let dir = r.dir.path().join("containers").join(&id);
    let logs: Vec<_> = fs_err::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .collect();
    assert!(logs.is_empty(), "no log file in {}", dir.display());

    let e = r.fails(
        &["run", "--log-driver", "syslog", "alpine:test", "true"],
        125,
    );
    assert!(e.contains("--log-driver"), "{e}");
    assert_eq!(r.all_ids().len(), 1, "the refused run made nothing");
}

#[test]
fn userns_accepts_host_only() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&["create", "--userns", "host", "alpine:test", "true"]);
    r.ok(&["create", "--userns=", "alpine:test", "true"]);
    let e = r.fails(
        &["create", "--userns", "keep-id", "alpine:test", "true"],
        125,
    );
    assert!(e.contains("--userns"), "{e}");
    assert_eq!(r.all_ids().len(), 2);
}
