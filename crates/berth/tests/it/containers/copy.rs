//! `berth cp` both ways, tar streams, and symlinks that try to leave the container.

use std::io::Write;
use std::process::Stdio;

use super::{Root, skip};

#[test]
fn cp_both_ways_and_stays_inside_the_container() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let host = r.dir.path().join("host");
    fs_err::create_dir_all(host.join("dir/sub")).unwrap();
    fs_err::write(host.join("dir/sub/f"), "hostfile\n").unwrap();
    r.ok(&["run", "-d", "--name", "cpc", "alpine:test", "sleep", "100"]);
    // Host → container: into an existing directory, and under a new name.
    r.ok(&["cp", host.join("dir").to_str().unwrap(), "cpc:/tmp/"]);
    assert_eq!(
        r.ok(&["exec", "cpc", "cat", "/tmp/dir/sub/f"]),
        "hostfile\n"
    );
    r.ok(&[
        "cp",
        host.join("dir/sub/f").to_str().unwrap(),
        "cpc:/root/renamed",
    ]);
    assert_eq!(r.ok(&["exec", "cpc", "cat", "/root/renamed"]), "hostfile\n");
    // Container → host.
    let out = host.join("release");
    r.ok(&["cp", "cpc:/etc/alpine-release", out.to_str().unwrap()]);
    assert!(fs_err::read_to_string(&out).unwrap().starts_with("3.10"));
    // A tar stream both ways.
    let o = r.run(&["cp", "cpc:/etc/hostname", "-"]);
    assert!(o.status.success());
    let mut tar = tar::Archive::new(&o.stdout[..]);
    let names: Vec<String> = tar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names, ["hostname"]);
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(6);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "streamed", &b"piped\n"[..]).unwrap();
    let data = b.into_inner().unwrap();
    let mut child = r
        .cmd(&["cp", "-", "cpc:/tmp"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(r.ok(&["exec", "cpc", "cat", "/tmp/streamed"]), "piped\n");
    // A symlink to / in the container is resolved inside the container's root: the
    // file lands in the container's /tmp, not the host's.
    r.ok(&["exec", "cpc", "ln", "-s", "/", "/tmp/rootlink"]);
    let marker = format!("berth-cp-escape-{}", std::process::id());
    let src = host.join(&marker);
    fs_err::write(&src, "x").unwrap();
    r.ok(&["cp", src.to_str().unwrap(), "cpc:/tmp/rootlink/tmp/"]);
    assert!(
        !std::path::Path::new("/tmp").join(&marker).exists(),
        "cp wrote to the host"
    );
    assert_eq!(
        r.ok(&["exec", "cpc", "cat", &format!("/tmp/{marker}")]),
        "x"
    );
    // A missing source is a clear error.
    let e = r.fails(&["cp", "cpc:/no/such", host.to_str().unwrap()], 1);
    assert!(e.contains("/no/such"), "{e}");
}

#[test]
fn cp_archive_keeps_owners_and_follow_link_copies_targets() {
    use std::os::unix::fs::MetadataExt;
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let host = r.dir.path().join("own");
    fs_err::create_dir_all(&host).unwrap();
    let f = host.join("f");
    fs_err::write(&f, "owned\n").unwrap();
    std::os::unix::fs::chown(&f, Some(1234), Some(2345)).unwrap();
    std::os::unix::fs::symlink("f", host.join("link")).unwrap();
    r.ok(&["run", "-d", "--name", "own", "alpine:test", "sleep", "100"]);
    let stat = |p: &str| r.ok(&["exec", "own", "stat", "-c", "%u:%g", p]);
    // Docker: without -a the copy belongs to the container's root, with -a it keeps
    // the source's owner.
    r.ok(&["cp", f.to_str().unwrap(), "own:/tmp/plain"]);
    assert_eq!(stat("/tmp/plain"), "0:0\n");
    r.ok(&["cp", "-a", f.to_str().unwrap(), "own:/tmp/kept"]);
    assert_eq!(stat("/tmp/kept"), "1234:2345\n");
    // Out of the container likewise: the user running berth, or the source's with -a.
    let out = r.dir.path().join("out");
    fs_err::create_dir_all(&out).unwrap();
    r.ok(&["cp", "own:/tmp/kept", out.join("plain").to_str().unwrap()]);
    assert_eq!(fs_err::metadata(out.join("plain")).unwrap().uid(), 0);
    r.ok(&[
        "cp",
        "-a",
        "own:/tmp/kept",
        out.join("kept").to_str().unwrap(),
    ]);
    let m = fs_err::metadata(out.join("kept")).unwrap();
    assert_eq!((m.uid(), m.gid()), (1234, 2345));
    // A link is copied as a link; with -L its target is copied under the link's name.
    r.ok(&["cp", host.join("link").to_str().unwrap(), "own:/tmp/"]);
    assert_eq!(r.ok(&["exec", "own", "readlink", "/tmp/link"]), "f\n");
    r.ok(&["exec", "own", "rm", "/tmp/link"]);
    r.ok(&["cp", "-L", host.join("link").to_str().unwrap(), "own:/tmp/"]);
    assert_eq!(r.ok(&["exec", "own", "cat", "/tmp/link"]), "owned\n");
    r.ok(&["exec", "own", "ln", "-s", "/etc/hostname", "/tmp/hn"]);
    r.ok(&["cp", "own:/tmp/hn", out.join("hn").to_str().unwrap()]);
    assert!(
        fs_err::symlink_metadata(out.join("hn"))
            .unwrap()
            .is_symlink()
    );
    r.ok(&["cp", "-L", "own:/tmp/hn", out.join("hn2").to_str().unwrap()]);
    assert_eq!(
        fs_err::read_to_string(out.join("hn2")).unwrap(),
        r.ok(&["exec", "own", "cat", "/etc/hostname"])
    );
}

#[test]
fn commit_then_run_the_new_image() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&[
        "run",
        "--name",
        "cm",
        "alpine:test",
        "sh",
        "-c",
        "echo committed > /hello; rm /etc/motd",
    ]);
    let id = r.ok(&[
        "commit",
        "-m",
        "add hello",
        "-c",
        "CMD [\"cat\", \"/hello\"]",
        "cm",
        "mine:v1",
    ]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    assert_eq!(r.ok(&["run", "--rm", "mine:v1"]), "committed\n");
    // The deletion is in the new layer too (a whiteout).
    r.fails(&["run", "--rm", "mine:v1", "ls", "/etc/motd"], 1);
    // The committed image outlives its container, and the original is untouched.
    r.ok(&["rm", "cm"]);
    assert_eq!(r.ok(&["run", "--rm", "mine:v1"]), "committed\n");
    r.ok(&["run", "--rm", "alpine:test", "ls", "/etc/motd"]);
}
