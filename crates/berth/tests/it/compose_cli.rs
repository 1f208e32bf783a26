//! `berth compose` beyond the basic lifecycle, with real containers: attached `up` (its
//! output, `--exit-code-from`, `--abort-on-container-exit`, `--no-attach`, ctrl-c), `down`
//! stopping a dependency level at once, anonymous volumes surviving a recreate, and the
//! commands `pause`, `unpause`, `wait`, `create`, `events`, `cp`, `stats`, `attach` and
//! `version`. Uses the project guard of `compose.rs` (own root, `down -v` on drop, serial).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::compose::{Project, text};

fn compose_file(yaml: &str) -> Vec<(&'static str, String)> {
    vec![("compose.yaml", yaml.to_string())]
}

fn project(files: &[(&'static str, String)]) -> Option<Project> {
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    Project::new(&refs)
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A server that runs until stopped (and exits on SIGTERM through its init).
const SERVER: &str = "image: bb\n    init: true\n    command: [\"sh\", \"-c\", \"echo up; while true; do sleep 0.2; done\"]";

#[test]
fn attached_up_exit_code_from_aborts_the_project() {
    let yaml = format!(
        "services:
  srv:
    {SERVER}
  quiet:
    {SERVER}
  test:
    image: bb
    command: [\"sh\", \"-c\", \"sleep 1; echo testing; exit 3\"]
    depends_on: [srv]
"
    );
    let Some(p) = project(&compose_file(&yaml)) else {
        return;
    };
    let o = p.compose(&["up", "--exit-code-from", "test", "--no-attach", "quiet"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(out.contains("Attaching to "), "{out}");
    assert!(out.contains("test-1  | testing"), "{out}");
    assert!(out.contains("srv-1   | up"), "{out}");
    assert!(
        !out.contains("quiet-1"),
        "--no-attach service shown:\n{out}"
    );
    assert!(out.contains("test-1 exited with code 3"), "{out}");
    assert!(out.contains("Aborting on container exit..."), "{out}");
    // The rest of the project was stopped, not removed.
    for svc in ["srv", "quiet"] {
        let st = p.inspect(&p.container(svc));
        assert_eq!(st["State"]["Status"], "exited", "{svc}: {st}");
    }
}

#[test]
fn attached_up_ends_when_all_exit_and_abort_returns_the_exit_code() {
    let yaml = "services:
  one:
    image: bb
    command: [\"sh\", \"-c\", \"echo first\"]
  two:
    image: bb
    command: [\"sh\", \"-c\", \"sleep 1; echo second; exit 7\"]
";
    let Some(p) = project(&compose_file(yaml)) else {
        return;
    };
    // Without abort flags: every service's output, each exit, then 0.
    let o = p.compose(&["up"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for line in [
        "one-1  | first",
        "two-1  | second",
        "one-1 exited with code 0",
        "two-1 exited with code 7",
    ] {
        assert!(out.contains(line), "missing {line:?}:\n{out}");
    }
    // `--abort-on-container-failure` ignores the 0 and stops on the 7.
    let o = p.compose(&["up", "--abort-on-container-failure", "--force-recreate"]);
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    assert!(
        stdout(&o).contains("Aborting on container exit..."),
        "{}",
        text(&o)
    );
}

#[test]
fn ctrl_c_stops_an_attached_project() {
    let yaml = format!("services:\n  srv:\n    {SERVER}\n");
    let Some(p) = project(&compose_file(&yaml)) else {
        return;
    };
    let mut child = p
        .berth(&["compose", "up"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Following has begun once the first line of the container is out.
    let first = lines.find(|l| l.as_ref().is_ok_and(|l| l.contains("srv-1  | up")));
    assert!(first.is_some(), "no output from the attached up");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("Gracefully stopping..."), "{err}");
    assert_eq!(p.inspect(&p.container("srv"))["State"]["Status"], "exited");
}

#[test]
fn down_stops_a_dependency_level_at_once() {
    // Three independent services whose PID 1 ignores SIGTERM: each needs the SIGKILL after
    // the timeout, so one after another takes 3 × 4 s, a level at once about 4 s (the
    // bound between leaves a loaded machine seconds of slack).
    let stubborn = "image: bb\n    command: [\"sh\", \"-c\", \"trap '' TERM; while true; do sleep 0.2; done\"]";
    let yaml =
        format!("services:\n  a:\n    {stubborn}\n  b:\n    {stubborn}\n  c:\n    {stubborn}\n");
    let Some(p) = project(&compose_file(&yaml)) else {
        return;
    };
    p.ok(&["up", "-d"]);
    let start = Instant::now();
    let o = p.ok(&["down", "-t", "4"]);
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "down took {took:?}: {}",
        text(&o)
    );
    assert!(took >= Duration::from_secs(4), "the timeout was not waited");
    assert!(p.containers().is_empty());
}

#[test]
fn recreate_keeps_anonymous_volumes_and_down_v_removes_them() {
    let files = vec![
        ("img/Dockerfile", "FROM bb\nVOLUME /vol\n".to_string()),
        (
            "compose.yaml",
            "services:
  app:
    build: ./img
    init: true
    command: [\"sh\", \"-c\", \"while true; do sleep 0.2; done\"]
    environment: {MODE: \"${MODE:-one}\"}
    volumes: [\"/cache\"]
"
            .to_string(),
        ),
    ];
    let Some(p) = project(&files) else { return };
    p.ok(&["up", "-d"]);
    p.ok(&[
        "exec",
        "-T",
        "app",
        "sh",
        "-c",
        "echo c > /cache/f; echo v > /vol/f",
    ]);
    let before = p.inspect(&p.container("app"))["Id"].clone();
    let o = p
        .berth(&["compose", "up", "-d"])
        .env("MODE", "two")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_ne!(
        p.inspect(&p.container("app"))["Id"],
        before,
        "not recreated"
    );
    let o = p.ok(&["exec", "-T", "app", "sh", "-c", "cat /cache/f /vol/f"]);
    assert_eq!(stdout(&o), "c\nv\n");
    let volumes = p.berth_ok(&["volume", "ls", "-q"]);
    assert_eq!(volumes.lines().count(), 2, "{volumes}");
    p.ok(&["down", "-v"]);
    assert_eq!(p.berth_ok(&["volume", "ls", "-q"]), "");
}

#[test]
fn pause_unpause_create_wait() {
    let yaml = format!(
        "services:
  srv:
    {SERVER}
  job:
    image: bb
    command: [\"sh\", \"-c\", \"sleep 1; exit 4\"]
"
    );
    let Some(p) = project(&compose_file(&yaml)) else {
        return;
    };
    p.ok(&["create"]);
    for svc in ["srv", "job"] {
        assert_eq!(p.inspect(&p.container(svc))["State"]["Status"], "created");
    }
    p.ok(&["start", "srv"]);
    let o = p.ok(&["pause"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("Container {}  Paused", p.container("srv"))),
        "{err}"
    );
    assert_eq!(p.inspect(&p.container("srv"))["State"]["Status"], "paused");
    p.ok(&["unpause", "srv"]);
    assert_eq!(p.inspect(&p.container("srv"))["State"]["Status"], "running");
    p.ok(&["start", "job"]);
    let o = p.compose(&["wait", "job"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    // --down-project removes the project once the first container stops.
    p.ok(&["start", "job"]);
    let o = p.compose(&["wait", "--down-project", "job"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(p.containers().is_empty(), "{:?}", p.containers());
}

#[test]
fn events_cp_stats_attach_version() {
    let yaml = format!(
        "services:
  srv:
    {SERVER}
  talk:
    image: bb
    init: true
    command: [\"sh\", \"-c\", \"sleep 3; echo hello-attach; exit 5\"]
"
    );
    let Some(p) = project(&compose_file(&yaml)) else {
        return;
    };
    p.ok(&["up", "-d", "srv"]);
    // events: the stop of srv, as JSON lines.
    let mut events = p
        .berth(&["compose", "events", "--json", "srv"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    p.ok(&["restart", "srv"]);
    let mut seen = Vec::new();
    for line in BufReader::new(events.stdout.take().unwrap()).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        assert_eq!(v["service"], "srv", "{v}");
        assert_eq!(v["attributes"]["name"], p.container("srv").as_str(), "{v}");
        seen.push(v["action"].as_str().unwrap().to_string());
        if seen.iter().any(|a| a == "start") {
            break;
        }
    }
    events.kill().unwrap();
    events.wait().unwrap();
    assert!(seen.contains(&"stop".to_string()), "{seen:?}");

    // cp both ways.
    fs_err::write(p.dir.path().join("in.txt"), "from host\n").unwrap();
    p.ok(&["cp", "in.txt", "srv:/tmp/in.txt"]);
    let o = p.ok(&["exec", "-T", "srv", "cat", "/tmp/in.txt"]);
    assert_eq!(stdout(&o), "from host\n");
    p.ok(&["cp", "srv:/tmp/in.txt", "back.txt"]);
    assert_eq!(
        fs_err::read_to_string(p.dir.path().join("back.txt")).unwrap(),
        "from host\n"
    );

    let o = p.ok(&["stats", "--no-stream"]);
    assert!(stdout(&o).contains(&p.container("srv")), "{}", text(&o));

    // attach follows the container's output and ends with its code.
    p.ok(&["up", "-d", "talk"]);
    let o = p.compose(&["attach", "--no-stdin", "talk"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(stdout(&o).contains("hello-attach"), "{}", text(&o));

    let o = p.ok(&["version", "--short"]);
    assert_eq!(stdout(&o).trim(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn links_and_external_links_are_names_on_the_project_network() {
    let serve = |port: u16, word: &str| {
        format!("[\"sh\", \"-c\", \"while true; do echo {word} | nc -l -p {port}; done\"]")
    };
    let yaml = format!(
        "services:
  db:
    image: bb
    init: true
    command: {}
  web:
    image: bb
    init: true
    command: [\"sleep\", \"300\"]
    links: [\"db:database\"]
    external_links: [\"outside:ext\"]
",
        serve(5432, "db")
    );
    let Some(p) = project(&compose_file(&yaml)) else {
        return;
    };
    // `config` prints the keys; links make db a dependency, so it starts first.
    let cfg = stdout(&p.ok(&["config"]));
    assert!(
        cfg.contains("links:") && cfg.contains("external_links:"),
        "{cfg}"
    );
    p.ok(&["up", "-d", "db"]);
    let net = format!("{}_default", p.name);
    p.berth_ok(&[
        "run",
        "-d",
        "--name",
        "outside",
        "--network",
        &net,
        "bb",
        "sh",
        "-c",
        "while true; do echo outside | nc -l -p 7000; done",
    ]);
    p.ok(&["up", "-d"]);
    let o = p.ok(&[
        "exec",
        "-T",
        "web",
        "sh",
        "-c",
        "nc database 5432 </dev/null; nc ext 7000 </dev/null",
    ]);
    assert_eq!(stdout(&o).trim(), "db\noutside", "{}", text(&o));
    let links = p.inspect(&p.container("web"))["HostConfig"]["Links"].clone();
    assert_eq!(
        links,
        serde_json::json!([
            format!("/{}:/{}/database", p.container("db"), p.container("web")),
            format!("/outside:/{}/ext", p.container("web"))
        ])
    );
}
