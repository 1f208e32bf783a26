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
