//! `--secret` with `RUN --mount=type=secret`, `--ssh` with `RUN --mount=type=ssh`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;

use sha2::{Digest as _, Sha256};

use super::{Bench, out_text};

const DEBIAN: &str = "/work/shared/images/debian-12.15-bookworm-slim/rootfs.tar.xz";

/// The files below `dir` holding `needle` (grep: fast even in a debug test build).
fn found_below(dir: &Path, needle: &str) -> String {
    let o = std::process::Command::new("grep")
        .args(["-r", "-l", "-F", "--no-messages", "--", needle])
        .arg(dir)
        .output()
        .unwrap();
    assert!(o.status.code().unwrap_or(2) < 2, "grep failed");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn secrets_are_visible_to_their_run_only_and_never_stored() {
    let Some(b) = Bench::new() else { return };
    let outside = tempfile::tempdir().unwrap();
    let file = outside.path().join("token.txt");
    let value = "s3cr3t-value-7c1f0a";
    fs_err::write(&file, value).unwrap();
    let env_value = "env-s3cr3t-99d2e4";
    let sum = |v: &str| hex::encode(Sha256::digest(v.as_bytes()));
    b.write(
        "Dockerfile",
        "FROM busybox:latest\n\
         RUN --mount=type=secret,id=tok sha256sum /run/secrets/tok | cut -d' ' -f1 > /file.sum && stat -c '%a %u' /run/secrets/tok > /file.stat\n\
         RUN --mount=type=secret,id=tok,target=/etc/app/key,mode=0440,uid=5,gid=6 stat -c '%a %u %g' /etc/app/key > /custom.stat\n\
         RUN --mount=type=secret,id=envtok,env=TOKEN printf %s \"$TOKEN\" | sha256sum | cut -d' ' -f1 > /env.sum\n\
         RUN --mount=type=secret,id=absent ls /run/secrets/absent 2>/dev/null || echo absent-skipped\n\
         RUN ls /run/secrets/tok 2>/dev/null || echo not-in-later-steps\n",
    );
    let secret_file = format!("id=tok,src={}", file.display());
    let run = |extra: &[&str]| {
        let mut args = vec!["build", "--secret", &secret_file, "--secret"];
        args.push("id=envtok,env=BERTH_TEST_TOKEN");
        args.extend_from_slice(extra);
        let ctx = b.ctx();
        args.push(ctx.to_str().unwrap());
        let o = b
            .cmd(&args)
            .env("BERTH_TEST_TOKEN", env_value)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", out_text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let out = run(&["-t", "sec:1"]);
    assert!(out.contains("absent-skipped"), "{out}");
    assert!(out.contains("not-in-later-steps"), "{out}");
    let seen = b.sh_in(
        "sec:1",
        "cat /file.sum /file.stat /custom.stat /env.sum; ls -d /run/secrets /etc/app 2>&1 | grep -c 'No such file'",
    );
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(
        lines,
        [
            sum(value).as_str(),
            "400 0",
            "440 5 6",
            sum(env_value).as_str(),
            "2"
        ],
        "{seen}"
    );
    // The values are nowhere in the store: not in a layer, the cache, a config.
    for v in [value, env_value] {
        let hit = found_below(&b.dir.path().join("root"), v);
        assert!(hit.is_empty(), "{v} leaked into {hit}");
    }
    // A changed secret does not invalidate the cache (its content is not in the key).
    fs_err::write(&file, "another-value").unwrap();
    let again = run(&["-t", "sec:1"]);
    assert_eq!(again.matches("Using cache").count(), 5, "{again}");

    // A required secret that was not given fails the build, naming it.
    b.write(
        "Dockerfile",
        "FROM busybox:latest\nRUN --mount=type=secret,id=missing,required=true true\n",
    );
    let o = b.build(&[]);
    assert!(!o.status.success(), "{}", out_text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("missing") && err.contains("--secret"), "{err}");
}

#[test]
fn ssh_mount_forwards_the_agent_socket() {
    let Some(b) = Bench::new() else { return };
    if !Path::new(DEBIAN).exists() {
        eprintln!("skipped: {DEBIAN} is missing (the shared test images)");
        return;
    }
    let o = b.berth(&["import", DEBIAN, "debian:12"]);
    assert!(o.status.success(), "{}", out_text(&o));
    // A stand-in agent: answers each line it reads with `agent saw <line>`.
    let sockdir = tempfile::tempdir().unwrap();
    let sock = sockdir.path().join("agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    listener.set_nonblocking(true).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let agent = std::thread::spawn(move || {
        let mut served = 0;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            let Ok((s, _)) = listener.accept() else {
                std::thread::sleep(std::time::Duration::from_millis(20));
                continue;
            };
            s.set_nonblocking(false).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            let mut line = String::new();
            let mut r = BufReader::new(&s);
            if r.read_line(&mut line).is_ok() {
                let _ = writeln!(&s, "agent saw {}", line.trim());
                served += 1;
            }
        }
        served
    });
    // Stops the agent thread even when an assertion fails.
    struct Stop(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let guard = Stop(stop);
    b.write(
        "Dockerfile",
        "FROM debian:12\n\
         RUN --mount=type=ssh perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Peer => $ENV{SSH_AUTH_SOCK}) or die \"connect: $!\"; print $s \"ping\\n\"; print scalar <$s>' > /reply && echo \"sock=$SSH_AUTH_SOCK\"\n\
         RUN --mount=type=ssh,id=other,target=/agent.sock test -S /agent.sock && echo second-agent\n",
    );
    let spec = format!("default={}", sock.display());
    let other = format!("other={}", sock.display());
    let out = b.build_ok(&["--ssh", &spec, "--ssh", &other, "-t", "ssh:1"]);
    assert!(
        out.contains("sock=/run/buildkit/ssh_agent.0"),
        "SSH_AUTH_SOCK points at the mount: {out}"
    );
    assert!(out.contains("second-agent"), "{out}");
    let seen = b.sh_in(
        "ssh:1",
        "cat /reply; ls -A /run/buildkit 2>&1; test -e /agent.sock || echo no-stub",
    );
    assert!(seen.contains("agent saw ping"), "{seen}");
    assert!(seen.contains("No such file"), "{seen}");
    assert!(seen.contains("no-stub"), "{seen}");
    drop(guard);
    assert!(agent.join().unwrap() >= 1);

    // A required agent that was not given fails clearly; a key file is refused.
    b.write(
        "Dockerfile",
        "FROM busybox:latest\nRUN --mount=type=ssh,required=true true\n",
    );
    let o = b.build(&[]);
    assert!(!o.status.success(), "{}", out_text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--ssh"),
        "{}",
        out_text(&o)
    );
    let key = sockdir.path().join("id_ed25519");
    fs_err::write(&key, "not an agent").unwrap();
    let o = b.build(&["--ssh", &format!("default={}", key.display())]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not a socket"),
        "{}",
        out_text(&o)
    );
}
