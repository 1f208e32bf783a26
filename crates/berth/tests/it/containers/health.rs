//! Health checks with real containers: `--health-*` flags and the image's
//! `HEALTHCHECK`, run by the detached container's monitor; `inspect`'s `State.Health`
//! and `Config.Healthcheck`, `ps`'s status and `health` filter, `health_status` events.
//! Intervals are 200 ms and every wait polls with a deadline.

use serde_json::Value;

use super::{Root, skip};

/// `inspect NAME` as JSON (the one container's object).
fn inspect(r: &Root, name: &str) -> Value {
    let v: Value = serde_json::from_str(&r.ok(&["inspect", name])).unwrap();
    v[0].clone()
}

fn health(r: &Root, name: &str) -> Value {
    inspect(r, name)["State"]["Health"].clone()
}

/// Waits until the container's health status is `want`; returns the health.
fn wait_status(r: &Root, name: &str, want: &str) -> Value {
    let mut last = Value::Null;
    r.wait_for(20, &format!("{name} to become {want}"), || {
        last = health(r, name);
        last["Status"] == want
    });
    last
}

fn ps_names(r: &Root, args: &[&str]) -> Vec<String> {
    let mut a = vec!["ps", "--format", "{{.Names}}"];
    a.extend_from_slice(args);
    r.ok(&a).lines().map(str::to_owned).collect()
}

fn health_events(r: &Root, id: &str) -> Vec<String> {
    r.ok(&[
        "events",
        "--since",
        "1h",
        "--until",
        "0s",
        "--filter",
        "event=health_status",
        "--filter",
        &format!("container={id}"),
        "--format",
        "{{.Action}}",
    ])
    .lines()
    .map(str::to_owned)
    .collect()
}

#[test]
fn a_passing_check_makes_the_container_healthy() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    // Failures in the 60 s start period do not count: it stays `starting`, checked
    // every start interval, until /tmp/ok exists.
    let id = r.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--health-cmd",
        "echo probing; test -e /tmp/ok",
        "--health-interval",
        "200ms",
        "--health-start-period",
        "60s",
        "--health-start-interval",
        "200ms",
        "--health-retries",
        "1",
        "alpine:test",
        "sleep",
        "300",
    ]);
    let id = id.trim();
    let c = inspect(&r, "web");
    assert_eq!(
        c["Config"]["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "echo probing; test -e /tmp/ok"])
    );
    assert_eq!(c["Config"]["Healthcheck"]["Interval"], 200_000_000);
    assert_eq!(
        c["Config"]["Healthcheck"]["StartPeriod"],
        60_000_000_000_i64
    );
    r.wait_for(20, "two failed checks", || {
        health(&r, "web")["Log"]
            .as_array()
            .is_some_and(|l| l.len() >= 2)
    });
    let h = health(&r, "web");
    assert_eq!(h["Status"], "starting", "{h}");
    assert_eq!(h["FailingStreak"], 0, "{h}");
    assert_eq!(h["Log"][0]["ExitCode"], 1, "{h}");
    assert_eq!(h["Log"][0]["Output"], "probing\n", "{h}");
    assert!(
        r.ok(&["ps", "--format", "{{.Status}}"])
            .contains("(health: starting)")
    );
    assert_eq!(ps_names(&r, &["--filter", "health=starting"]), ["web"]);

    r.ok(&["exec", "web", "touch", "/tmp/ok"]);
    let h = wait_status(&r, "web", "healthy");
    assert_eq!(h["FailingStreak"], 0);
    let log = h["Log"].as_array().unwrap();
    let last = log.last().unwrap();
    assert_eq!(last["ExitCode"], 0, "{h}");
    assert!(last["Start"].as_str().unwrap() <= last["End"].as_str().unwrap());
    let status = r.ok(&["ps", "--format", "{{.Status}}"]);
    assert!(
        status.starts_with("Up ") && status.trim_end().ends_with("(healthy)"),
        "{status}"
    );
    assert_eq!(ps_names(&r, &["--filter", "health=healthy"]), ["web"]);
    assert!(ps_names(&r, &["--filter", "health=none"]).is_empty());
    assert_eq!(health_events(&r, id), ["health_status: healthy"]);

    // Once stopped, the checks stopped: Docker reports `unhealthy`.
    r.ok(&["stop", "-t", "0", "web"]);
    assert_eq!(health(&r, "web")["Status"], "unhealthy");
}

#[test]
fn a_failing_check_makes_it_unhealthy_after_the_retries() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let id = r.ok(&[
        "run",
        "-d",
        "--name",
        "bad",
        "--health-cmd",
        "echo oops >&2; exit 3",
        "--health-interval",
        "200ms",
        "--health-retries",
        "2",
        "alpine:test",
        "sleep",
        "300",
    ]);
    let h = wait_status(&r, "bad", "unhealthy");
    // It became unhealthy at the second failure, not before.
    assert!(h["FailingStreak"].as_u64().unwrap() >= 2, "{h}");
    assert_eq!(health_events(&r, id.trim()), ["health_status: unhealthy"]);
    let first = &h["Log"][0];
    assert_eq!(first["ExitCode"], 3, "{h}");
    assert_eq!(first["Output"], "oops\n", "{h}");
    // The log keeps the last five results.
    r.wait_for(20, "seven failures", || {
        health(&r, "bad")["FailingStreak"].as_u64().unwrap_or(0) >= 7
    });
    assert_eq!(health(&r, "bad")["Log"].as_array().unwrap().len(), 5);
    assert!(
        r.ok(&["ps", "--format", "{{.Status}}"])
            .trim_end()
            .ends_with("(unhealthy)")
    );
    assert_eq!(ps_names(&r, &["--filter", "health=unhealthy"]), ["bad"]);
}

#[test]
fn a_hanging_check_is_killed_at_its_timeout() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&[
        "run",
        "-d",
        "--name",
        "hang",
        "--health-cmd",
        "sleep 60",
        "--health-interval",
        "200ms",
        "--health-timeout",
        "300ms",
        "--health-retries",
        "1",
        "alpine:test",
        "sleep",
        "300",
    ]);
    // Without the kill the first result would only come after 60 s.
    let h = wait_status(&r, "hang", "unhealthy");
    let first = &h["Log"][0];
    assert_eq!(first["ExitCode"], -1, "{h}");
    assert_eq!(
        first["Output"], "Health check exceeded timeout (300ms)",
        "{h}"
    );
    // The killed checks are gone from the container: at most the current one runs.
    r.wait_for(20, "a second timed-out check", || {
        health(&r, "hang")["Log"]
            .as_array()
            .is_some_and(|l| l.len() >= 2)
    });
    let top = r.ok(&["top", "hang"]);
    assert!(
        top.lines().filter(|l| l.contains("sleep 60")).count() <= 1,
        "{top}"
    );
}

#[test]
fn the_image_healthcheck_is_used_and_can_be_overridden_or_disabled() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let ctx = r.dir.path().join("ctx");
    fs_err::create_dir_all(&ctx).unwrap();
    fs_err::write(
        ctx.join("Dockerfile"),
        "FROM alpine:test\n\
         HEALTHCHECK --interval=200ms --timeout=5s --retries=4 CMD [\"/bin/sh\", \"-c\", \"echo from-image\"]\n",
    )
    .unwrap();
    r.ok(&["build", "-q", "-t", "checked:test", ctx.to_str().unwrap()]);

    r.ok(&["run", "-d", "--name", "img", "checked:test", "sleep", "300"]);
    let hc = inspect(&r, "img")["Config"]["Healthcheck"].clone();
    assert_eq!(
        hc["Test"],
        serde_json::json!(["CMD", "/bin/sh", "-c", "echo from-image"])
    );
    assert_eq!(hc["Retries"], 4);
    let h = wait_status(&r, "img", "healthy");
    assert_eq!(h["Log"][0]["Output"], "from-image\n", "{h}");

    // One flag overrides one field; the rest stay the image's.
    r.ok(&[
        "create",
        "--name",
        "over",
        "--health-retries",
        "9",
        "checked:test",
        "sleep",
        "300",
    ]);
    let hc = inspect(&r, "over")["Config"]["Healthcheck"].clone();
    assert_eq!(hc["Retries"], 9);
    assert_eq!(hc["Interval"], 200_000_000);
    assert_eq!(hc["Test"][0], "CMD");
    // Not started yet: no health.
    assert!(inspect(&r, "over")["State"].get("Health").is_none());

    // --no-healthcheck: no checks at all, while `img` keeps being checked.
    r.ok(&[
        "run",
        "-d",
        "--name",
        "off",
        "--no-healthcheck",
        "checked:test",
        "sleep",
        "300",
    ]);
    assert_eq!(
        inspect(&r, "off")["Config"]["Healthcheck"]["Test"],
        serde_json::json!(["NONE"])
    );
    let before = health(&r, "img")["Log"][4]["End"].clone();
    r.wait_for(20, "more checks of img", || {
        let log = health(&r, "img")["Log"].clone();
        log.as_array().is_some_and(|l| l.len() == 5) && log[4]["End"] != before
    });
    assert!(inspect(&r, "off")["State"].get("Health").is_none());
    assert_eq!(ps_names(&r, &["--filter", "health=none"]), ["off"]);
    let status = r.ok(&["ps", "--filter", "name=off", "--format", "{{.Status}}"]);
    assert!(!status.contains('('), "no health in the status: {status}");
}

#[test]
fn bad_health_flags_are_refused() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let e = r.fails(
        &["create", "--health-interval", "5", "alpine:test", "true"],
        125,
    );
    assert!(e.contains("--health-interval"), "{e}");
    let e = r.fails(
        &[
            "create",
            "--no-healthcheck",
            "--health-cmd",
            "true",
            "alpine:test",
            "true",
        ],
        125,
    );
    assert!(e.contains("--no-healthcheck conflicts"), "{e}");
    let e = r.fails(
        &["create", "--health-retries", "-1", "alpine:test", "true"],
        125,
    );
    assert!(e.contains("cannot be negative"), "{e}");
    assert!(r.all_ids().is_empty(), "bad input changes nothing");
}

#[test]
fn a_foreground_run_is_checked_too() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    // The container ends only once a check has run (the check leaves a file).
    let out = r.ok(&[
        "run",
        "--name",
        "fg",
        "--health-cmd",
        "touch /tmp/checked",
        "--health-interval",
        "200ms",
        "alpine:test",
        "sh",
        "-c",
        "while [ ! -e /tmp/checked ]; do sleep 0.05; done; echo seen",
    ]);
    assert_eq!(out, "seen\n");
    let h = health(&r, "fg");
    assert_eq!(h["Log"][0]["ExitCode"], 0, "{h}");
    assert_eq!(h["Status"], "unhealthy", "stopped: {h}");
    // A failing program still gives its exit code.
    r.fails(
        &[
            "run",
            "--rm",
            "--health-cmd",
            "true",
            "alpine:test",
            "sh",
            "-c",
            "exit 5",
        ],
        5,
    );
}

#[test]
fn commit_keeps_the_container_s_check() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&[
        "create",
        "--name",
        "src",
        "--health-cmd",
        "echo committed",
        "--health-interval",
        "200ms",
        "--stop-signal",
        "SIGUSR2",
        "alpine:test",
        "sleep",
        "300",
    ]);
    r.ok(&["commit", "src", "withcheck:test"]);
    let hc = r.ok(&[
        "image",
        "inspect",
        "-f",
        "{{json .Config.Healthcheck}} {{.Config.StopSignal}}",
        "withcheck:test",
    ]);
    assert_eq!(
        hc.trim(),
        r#"{"Interval":200000000,"Test":["CMD-SHELL","echo committed"]} SIGUSR2"#
    );
    r.ok(&[
        "run",
        "-d",
        "--name",
        "child",
        "withcheck:test",
        "sleep",
        "300",
    ]);
    let h = wait_status(&r, "child", "healthy");
    assert_eq!(h["Log"][0]["Output"], "committed\n", "{h}");
}

#[test]
fn a_paused_container_is_unhealthy_until_a_check_passes_again() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&[
        "run",
        "-d",
        "--name",
        "pz",
        "--health-cmd",
        "true",
        "--health-interval",
        "200ms",
        "alpine:test",
        "sleep",
        "300",
    ]);
    wait_status(&r, "pz", "healthy");
    r.ok(&["pause", "pz"]);
    assert_eq!(health(&r, "pz")["Status"], "unhealthy");
    let checks = health(&r, "pz")["Log"].as_array().unwrap().len();
    r.ok(&["unpause", "pz"]);
    let h = wait_status(&r, "pz", "healthy");
    assert!(!h["Log"].as_array().unwrap().is_empty() && checks > 0);
}

/// A check's exit and its container's in one reaping pass, driven with ptrace (x86_64:
/// the syscall registers are read by name).
#[cfg(target_arch = "x86_64")]
mod ends_together {
    use super::super::{Root, monitor_pid, pid_with, skip};
    use super::health;

    /// A process traced (ptrace) from its syscalls; detached on drop, even when a test fails.
    struct Traced(i32);

    impl Traced {
        fn seize(pid: i32) -> Traced {
            // SAFETY: ptrace requests on a pid with null or plain-integer arguments.
            unsafe {
                let opts = libc::PTRACE_O_TRACESYSGOOD as usize as *mut libc::c_void;
                assert_eq!(libc::ptrace(libc::PTRACE_SEIZE, pid, 0, opts), 0);
                assert_eq!(libc::ptrace(libc::PTRACE_INTERRUPT, pid, 0, 0), 0);
            }
            let t = Traced(pid);
            t.wait();
            t
        }

        /// Waits for the next stop; the signal it stopped for, if a signal's.
        fn wait(&self) -> Option<i32> {
            let mut status = 0;
            // SAFETY: waiting for our tracee.
            let r = unsafe { libc::waitpid(self.0, &mut status, libc::__WALL) };
            assert_eq!(r, self.0, "the traced process went away");
            assert!(libc::WIFSTOPPED(status), "status {status:#x}");
            let sig = libc::WSTOPSIG(status);
            // Syscall stops (SIGTRAP|0x80) and event stops (status >> 16) carry no signal.
            (sig != libc::SIGTRAP | 0x80 && status >> 16 == 0 && sig != libc::SIGTRAP)
                .then_some(sig)
        }

        /// Runs to the next syscall entry or exit; returns (syscall, return value), the
        /// value being -ENOSYS at an entry.
        fn next_syscall(&self) -> (u64, i64) {
            let mut sig = 0;
            loop {
                // SAFETY: resuming our stopped tracee, passing on a signal it stopped for.
                unsafe { libc::ptrace(libc::PTRACE_SYSCALL, self.0, 0, sig as usize) };
                match self.wait() {
                    Some(s) => sig = s,
                    None => break,
                }
            }
            // SAFETY: user_regs_struct is plain data; GETREGS fills it.
            let regs = unsafe {
                let mut regs: libc::user_regs_struct = std::mem::zeroed();
                libc::ptrace(libc::PTRACE_GETREGS, self.0, 0, &mut regs);
                regs
            };
            (regs.orig_rax, regs.rax as i64)
        }
    }

    impl Drop for Traced {
        fn drop(&mut self) {
            // SAFETY: detaching our tracee (it must be stopped, which it is between calls).
            unsafe { libc::ptrace(libc::PTRACE_DETACH, self.0, 0, 0) };
        }
    }

    /// Field 3 (state) and 9 (flags) of `/proc/PID/stat`.
    fn stat(pid: i32) -> (char, u64) {
        let s = fs_err::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let rest: Vec<&str> = s
            .rsplit_once(')')
            .map_or("", |(_, r)| r)
            .split_whitespace()
            .collect();
        let state = rest.first().and_then(|s| s.chars().next()).unwrap_or('?');
        (state, rest.get(6).and_then(|f| f.parse().ok()).unwrap_or(0))
    }

    /// A check that ended just before the container did is recorded, though the monitor
    /// learns of both exits at once: the container's init, ending, waits in the kernel for
    /// the check (of its pid namespace) to be reaped, and so ends right after the monitor's
    /// reap of the check, before its next look. Made certain here with ptrace: the monitor
    /// is held before its reap of the check until the init is ending, and after it until
    /// the init has ended.
    #[test]
    fn a_check_that_ends_with_the_container_is_recorded() {
        if skip() {
            return;
        }
        let r = Root::with_alpine();
        let id = r.ok(&[
            "run",
            "-d",
            "--health-cmd",
            "sleep 0.4; touch /tmp/raced-check",
            "--health-interval",
            "200ms",
            "alpine:test",
            "sh",
            "-c",
            "while [ ! -e /tmp/raced-check ]; do sleep 0.05; done",
        ]);
        let id = id.trim();
        let monitor = monitor_pid(id).expect("the monitor runs");
        let init: i32 = r.inspect(id, "{{.State.Pid}}").trim().parse().unwrap();
        let mut check = None;
        r.wait_for(20, "the check to start", || {
            check = pid_with(&["sleep 0.4; touch /tmp/raced-check"]);
            check.is_some()
        });
        let check = i64::from(check.unwrap_or_default());
        {
            let t = Traced::seize(monitor);
            // To the entry of the monitor's next reap (a wait4): held there, it cannot
            // reap the check when that ends.
            loop {
                let (nr, ret) = t.next_syscall();
                if nr == libc::SYS_wait4 as u64 && ret == -i64::from(libc::ENOSYS) {
                    break;
                }
            }
            // The init sees the file and starts its exit (PF_EXITING), where it waits for
            // the check to be reaped.
            r.wait_for(20, "the init to be ending", || stat(init).1 & 0x4 != 0);
            std::thread::sleep(std::time::Duration::from_millis(100));
            let (nr, ret) = t.next_syscall();
            assert_eq!(
                (nr, ret),
                (libc::SYS_wait4 as u64, check),
                "the reap of the check"
            );
            r.wait_for(20, "the init to have ended", || stat(init).0 == 'Z');
        }
        assert_eq!(r.ok(&["wait", id]).trim(), "0");
        let h = health(&r, id);
        assert_eq!(h["Log"][0]["ExitCode"], 0, "{h}");
        assert_eq!(h["Status"], "unhealthy", "stopped: {h}");
    }
}
