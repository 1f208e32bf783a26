//! `ps` filters that are checked on the records (before, since, health with -n) and the
//! Mounts column.

use super::{Root, skip};

fn names(r: &Root, args: &[&str]) -> Vec<String> {
    let mut a = vec!["ps", "-a", "--format", "{{.Names}}"];
    a.extend_from_slice(args);
    r.ok(&a).lines().map(str::to_owned).collect()
}

#[test]
fn before_since_and_mounts_follow_docker() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    for n in ["first", "second", "third"] {
        r.ok(&["create", "--name", n, "alpine:test", "true"]);
    }
    assert_eq!(
        names(&r, &["--filter", "before=third"]),
        ["second", "first"]
    );
    assert_eq!(names(&r, &["--filter", "since=first"]), ["third", "second"]);
    assert_eq!(
        names(&r, &["--filter", "since=first", "--filter", "before=third"]),
        ["second"]
    );
    // -n counts what passes the filters.
    assert_eq!(
        names(&r, &["--filter", "before=third", "-n", "1"]),
        ["second"]
    );
    let e = r.fails(&["ps", "--filter", "before=nosuch"], 1);
    assert!(e.contains("nosuch"), "{e}");

    r.ok(&[
        "create",
        "--name",
        "mounted",
        "-v",
        "a-rather-long-volume-name:/data",
        "-v",
        "/tmp:/host",
        "alpine:test",
        "true",
    ]);
    let m = r.ok(&[
        "ps",
        "-a",
        "--filter",
        "name=mounted",
        "--format",
        "{{.Mounts}}",
    ]);
    assert_eq!(m, "a-rather-long-…,/tmp\n");
    let m = r.ok(&[
        "ps",
        "-a",
        "--no-trunc",
        "--filter",
        "name=mounted",
        "--format",
        "{{.Mounts}}",
    ]);
    assert_eq!(m, "a-rather-long-volume-name,/tmp\n");
}
