//! Volumes and mounts: data outlives containers, read-only mounts refuse writes,
//! copy-up, anonymous volumes and `rm -v`, bind mounts.

use super::{Root, skip};

#[test]
fn volume_data_survives_its_container() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    assert_eq!(
        r.ok(&["volume", "create", "--label", "k=v", "data"]).trim(),
        "data"
    );
    r.ok(&[
        "run",
        "--name",
        "ww",
        "-v",
        "data:/data",
        "alpine:test",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    // In use: refused, and nothing changes.
    let e = r.fails(&["volume", "rm", "data"], 1);
    assert!(e.contains("in use"), "{e}");
    r.ok(&["rm", "ww"]);
    assert_eq!(
        r.ok(&[
            "run",
            "--rm",
            "-v",
            "data:/d:ro",
            "alpine:test",
            "cat",
            "/d/f"
        ]),
        "kept\n"
    );
    let e = r.fails(
        &[
            "run",
            "--rm",
            "--mount",
            "type=volume,src=data,dst=/d,readonly",
            "alpine:test",
            "sh",
            "-c",
            "echo x > /d/g",
        ],
        1,
    );
    assert!(e.contains("Read-only file system"), "{e}");
    let doc: serde_json::Value =
        serde_json::from_str(&r.ok(&["volume", "inspect", "data"])).unwrap();
    assert_eq!(doc[0]["Name"], "data");
    assert_eq!(doc[0]["Labels"]["k"], "v");
    let mp = doc[0]["Mountpoint"].as_str().unwrap();
    assert_eq!(fs_err::read_to_string(format!("{mp}/f")).unwrap(), "kept\n");
    assert_eq!(
        r.ok(&["volume", "ls", "-q", "--filter", "label=k=v"])
            .trim(),
        "data"
    );
    r.ok(&["volume", "rm", "data"]);
    assert!(r.ok(&["volume", "ls", "-q"]).is_empty());
}

#[test]
fn copy_up_anonymous_volumes_and_binds() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    // A named volume mounted over image content starts with that content.
    assert!(
        r.ok(&[
            "run",
            "--rm",
            "-v",
            "etcvol:/etc",
            "alpine:test",
            "cat",
            "/etc/alpine-release"
        ])
        .starts_with("3.10")
    );
    // An anonymous volume: -v /path; rm -v removes it, plain rm keeps it.
    r.ok(&[
        "run",
        "--name",
        "aa",
        "-v",
        "/scratch",
        "alpine:test",
        "touch",
        "/scratch/x",
    ]);
    let anon = r.inspect("aa", "{{range .Mounts}}{{.Name}}{{end}}");
    assert_eq!(anon.len(), 64, "{anon}");
    r.ok(&["rm", "-v", "aa"]);
    assert!(!r.ok(&["volume", "ls", "-q"]).contains(&anon));
    // Bind mounts: -v creates a missing host dir, --mount refuses it.
    let host = r.dir.path().join("hostdir");
    let spec = format!("{}:/h", host.display());
    r.ok(&[
        "run",
        "--rm",
        "-v",
        &spec,
        "alpine:test",
        "sh",
        "-c",
        "echo from-container > /h/f",
    ]);
    assert_eq!(
        fs_err::read_to_string(host.join("f")).unwrap(),
        "from-container\n"
    );
    let missing = r.dir.path().join("missing");
    let m = format!("type=bind,src={},dst=/m", missing.display());
    let e = r.fails(&["run", "--rm", "--mount", &m, "alpine:test", "true"], 125);
    assert!(e.contains("does not exist"), "{e}");
    assert!(!missing.exists());
    // prune removes unused volumes.
    r.ok(&["volume", "prune", "-f", "-a"]);
    assert!(r.ok(&["volume", "ls", "-q"]).is_empty());
}

#[test]
fn diff_export_and_events() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&[
        "run",
        "--name",
        "dd",
        "alpine:test",
        "sh",
        "-c",
        "echo x > /tmp/new; rm /etc/motd",
    ]);
    let diff = r.ok(&["diff", "dd"]);
    assert!(diff.contains("A /tmp/new\n"), "{diff}");
    assert!(diff.contains("D /etc/motd\n"), "{diff}");
    assert!(!diff.contains("resolv.conf"), "{diff}");
    let tarball = r.dir.path().join("dd.tar");
    r.ok(&["export", "-o", tarball.to_str().unwrap(), "dd"]);
    let list = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&tarball)
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.lines()
            .any(|l| l.trim_start_matches("./") == "tmp/new"),
        "{list}"
    );
    assert!(
        !list
            .lines()
            .any(|l| l.trim_start_matches("./") == "etc/motd")
    );
    let id = r.inspect("dd", "{{.Id}}");
    r.ok(&["rm", "dd"]);
    let filter = format!("container={id}");
    let ev = r.ok(&[
        "events",
        "--since",
        "10m",
        "--until",
        "0s",
        "--filter",
        &filter,
        "--format",
        "{{.Action}}",
    ]);
    assert_eq!(
        ev.split_whitespace().collect::<Vec<_>>(),
        ["create", "start", "die", "destroy"]
    );
}
