//! `berth compose` with real containers: a three-service app (web → api → db, each built
//! from a local Dockerfile on the shared busybox image) reached by service name, a named
//! volume that outlives `down` but not `down -v`, recreation of exactly the changed
//! service, `logs` of every service, health checks gating dependants, and bad input
//! refused before anything starts.
//!
//! Each test has its own `--root` and project directory; the guard runs `compose down -v`
//! and removes whatever containers, networks and volumes the root still has, even when the
//! test fails. The tests share host-wide networking state, so they run one at a time.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::{berth_bin, skip_unless_root};

static SERIAL: Mutex<()> = Mutex::new(());

pub(crate) const BUSYBOX: &str = "/work/shared/images/busybox-1.38.0/glibc/rootfs.tar.gz";

/// The app of the issue. Every server is busybox `nc` answering one line per connection;
/// web asks api, api asks db, db answers with the content of its volume.
pub(crate) const APP: &[(&str, &str)] = &[
    (
        "db/Dockerfile",
        "FROM bb\nCMD [\"sh\", \"-c\", \"echo db ready; while true; do nc -l -p 5432 -e sh -c 'cat /data/value 2>/dev/null || echo empty'; done\"]\n",
    ),
    (
        "api/Dockerfile",
        "FROM bb\nCMD [\"sh\", \"-c\", \"echo api ready $MODE; while true; do nc -l -p 8000 -e sh -c 'echo api:$(nc db 5432)'; done\"]\n",
    ),
    (
        "web/Dockerfile",
        "FROM bb\nCMD [\"sh\", \"-c\", \"echo web ready; while true; do nc -l -p 80 -e sh -c 'echo web:$(nc api 8000)'; done\"]\n",
    ),
    (
        "compose.yaml",
        "services:
  web:
    build: ./web
    init: true
    depends_on: [api]
  api:
    build: ./api
    init: true
    environment:
      MODE: ${MODE:-one}
    depends_on:
      db: {condition: service_started}
  db:
    build: ./db
    init: true
    volumes: [\"data:/data\"]
volumes:
  data: {}
",
    ),
];

/// A berth root and a project directory; cleans both up on drop.
pub(crate) struct Project {
    pub(crate) root: tempfile::TempDir,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) name: String,
    _serial: std::sync::MutexGuard<'static, ()>,
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

impl Project {
    pub(crate) fn new(files: &[(&str, &str)]) -> Option<Project> {
        if skip_unless_root() {
            return None;
        }
        if !Path::new(BUSYBOX).exists() {
            eprintln!("skipped: {BUSYBOX} is missing (shared test images)");
            return None;
        }
        let serial = SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = tempfile::Builder::new()
            .prefix("berth-compose-")
            .tempdir()
            .unwrap();
        // The project name comes from the directory, as Docker Compose's does.
        let name = dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_lowercase();
        let p = Project {
            root: tempfile::Builder::new()
                .prefix("berth-compose-root-")
                .tempdir()
                .unwrap(),
            dir,
            name,
            _serial: serial,
        };
        for (path, content) in files {
            let f = p.dir.path().join(path);
            fs_err::create_dir_all(f.parent().unwrap()).unwrap();
            fs_err::write(&f, content).unwrap();
        }
        p.berth_ok(&["import", BUSYBOX, "bb"]);
        Some(p)
    }

    pub(crate) fn berth(&self, args: &[&str]) -> Command {
        let mut c = Command::new(berth_bin());
        c.arg("--root")
            .arg(self.root.path())
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("MODE")
            .stdin(Stdio::null());
        c
    }

    pub(crate) fn berth_ok(&self, args: &[&str]) -> String {
        let o = self.berth(args).output().unwrap();
        assert!(o.status.success(), "berth {args:?} failed: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub(crate) fn compose(&self, args: &[&str]) -> Output {
        let mut full = vec!["compose"];
        full.extend_from_slice(args);
        self.berth(&full).output().unwrap()
    }

    pub(crate) fn ok(&self, args: &[&str]) -> Output {
        let o = self.compose(args);
        assert!(o.status.success(), "compose {args:?} failed: {}", text(&o));
        o
    }

    pub(crate) fn fails(&self, args: &[&str]) -> String {
        let o = self.compose(args);
        assert!(
            !o.status.success(),
            "compose {args:?} should fail: {}",
            text(&o)
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    pub(crate) fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.name)
    }

    pub(crate) fn inspect(&self, name: &str) -> serde_json::Value {
        let out = self.berth_ok(&["inspect", name]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v[0].clone()
    }

    /// What one connection to `port` inside `service`'s container answers, retrying while
    /// the servers start.
    pub(crate) fn ask(&self, service: &str, port: u16) -> String {
        let start = Instant::now();
        loop {
            let o = self.compose(&[
                "exec",
                "-T",
                service,
                "sh",
                "-c",
                &format!("nc 127.0.0.1 {port}"),
            ]);
            let out = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if o.status.success() && !out.is_empty() && !out.ends_with(':') {
                return out;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "no answer from {service}:{port}: {}",
                text(&o)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub(crate) fn names(&self, args: &[&str]) -> Vec<String> {
        let mut full = args.to_vec();
        full.extend(["ls", "--format", "{{.Name}}"]);
        let out = self.berth_ok(&full);
        let mut v: Vec<String> = out.lines().map(str::to_string).collect();
        v.sort();
        v
    }

    pub(crate) fn containers(&self) -> Vec<String> {
        let out = self.berth_ok(&["ps", "-a", "--format", "{{.Names}}"]);
        let mut v: Vec<String> = out.lines().map(str::to_string).collect();
        v.sort();
        v
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self.compose(&["down", "-v", "--remove-orphans", "-t", "1"]);
        if let Ok(o) = self.berth(&["ps", "-aq", "--no-trunc"]).output() {
            for id in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = self.berth(&["rm", "-f", id]).output();
            }
        }
        let _ = self.berth(&["network", "prune", "-f"]).output();
        let _ = self.berth(&["volume", "prune", "-a", "-f"]).output();
    }
}

#[test]
fn three_service_app_lifecycle() {
    let Some(p) = Project::new(APP) else { return };
    let up = p.ok(&["up", "-d"]);
    let err = String::from_utf8_lossy(&up.stderr);
    let network = format!("{}_default", p.name);
    let volume = format!("{}_data", p.name);
    for line in [
        format!("Network {network}  Created"),
        format!("Volume {volume}  Created"),
        format!("Container {}  Started", p.container("web")),
    ] {
        assert!(err.contains(&line), "missing {line:?} in:\n{err}");
    }
    // Dependencies start first.
    let pos = |s: &str| err.find(&format!("Container {}  Started", p.container(s)));
    assert!(pos("db") < pos("api") && pos("api") < pos("web"), "{err}");

    // Names, labels and networks as Docker Compose makes them.
    let web = p.inspect(&p.container("web"));
    let labels = &web["Config"]["Labels"];
    assert_eq!(labels["com.docker.compose.project"], p.name.as_str());
    assert_eq!(labels["com.docker.compose.service"], "web");
    assert_eq!(labels["com.docker.compose.container-number"], "1");
    assert_eq!(labels["com.docker.compose.oneoff"], "False");
    assert!(
        labels["com.docker.compose.config-hash"]
            .as_str()
            .unwrap()
            .len()
            == 64
    );
    assert!(
        web["NetworkSettings"]["Networks"][&network].is_object(),
        "{web}"
    );
    let ps = String::from_utf8_lossy(&p.ok(&["ps"]).stdout).into_owned();
    for s in ["web", "api", "db"] {
        assert!(ps.contains(&p.container(s)), "{ps}");
    }

    // web reaches api by service name, and api reaches db.
    assert_eq!(p.ask("web", 80), "web:api:empty");
    p.ok(&["exec", "-T", "db", "sh", "-c", "echo stored > /data/value"]);
    assert_eq!(p.ask("web", 80), "web:api:stored");

    // Every service's output, behind its prefix.
    let logs = String::from_utf8_lossy(&p.ok(&["logs"]).stdout).into_owned();
    for (prefix, line) in [
        ("db-1", "db ready"),
        ("api-1", "api ready one"),
        ("web-1", "web ready"),
    ] {
        assert!(
            logs.lines()
                .any(|l| l.starts_with(prefix) && l.contains("| ") && l.ends_with(line)),
            "no {prefix} line {line:?} in:\n{logs}"
        );
    }

    // A changed environment recreates api only.
    let ids = |p: &Project| {
        ["web", "api", "db"].map(|s| {
            p.inspect(&p.container(s))["Id"]
                .as_str()
                .unwrap()
                .to_string()
        })
    };
    let before = ids(&p);
    let o = p
        .berth(&["compose", "up", "-d"])
        .env("MODE", "two")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let after = ids(&p);
    assert_eq!(before[0], after[0], "web was recreated");
    assert_ne!(before[1], after[1], "api was not recreated");
    assert_eq!(before[2], after[2], "db was recreated");
    assert!(String::from_utf8_lossy(&o.stderr).contains("Recreated"));

    // `logs -f` follows all services until they stop.
    let follower = p
        .berth(&["compose", "logs", "-f", "--no-color"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    p.ok(&["stop", "-t", "1"]);
    let out = follower.wait_with_output().unwrap();
    let followed = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in ["db ready", "api ready two", "web ready"] {
        assert!(
            followed.contains(line),
            "logs -f lacks {line:?}:\n{followed}"
        );
    }

    // down removes the containers and the network, keeps the volume.
    p.ok(&["down"]);
    assert!(p.containers().is_empty(), "{:?}", p.containers());
    assert!(!p.names(&["network"]).contains(&network));
    assert!(p.names(&["volume"]).contains(&volume));

    // up again: the data is still there.
    p.ok(&["up", "-d"]);
    assert_eq!(p.ask("web", 80), "web:api:stored");

    // down -v removes the volume too.
    let o = p.ok(&["down", "-v"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("Volume {volume}  Removed")));
    assert!(!p.names(&["volume"]).contains(&volume));
    assert!(p.containers().is_empty());
}

#[test]
fn healthcheck_gates_dependants() {
    let files = [(
        "compose.yaml",
        "services:
  api:
    image: bb
    init: true
    command: [sleep, '60']
    depends_on:
      db: {condition: service_healthy}
  db:
    image: bb
    init: true
    command: [sleep, '60']
    healthcheck:
      test: [CMD, test, -f, /tmp/ok]
      interval: 1s
      retries: 2
",
    )];
    let Some(p) = Project::new(&files) else {
        return;
    };
    // The check fails: api is never created and up says why.
    let err = p.fails(&["up", "-d"]);
    assert!(err.contains("unhealthy"), "{err}");
    assert_eq!(p.containers(), vec![p.container("db")]);
    p.ok(&["down", "-t", "1"]);

    // The same check passing lets api start after db is healthy.
    let healthy = files[0].1.replace("test, -f, /tmp/ok", "'true'");
    fs_err::write(p.dir.path().join("compose.yaml"), healthy).unwrap();
    let o = p.ok(&["up", "-d"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("Container {}  Healthy", p.container("db"))),
        "{err}"
    );
    assert!(
        err.contains(&format!("Container {}  Started", p.container("api"))),
        "{err}"
    );
}

#[test]
fn service_completed_successfully_runs_first() {
    let files = [(
        "compose.yaml",
        "services:
  app:
    image: bb
    init: true
    command: [sleep, '60']
    depends_on:
      migrate: {condition: service_completed_successfully}
  migrate:
    image: bb
    command: [sh, -c, 'exit 3']
",
    )];
    let Some(p) = Project::new(&files) else {
        return;
    };
    let err = p.fails(&["up", "-d"]);
    assert!(err.contains("exited (3)"), "{err}");
    assert!(!p.containers().contains(&p.container("app")));
    fs_err::write(
        p.dir.path().join("compose.yaml"),
        files[0].1.replace("exit 3", "exit 0"),
    )
    .unwrap();
    p.ok(&["up", "-d"]);
    let app = p.inspect(&p.container("app"));
    assert_eq!(app["State"]["Running"], true, "{app}");
}

#[test]
fn bad_input_fails_before_anything_starts() {
    let Some(p) = Project::new(&[]) else { return };
    let cases: [(&str, &str); 4] = [
        (
            "services:\n  web:\n    image: bb\n   command: x\n",
            "compose.yaml:4:",
        ),
        (
            "services:\n  web:\n    image: bb\n    depends_on: [nosuch]\n",
            "nosuch",
        ),
        (
            "services:\n  a:\n    image: bb\n    depends_on: [b]\n  b:\n    image: bb\n    depends_on: [a]\n",
            "cycle",
        ),
        (
            "services:\n  web:\n    image: bb:${TAG:?set the tag}\n",
            "required variable TAG is missing a value: set the tag",
        ),
    ];
    for (yaml, expected) in cases {
        fs_err::write(p.dir.path().join("compose.yaml"), yaml).unwrap();
        let err = p.fails(&["up", "-d"]);
        assert!(
            err.contains(expected),
            "{yaml}: {expected:?} not in:\n{err}"
        );
        assert!(p.containers().is_empty(), "{yaml}: containers were made");
        assert_eq!(
            p.names(&["network"]),
            vec!["bridge", "host", "none"],
            "{yaml}: a network was made"
        );
    }
}

#[test]
fn scale_run_and_ls() {
    let files = [(
        "compose.yaml",
        "name: scaled
services:
  worker:
    image: bb
    init: true
    command: [sleep, '60']
",
    )];
    let Some(p) = Project::new(&files) else {
        return;
    };
    p.ok(&["up", "-d", "--scale", "worker=2"]);
    assert_eq!(p.containers(), vec!["scaled-worker-1", "scaled-worker-2"]);
    let o = p.ok(&["run", "--rm", "worker", "echo", "one-off"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "one-off");
    assert_eq!(p.containers().len(), 2, "the --rm container stayed");
    let ls = String::from_utf8_lossy(&p.ok(&["ls"]).stdout).into_owned();
    assert!(ls.contains("scaled") && ls.contains("running(2)"), "{ls}");
    p.ok(&["up", "-d", "--scale", "worker=1"]);
    assert_eq!(p.containers(), vec!["scaled-worker-1"]);
    p.ok(&["down", "-t", "1"]);
    assert!(p.containers().is_empty());
}
