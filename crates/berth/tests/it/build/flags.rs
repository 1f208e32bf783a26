//! Build flags and instruction forms beyond the basics: `ADD --checksum`, `RUN`
//! here-documents, platforms, `--network`, `--pull`, `--progress`.

use std::io::{Read as _, Write as _};
use std::process::Stdio;

use super::{Bench, out_text};
use crate::common::registry::{Registry, available};

/// Serves `body` over HTTP on a loopback port until dropped (one request at a time).
struct Server {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(body: &'static str) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((mut s, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    continue;
                };
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                    .unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Server {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn add_checksum_accepts_the_right_download_and_refuses_another() {
    let Some(b) = Bench::new() else { return };
    let body = "pinned download\n";
    let server = Server::start(body);
    let sum = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body.as_bytes()));
    let url = format!("http://127.0.0.1:{}/pkg/tool.txt", server.port);
    b.write(
        "Dockerfile",
        &format!("FROM busybox:latest\nADD --checksum=sha256:{sum} {url} /opt/\n"),
    );
    b.build_ok(&["-t", "sum:1"]);
    assert!(
        b.sh_in("sum:1", "cat /opt/tool.txt")
            .contains("pinned download")
    );
    let wrong = "0".repeat(64);
    b.write(
        "Dockerfile",
        &format!("FROM busybox:latest\nADD --checksum=sha256:{wrong} {url} /opt/\n"),
    );
    let o = b.build(&["-t", "sum:2"]);
    assert!(!o.status.success(), "{}", out_text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("checksum mismatch") && err.contains(&sum),
        "{err}"
    );
    assert!(!b.berth(&["image", "inspect", "sum:2"]).status.success());
    // --checksum on a local source is refused.
    b.write("local.txt", "x\n");
    b.write(
        "Dockerfile",
        &format!("FROM busybox:latest\nADD --checksum=sha256:{sum} local.txt /\n"),
    );
    let o = b.build(&[]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("URL sources only"),
        "{}",
        out_text(&o)
    );
}

#[test]
fn run_heredocs_platform_args_and_network_none() {
    let Some(b) = Bench::new() else { return };
    b.write(
        "Dockerfile",
        "FROM --platform=$BUILDPLATFORM busybox:latest\n\
         ARG TARGETARCH\n\
         RUN <<EOF\n\
         echo one > /h1\n\
         echo two >> /h1\n\
         EOF\n\
         RUN <<EOF\n\
         #!/bin/sh\n\
         echo \"script for $TARGETARCH\" > /h2\n\
         EOF\n\
         RUN cat <<A > /h3 && cat <<B >> /h3\n\
         first\n\
         A\n\
         second\n\
         B\n\
         RUN --network=none ls /sys/class/net > /nets\n",
    );
    b.build_ok(&["--progress", "plain", "-t", "forms:1"]);
    let seen = b.sh_in("forms:1", "cat /h1 /h2 /h3 /nets; ls -A /tmp | wc -l");
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    assert_eq!(
        seen.lines().collect::<Vec<_>>(),
        [
            "one",
            "two",
            &format!("script for {arch}"),
            "first",
            "second",
            "lo",
            "0"
        ],
        "{seen}"
    );
    // The flag does the same for every RUN.
    b.write("Dockerfile", "FROM busybox:latest\nRUN ls /sys/class/net\n");
    let out = b.build_ok(&["--network", "none"]);
    assert!(out.contains("\nlo\n"), "{out}");

    // Other platforms are refused, whichever way they are asked for.
    let o = b.build(&["--platform", "linux/s390x"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("linux/s390x") && err.contains("hint:"),
        "{err}"
    );
    b.write(
        "Dockerfile",
        "FROM --platform=linux/s390x busybox:latest\nRUN true\n",
    );
    let o = b.build(&[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("linux/s390x") && err.contains("hint:"),
        "{err}"
    );
}

#[test]
fn pull_fetches_the_base_even_when_present() {
    if !available() {
        return;
    }
    let Some(b) = Bench::new() else { return };
    let reg = Registry::start(&[]);
    let remote = format!("{}/t/base:1", reg.host());
    // The registry holds busybox; the local tag of the same name is alpine.
    for args in [
        vec!["tag", "busybox:latest", remote.as_str()],
        vec!["push", remote.as_str()],
        vec!["tag", "alpine:3.20", remote.as_str()],
    ] {
        let o = b.berth(&args);
        assert!(o.status.success(), "{}", out_text(&o));
    }
    b.write(
        "Dockerfile",
        &format!(
            "FROM {remote}\nRUN test -e /etc/alpine-release && echo base-is-alpine || echo base-is-busybox\n"
        ),
    );
    let out = b.build_ok(&["--no-cache"]);
    assert!(out.contains("\nbase-is-alpine\n"), "{out}");
    let out = b.build_ok(&["--no-cache", "--pull"]);
    assert!(out.contains("\nbase-is-busybox\n"), "{out}");
    // -q prints only the id; --iidfile gets the same.
    let iid = b.dir.path().join("iid");
    let mut c = b.cmd(&["build", "-q", "--iidfile", iid.to_str().unwrap()]);
    c.arg(b.ctx()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", out_text(&o));
    let id = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert!(id.starts_with("sha256:") && !id.contains('\n'), "{id}");
    assert_eq!(fs_err::read_to_string(&iid).unwrap(), id);
}
