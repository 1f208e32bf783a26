//! The builder's core: cache, multi-stage, `.dockerignore`, a Node-style app, failing
//! `RUN`, metadata steps, `ADD`, mounts, contexts on STDIN.

use std::process::{Command, Stdio};

use super::{Bench, out_text};

#[test]
fn node_style_app_with_non_root_user_and_chown() {
    let Some(b) = Bench::new() else { return };
    b.write("package.json", "{\"name\":\"app\"}\n");
    b.write("server.sh", "echo \"serving as $(id -un) from $(pwd)\"\n");
    b.write("lib/util.sh", "true\n");
    b.write(
        "Dockerfile",
        "FROM alpine:3.20\n\
         RUN adduser -D -u 1000 node\n\
         USER node\n\
         WORKDIR /home/node/app\n\
         COPY --chown=node:node package.json ./\n\
         RUN test -f package.json && echo manifest-present\n\
         COPY --chown=node:node . .\n\
         CMD [\"sh\", \"server.sh\"]\n",
    );
    let out = b.build_ok(&["-t", "app:1"]);
    assert!(out.contains("Step 1/8 : FROM alpine:3.20"), "{out}");
    assert!(
        out.contains("manifest-present"),
        "step output is streamed: {out}"
    );
    assert!(out.contains("Successfully tagged app:1"), "{out}");
    let listing = b.sh_in(
        "app:1",
        "stat -c '%n %u:%g' /home/node /home/node/app /home/node/app/package.json /home/node/app/lib/util.sh; cd /home/node/app && sh server.sh",
    );
    for want in [
        "/home/node 1000:1000",
        "/home/node/app 1000:1000",
        "/home/node/app/package.json 1000:1000",
        "/home/node/app/lib/util.sh 1000:1000",
        "serving as node from /home/node/app",
    ] {
        assert!(listing.contains(want), "missing {want:?} in {listing}");
    }
    let o = b.berth(&["image", "inspect", "app:1"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["Config"]["User"], "node");
    assert_eq!(v[0]["Config"]["WorkingDir"], "/home/node/app");
    assert_eq!(
        v[0]["Config"]["Cmd"],
        serde_json::json!(["sh", "server.sh"])
    );
    // alpine's layer + RUN + WORKDIR + two COPYs + RUN (which wrote nothing but still
    // gets a layer, as Docker's builder does).
    assert_eq!(v[0]["RootFS"]["Layers"].as_array().unwrap().len(), 6, "{v}");
    if b.berth(&["run", "--help"]).status.success() {
        let o = b.berth(&["run", "--rm", "app:1"]);
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("serving as node from /home/node/app"),
            "{}",
            out_text(&o)
        );
    }
}

#[test]
fn multi_stage_keeps_only_the_artefact_and_skips_unneeded_stages() {
    let Some(b) = Bench::new() else { return };
    b.write("build.sh", "echo 'echo built artefact' > /src/app.sh\n");
    b.write(
        "Dockerfile",
        "FROM alpine:3.20 AS unused\n\
         RUN echo this stage must not run && exit 9\n\
         FROM alpine:3.20 AS builder\n\
         WORKDIR /src\n\
         COPY build.sh .\n\
         RUN echo scratch > /src/intermediate.o && sh build.sh\n\
         FROM busybox:latest\n\
         COPY --from=builder /src/app.sh /app/app.sh\n\
         CMD [\"sh\", \"/app/app.sh\"]\n",
    );
    let out = b.build_ok(&["-t", "multi:1"]);
    assert!(!out.contains("this stage must not run"), "{out}");
    let seen = b.sh_in(
        "multi:1",
        "sh /app/app.sh; ls /src 2>/dev/null || echo no-src; test -e /src/intermediate.o || echo no-intermediate; test -e /build.sh || echo no-script",
    );
    for want in ["built artefact", "no-src", "no-intermediate", "no-script"] {
        assert!(seen.contains(want), "missing {want:?} in {seen}");
    }
    // --target builds only the stage asked for (and what it needs).
    let out = b.build_ok(&["--target", "builder", "-t", "builder:1"]);
    assert!(
        out.contains("Step 1/4 : FROM alpine:3.20 AS builder"),
        "{out}"
    );
}

#[test]
fn cache_reuses_steps_and_rebuilds_from_the_changed_copy() {
    let Some(b) = Bench::new() else { return };
    b.write("a.txt", "first file\n");
    b.write("b.txt", "second file v1\n");
    b.write(
        "Dockerfile",
        "FROM busybox:latest\n\
         RUN echo ran-step-two && echo ran-step-two > /two\n\
         COPY a.txt /a.txt\n\
         COPY b.txt /b.txt\n\
         ENV MODE=prod\n\
         CMD [\"cat\", \"/b.txt\"]\n",
    );
    let cold = b.build_ok(&["-t", "cached:1"]);
    assert!(!cold.contains("Using cache"), "{cold}");
    assert!(cold.contains("\nran-step-two\n"), "{cold}");
    let id1 = b.build_ok(&["-q", "-t", "cached:1"]);

    let warm = b.build_ok(&["-t", "cached:1"]);
    assert_eq!(warm.matches(" ---> Using cache").count(), 5, "{warm}");
    assert!(!warm.contains("\nran-step-two\n"), "{warm}");
    // Only the mtime changes: still cached (the key holds content, not times).
    let a = b.ctx().join("a.txt");
    let f = fs_err::OpenOptions::new().write(true).open(&a).unwrap();
    f.file()
        .set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000))
        .unwrap();
    let iid = b.dir.path().join("iid");
    let touched = b.build_ok(&["-q", "-t", "cached:1", "--iidfile", iid.to_str().unwrap()]);
    assert_eq!(touched, id1, "same inputs give the same image");
    assert_eq!(fs_err::read_to_string(&iid).unwrap(), id1.trim());

    b.write("b.txt", "second file v2\n");
    let changed = b.build_ok(&["-t", "cached:1"]);
    let steps: Vec<&str> = changed.split("Step ").skip(1).collect();
    assert_eq!(steps.len(), 6, "{changed}");
    for (i, s) in steps.iter().enumerate() {
        let cached = s.contains("Using cache");
        match i {
            1 | 2 => assert!(cached, "step {} should be cached:\n{changed}", i + 1),
            3..=5 => assert!(!cached, "step {} should run:\n{changed}", i + 1),
            _ => {}
        }
    }
    let seen = b.sh_in("cached:1", "cat /a.txt /b.txt /two");
    assert!(
        seen.contains("first file")
            && seen.contains("second file v2")
            && seen.contains("ran-step-two"),
        "{seen}"
    );
}

#[test]
fn dockerignore_excludes_files() {
    let Some(b) = Bench::new() else { return };
    b.write(
        ".dockerignore",
        "# secrets stay out\n*.secret\nlogs/\n!logs/keep.log\n",
    );
    b.write("app.txt", "app\n");
    b.write("db.secret", "password\n");
    b.write("logs/debug.log", "noise\n");
    b.write("logs/keep.log", "kept\n");
    b.write("Dockerfile", "FROM busybox:latest\nCOPY . /ctx/\n");
    b.build_ok(&["-t", "ignored:1"]);
    let seen = b.sh_in("ignored:1", "cd /ctx && find . -type f | sort");
    assert!(seen.contains("./app.txt"), "{seen}");
    assert!(seen.contains("./logs/keep.log"), "{seen}");
    assert!(!seen.contains("db.secret"), "{seen}");
    assert!(!seen.contains("debug.log"), "{seen}");
    // Naming an ignored file is an error, as in Docker.
    b.write("Dockerfile", "FROM busybox:latest\nCOPY db.secret /\n");
    let o = b.build(&[]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("db.secret"),
        "{}",
        out_text(&o)
    );
}

#[test]
fn failing_run_names_command_and_code_and_tags_nothing() {
    let Some(b) = Bench::new() else { return };
    b.write("x.txt", "x\n");
    b.write(
        "Dockerfile",
        "FROM busybox:latest\nCOPY x.txt /x.txt\nRUN echo about to fail; exit 3\nCMD [\"true\"]\n",
    );
    let before = b.images();
    let o = b.build(&["-t", "broken:1"]);
    assert_eq!(o.status.code(), Some(1), "{}", out_text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("echo about to fail; exit 3"), "{err}");
    assert!(err.contains("exit code: 3"), "{err}");
    assert!(err.contains("last output lines:\nabout to fail"), "{err}");
    assert_eq!(b.images(), before);
    let ps = b.berth(&["ps", "-a", "-q"]);
    assert!(
        ps.status.success() && ps.stdout.is_empty(),
        "the step's container is gone: {}",
        out_text(&ps)
    );
    assert!(!b.berth(&["image", "inspect", "broken:1"]).status.success());
}

#[test]
fn parse_errors_name_file_line_and_column() {
    let Some(b) = Bench::new() else { return };
    b.write(
        "Dockerfile",
        "FROM busybox:latest\nRUN true\nFROBNICATE now\n",
    );
    let o = b.build(&[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Dockerfile:3:1"), "{err}");
}

#[test]
fn dockerfile_from_stdin_and_metadata_steps() {
    let Some(b) = Bench::new() else { return };
    let mut c = b.cmd(&[
        "build",
        "-f",
        "-",
        "-t",
        "meta:1",
        "--label",
        "team=core",
        "--build-arg",
        "GREETING=hey",
        "--build-arg",
        "UNUSED=1",
    ]);
    c.arg(b.ctx())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(
                b"FROM busybox:latest\nARG GREETING=hi\nENV SAY=$GREETING\nEXPOSE 8080\nVOLUME /data\nSTOPSIGNAL SIGINT\nHEALTHCHECK --interval=5s CMD true\nENTRYPOINT [\"sh\", \"-c\"]\nRUN echo \"$GREETING\" > /greeting\n",
            )
            .unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", out_text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("[Warning] One or more build-args [UNUSED] were not consumed"),
        "{}",
        out_text(&o)
    );
    let o = b.berth(&["image", "inspect", "meta:1"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let cfg = &v[0]["Config"];
    assert!(cfg["Env"].to_string().contains("SAY=hey"), "{cfg}");
    assert_eq!(cfg["Labels"]["team"], "core");
    assert!(cfg["ExposedPorts"].get("8080/tcp").is_some(), "{cfg}");
    assert!(cfg["Volumes"].get("/data").is_some(), "{cfg}");
    assert_eq!(cfg["StopSignal"], "SIGINT");
    assert_eq!(cfg["Entrypoint"], serde_json::json!(["sh", "-c"]));
    assert!(b.sh_in("meta:1", "cat /greeting").contains("hey"));
}

#[test]
fn add_extracts_archives_and_copy_handles_globs_chmod_heredocs_and_onbuild() {
    let Some(b) = Bench::new() else { return };
    // A gzip tar made with the system tar: ADD must unpack it into the destination.
    let src = b.dir.path().join("tarsrc");
    fs_err::create_dir_all(src.join("pkg")).unwrap();
    fs_err::write(src.join("pkg/readme.txt"), "from the archive\n").unwrap();
    let st = Command::new("tar")
        .arg("-czf")
        .arg(b.ctx().join("bundle.tar.gz"))
        .arg("-C")
        .arg(&src)
        .arg("pkg")
        .status()
        .unwrap();
    assert!(st.success());
    b.write("conf/a.conf", "a\n");
    b.write("conf/b.conf", "b\n");
    b.write("conf/skip.txt", "no\n");
    b.write("tool.sh", "echo tool\n");
    b.write(
        "Dockerfile",
        "FROM busybox:latest AS base\n\
         ONBUILD RUN echo triggered > /onbuild.txt\n\
         FROM base\n\
         ADD bundle.tar.gz /opt/\n\
         COPY conf/*.conf /etc/app/\n\
         COPY --exclude=*.txt conf /etc/conf-all/\n\
         COPY --chmod=755 tool.sh /usr/local/bin/tool\n\
         COPY <<EOF /etc/motd\n\
         hello from a heredoc\n\
         EOF\n",
    );
    b.build_ok(&["-t", "misc:1"]);
    let seen = b.sh_in(
        "misc:1",
        "cat /opt/pkg/readme.txt; ls /etc/app; ls /etc/conf-all | tr '\\n' ' '; echo; stat -c '%a' /usr/local/bin/tool; tool; cat /etc/motd; cat /onbuild.txt",
    );
    for want in [
        "from the archive",
        "a.conf\nb.conf\n",
        "a.conf b.conf \n",
        "755",
        "tool",
        "hello from a heredoc",
        "triggered",
    ] {
        assert!(seen.contains(want), "missing {want:?} in {seen}");
    }
    assert!(!seen.contains("skip.txt"), "{seen}");
}

#[test]
fn run_cache_mounts_persist_between_builds_and_stay_out_of_the_image() {
    let Some(b) = Bench::new() else { return };
    b.write("input.txt", "from the context\n");
    b.write(
        "Dockerfile",
        "FROM busybox:latest\n\
         RUN --mount=type=cache,target=/cache echo \"runs=$(cat /cache/n 2>/dev/null)\" && echo x >> /cache/n\n\
         RUN --mount=type=bind,target=/src cat /src/input.txt > /copied.txt\n",
    );
    let first = b.build_ok(&["--no-cache", "-t", "mounts:1"]);
    assert!(first.contains("\nruns=\n"), "{first}");
    let second = b.build_ok(&["--no-cache", "-t", "mounts:1"]);
    assert!(second.contains("\nruns=x\n"), "{second}");
    let seen = b.sh_in(
        "mounts:1",
        "ls -A /cache | wc -l; cat /copied.txt; ls /src 2>/dev/null | wc -l",
    );
    assert_eq!(
        seen.split_whitespace().collect::<Vec<_>>(),
        ["0", "from", "the", "context", "0"],
        "{seen}"
    );
}

#[test]
fn context_as_a_tar_on_stdin_and_dockerfile_alone_on_stdin() {
    let Some(b) = Bench::new() else { return };
    b.write("hello.txt", "hello from the tar context\n");
    b.write("Dockerfile", "FROM busybox:latest\nCOPY hello.txt /\n");
    let tar = Command::new("tar")
        .arg("-c")
        .arg("-C")
        .arg(b.ctx())
        .arg(".")
        .output()
        .unwrap();
    assert!(tar.status.success());
    let feed = |args: &[&str], input: &[u8]| {
        use std::io::Write as _;
        let mut c = b.cmd(args);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    };
    let o = feed(&["build", "-t", "fromtar:1", "-"], &tar.stdout);
    assert!(o.status.success(), "{}", out_text(&o));
    assert!(
        b.sh_in("fromtar:1", "cat /hello.txt")
            .contains("hello from the tar context")
    );
    let o = feed(
        &["build", "-q", "-t", "alone:1", "-"],
        b"FROM busybox:latest\nRUN echo no context needed > /note\n",
    );
    assert!(o.status.success(), "{}", out_text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .starts_with("sha256:")
    );
    assert!(
        b.sh_in("alone:1", "cat /note")
            .contains("no context needed")
    );
}

#[test]
fn add_downloads_a_url() {
    use std::io::{Read as _, Write as _};
    let Some(b) = Bench::new() else { return };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Serves one request; gives up after 30 s so a failed build cannot hang the test.
    listener.set_nonblocking(true).unwrap();
    let server = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            let Ok((mut s, _)) = listener.accept() else {
                std::thread::sleep(std::time::Duration::from_millis(20));
                continue;
            };
            s.set_nonblocking(false).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = "downloaded content\n";
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            return;
        }
    });
    b.write(
        "Dockerfile",
        &format!("FROM busybox:latest\nADD http://127.0.0.1:{port}/files/note.txt /dl/\n"),
    );
    let o = b.build(&["-t", "url:1"]);
    server.join().unwrap();
    assert!(o.status.success(), "{}", out_text(&o));
    assert!(
        b.sh_in("url:1", "cat /dl/note.txt")
            .contains("downloaded content")
    );
}
