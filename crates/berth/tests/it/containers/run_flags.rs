//! `run -a`, `--sig-proxy` (run, `start -a`, `attach`) and `--platform`: flags Docker
//! users pass that must do what Docker does.

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Stdio};

use super::{Root, skip};

const TRAP: &str = "trap 'echo got-usr1; exit 7' USR1; echo ready; while true; do sleep 0.1; done";

/// Starts `berth ARGS` with stdout in a file; waits until the container said "ready".
fn spawn_ready(r: &Root, args: &[&str], out: &std::path::Path) -> Child {
    let file = fs_err::File::create(out).unwrap();
    let child = r
        .cmd(args)
        .stdout(Stdio::from(file.into_parts().0))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    r.wait_for(20, "the container to be ready", || {
        fs_err::read_to_string(out)
            .unwrap_or_default()
            .contains("ready")
    });
    child
}

fn usr1(child: &Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGUSR1,
    )
    .unwrap();
}

#[test]
fn attach_flag_selects_the_streams() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let cmd = "echo to-out; echo to-err >&2";
    let o = r.run(&[
        "run",
        "--rm",
        "-a",
        "stdout",
        "alpine:test",
        "sh",
        "-c",
        cmd,
    ]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout), "to-out\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
    let o = r.run(&[
        "run",
        "--rm",
        "-a",
        "STDERR",
        "alpine:test",
        "sh",
        "-c",
        cmd,
    ]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "to-err\n");
    // berth's own messages still reach stderr when the container's stderr is not
    // attached.
    let e = r.fails(
        &["run", "--rm", "-a", "stdout", "alpine:test", "/no/such"],
        127,
    );
    assert!(e.contains("/no/such"), "{e}");
    let e = r.fails(&["run", "-a", "stdio", "alpine:test", "true"], 125);
    assert!(
        e.contains("valid streams are STDIN, STDOUT and STDERR"),
        "{e}"
    );
    let e = r.fails(&["create", "-a", "stdio", "alpine:test", "true"], 125);
    assert!(e.contains("valid streams"), "{e}");
    let e = r.fails(&["run", "-d", "-a", "stdout", "alpine:test", "true"], 125);
    assert!(e.contains("--attach and --detach"), "{e}");
    assert!(r.all_ids().is_empty());
}

#[test]
fn signals_are_proxied_unless_told_not_to() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let out = r.dir.path().join("out");

    // run (default --sig-proxy=true): the container gets the signal.
    let mut c = spawn_ready(
        &r,
        &["run", "--name", "fg", "alpine:test", "sh", "-c", TRAP],
        &out,
    );
    usr1(&c);
    assert_eq!(c.wait().unwrap().code(), Some(7));
    assert!(fs_err::read_to_string(&out).unwrap().contains("got-usr1"));

    // start -a and attach forward too, although a monitor owns the container.
    r.ok(&["create", "--name", "sa", "alpine:test", "sh", "-c", TRAP]);
    let mut c = spawn_ready(&r, &["start", "-a", "sa"], &out);
    usr1(&c);
    assert_eq!(c.wait().unwrap().code(), Some(7));
    assert_eq!(r.inspect("sa", "{{.State.ExitCode}}"), "7");

    r.ok(&["run", "-d", "--name", "at", "alpine:test", "sh", "-c", TRAP]);
    r.wait_for(20, "at to be ready", || {
        r.ok(&["logs", "at"]).contains("ready")
    });
    let file = fs_err::File::create(&out).unwrap();
    let mut c = r
        .cmd(&["attach", "at"])
        .stdout(Stdio::from(file.into_parts().0))
        .spawn()
        .unwrap();
    // The attach is connected once the container's next output could reach it; the
    // signal must not come before berth has set up forwarding, so wait for a line.
    r.ok(&["exec", "at", "sh", "-c", "echo attached > /proc/1/fd/1"]);
    r.wait_for(20, "the attach to relay", || {
        fs_err::read_to_string(&out)
            .unwrap_or_default()
            .contains("attached")
    });
    usr1(&c);
    assert_eq!(c.wait().unwrap().code(), Some(7));
    assert!(fs_err::read_to_string(&out).unwrap().contains("got-usr1"));

    // --sig-proxy=false: berth dies of the signal, the container keeps running.
    let mut c = spawn_ready(
        &r,
        &[
            "run",
            "--sig-proxy=false",
            "--name",
            "np",
            "alpine:test",
            "sh",
            "-c",
            TRAP,
        ],
        &out,
    );
    usr1(&c);
    assert_eq!(c.wait().unwrap().signal(), Some(libc::SIGUSR1));
    assert_eq!(r.inspect("np", "{{.State.Running}}"), "true");
    r.ok(&["kill", "np"]);
}

#[test]
fn platform_must_match_the_local_image() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    // The test image is the host's (amd64 here); asking for it explicitly is fine.
    let host = match std::env::consts::ARCH {
        "x86_64" => "linux/amd64",
        "aarch64" => "linux/arm64",
        other => {
            eprintln!("skipped: no platform name known for {other}");
            return;
        }
    };
    r.ok(&["create", "--platform", host, "alpine:test", "true"]);
    let other = if host == "linux/amd64" {
        "linux/arm64"
    } else {
        "linux/amd64"
    };
    let e = r.fails(
        &[
            "create",
            "--pull",
            "never",
            "--platform",
            other,
            "alpine:test",
            "true",
        ],
        125,
    );
    assert!(
        e.contains(&format!(
            "does not match the specified platform: wanted {other}, actual: {host}"
        )),
        "{e}"
    );
    let e = r.fails(
        &["create", "--platform", "bogus", "alpine:test", "true"],
        125,
    );
    assert!(e.contains("bogus"), "{e}");
    assert_eq!(r.all_ids().len(), 1);
}

#[test]
fn inspect_and_ps_show_sizes() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&[
        "run",
        "--name",
        "sz",
        "alpine:test",
        "sh",
        "-c",
        "head -c 100000 /dev/zero > /big",
    ]);
    assert!(!r.ok(&["inspect", "sz"]).contains("SizeRw"), "only with -s");
    let out = r.ok(&["inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", "sz"]);
    let sizes: Vec<u64> = out.split_whitespace().map(|s| s.parse().unwrap()).collect();
    assert!(sizes[0] >= 100_000 && sizes[0] < 200_000, "{out}");
    assert!(
        sizes[1] > sizes[0] + 1_000_000,
        "the image counts too: {out}"
    );
    let ps = r.ok(&["ps", "-a", "-s", "--format", "{{.Size}}"]);
    assert!(ps.starts_with("100kB (virtual "), "{ps}");
}

#[test]
fn events_name_the_container_and_its_exit_code() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.fails(
        &["run", "--name", "evt", "alpine:test", "sh", "-c", "exit 3"],
        3,
    );
    let id = r.inspect("evt", "{{.Id}}");
    r.ok(&["rm", "evt"]);
    // Docker's container filter takes a name as well as an id.
    let lines = r.ok(&[
        "events",
        "--since",
        "10m",
        "--until",
        "0s",
        "--filter",
        "container=evt",
    ]);
    let actions: Vec<&str> = lines
        .lines()
        .map(|l| l.split_whitespace().nth(2).unwrap_or(""))
        .collect();
    assert_eq!(actions, ["create", "start", "die", "destroy"], "{lines}");
    assert!(
        lines.contains(&format!(
            "container die {id} (exitCode=3, image=alpine:test, name=evt)"
        )),
        "{lines}"
    );
    let json = r.ok(&[
        "events",
        "--since",
        "10m",
        "--until",
        "0s",
        "--filter",
        "event=destroy",
        "--format",
        "{{.Actor.Attributes.name}} {{.Actor.ID}}",
    ]);
    assert_eq!(json, format!("evt {id}\n"));
}

#[test]
fn create_records_the_attached_streams() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let tmpl = "{{.Config.AttachStdin}} {{.Config.AttachStdout}} {{.Config.AttachStderr}} \
                {{.Config.OpenStdin}} {{.Config.StdinOnce}} {{.Config.Tty}}";
    // Docker's table: no -a attaches stdout and stderr; -a names exactly the streams;
    // -i adds stdin (and keeps it open, once); -d attaches nothing.
    let cases: [(&str, &[&str], &str); 6] = [
        ("plain", &[], "false true true false false false"),
        (
            "aout",
            &["-a", "stdout"],
            "false true false false false false",
        ),
        (
            "aerr",
            &["-a", "STDERR", "-t"],
            "false false true false false true",
        ),
        (
            "ain",
            &["-a", "stdin"],
            "true false false false false false",
        ),
        ("it", &["-i", "-t"], "true true true true true true"),
        (
            "ia",
            &["-i", "-a", "stderr"],
            "true false true true true false",
        ),
    ];
    for (name, flags, want) in cases {
        let mut args = vec!["create", "--name", name];
        args.extend_from_slice(flags);
        args.extend(["alpine:test", "true"]);
        r.ok(&args);
        assert_eq!(r.inspect(name, tmpl), want, "create {flags:?}");
    }
    r.ok(&[
        "run",
        "-d",
        "-i",
        "--name",
        "det",
        "alpine:test",
        "sleep",
        "30",
    ]);
    assert_eq!(
        r.inspect("det", tmpl),
        "false false false true false false",
        "run -d -i"
    );
    // `start -a` attaches stdout and stderr whatever `create -a` recorded, as Docker's.
    r.ok(&[
        "create",
        "--name",
        "echo",
        "-a",
        "stdout",
        "alpine:test",
        "sh",
        "-c",
        "echo out; echo err >&2",
    ]);
    let o = r.run(&["start", "-a", "echo"]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err\n");
}

#[test]
fn a_created_container_holds_no_mount_until_it_starts() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let id = r.ok(&[
        "create",
        "--name",
        "idle",
        "alpine:test",
        "sh",
        "-c",
        "echo hi > /f; cat /f",
    ]);
    let merged = r
        .dir
        .path()
        .join("containers")
        .join(id.trim())
        .join("merged");
    let mounted = || {
        fs_err::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .contains(&format!(" {} ", merged.display()))
    };
    assert!(!mounted(), "created container's rootfs is still mounted");
    // It starts (mounting its rootfs again) and runs normally.
    assert_eq!(r.ok(&["start", "-a", "idle"]), "hi\n");
    assert!(!mounted(), "an exited container's rootfs is still mounted");
}
