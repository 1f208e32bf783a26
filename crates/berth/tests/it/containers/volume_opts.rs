//! `volume create --opt type=… --opt device=… --opt o=…`: the local driver's
//! device-backed volumes, mounted while containers use them.

use super::{Root, skip};

fn mounted_under(r: &Root) -> usize {
    let root = r.dir.path().to_string_lossy().into_owned();
    fs_err::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| {
            l.split(' ')
                .nth(4)
                .is_some_and(|m| m.starts_with(&root) && m.contains("/volumes/"))
        })
        .count()
}

#[test]
fn tmpfs_volume_lives_while_containers_use_it() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&[
        "volume",
        "create",
        "--opt",
        "type=tmpfs",
        "--opt",
        "device=tmpfs",
        "--opt",
        "o=size=2m,uid=1000",
        "scratch",
    ]);
    assert_eq!(
        r.inspect(
            "scratch",
            "{{index .Options \"type\"}} {{index .Options \"o\"}}"
        ),
        "tmpfs size=2m,uid=1000"
    );
    r.ok(&[
        "run",
        "-d",
        "--name",
        "holder",
        "-v",
        "scratch:/t",
        "alpine:test",
        "sh",
        "-c",
        "echo shared > /t/f; sleep 300",
    ]);
    r.wait_for(10, "the write", || {
        r.ok(&["exec", "holder", "ls", "/t"]).contains('f')
    });
    // A second container sees the same tmpfs, with the options applied.
    let out = r.ok(&[
        "run",
        "--rm",
        "-v",
        "scratch:/t",
        "alpine:test",
        "sh",
        "-c",
        "cat /t/f; stat -c %u /t; df -k /t | tail -1 | awk '{print $2}'",
    ]);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["shared", "1000", "2048"]
    );
    assert_eq!(
        mounted_under(&r),
        1,
        "the second container's exit keeps it: holder still runs"
    );
    // The last user stopped: unmounted, and a tmpfs's content goes with it (as Docker's).
    r.ok(&["stop", "-t", "0", "holder"]);
    assert_eq!(mounted_under(&r), 0);
    assert_eq!(
        r.ok(&["run", "--rm", "-v", "scratch:/t", "alpine:test", "ls", "/t"])
            .trim(),
        ""
    );
}

#[test]
fn bind_volume_uses_the_host_directory_and_rm_keeps_it() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let host = tempfile::tempdir().unwrap();
    fs_err::write(host.path().join("seed"), "from host").unwrap();
    let device = format!("device={}", host.path().display());
    r.ok(&[
        "volume",
        "create",
        "--opt",
        "type=none",
        "--opt",
        &device,
        "--opt",
        "o=bind",
        "hostvol",
    ]);
    let out = r.ok(&[
        "run",
        "--rm",
        "-v",
        "hostvol:/d",
        "alpine:test",
        "sh",
        "-c",
        "cat /d/seed; echo back > /d/out",
    ]);
    assert_eq!(out.trim(), "from host");
    assert_eq!(
        fs_err::read_to_string(host.path().join("out")).unwrap(),
        "back\n"
    );
    assert_eq!(mounted_under(&r), 0);
    // Removing the volume never deletes the host directory's files.
    r.ok(&["volume", "rm", "hostvol"]);
    assert!(host.path().join("seed").exists());
    assert!(host.path().join("out").exists());

    // o=bind,ro: read-only in every container.
    let ro_device = format!("device={}", host.path().display());
    r.ok(&[
        "volume",
        "create",
        "--opt",
        "type=none",
        "--opt",
        &ro_device,
        "--opt",
        "o=bind,ro",
        "rovol",
    ]);
    let out = r.ok(&[
        "run",
        "--rm",
        "-v",
        "rovol:/d",
        "alpine:test",
        "sh",
        "-c",
        "touch /d/x 2>&1; true",
    ]);
    assert!(out.contains("Read-only file system"), "{out}");

    for (opts, word) in [
        (vec!["--opt", "size=1g"], "size"),
        (vec!["--opt", "type=tmpfs"], "device"),
        (
            vec!["--opt", "device=relative", "--opt", "o=bind"],
            "absolute",
        ),
    ] {
        let mut a = vec!["volume", "create"];
        a.extend(opts);
        a.push("bad");
        let e = r.fails(&a, 1);
        assert!(e.contains(word), "{e}");
    }
    assert!(
        !r.ok(&["volume", "ls", "-q"]).contains("bad"),
        "nothing made for bad options"
    );
}
