//! `container prune` with Docker's filters and reclaimed-space report.

use super::{Root, skip};

fn names(r: &Root) -> Vec<String> {
    let mut v: Vec<String> = r
        .ok(&["ps", "-a", "--format", "{{.Names}}"])
        .lines()
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

#[test]
fn prune_removes_stopped_containers_that_match() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&[
        "run",
        "-l",
        "keep=yes",
        "--name",
        "kept",
        "alpine:test",
        "true",
    ]);
    r.ok(&[
        "run",
        "-l",
        "tier=web",
        "--name",
        "big",
        "alpine:test",
        "sh",
        "-c",
        "head -c 50000 /dev/zero > /f",
    ]);
    r.ok(&["create", "--name", "fresh", "alpine:test", "true"]);
    r.ok(&["run", "-d", "--name", "up", "alpine:test", "sleep", "300"]);
    // Nothing was created before an hour ago.
    let out = r.ok(&["container", "prune", "-f", "--filter", "until=1h"]);
    assert_eq!(out, "Total reclaimed space: 0B\n");
    let out = r.ok(&["container", "prune", "-f", "--filter", "label=tier=web"]);
    assert!(out.starts_with("Deleted Containers:\n"), "{out}");
    assert!(out.ends_with("Total reclaimed space: 50kB\n"), "{out}");
    assert_eq!(names(&r), ["fresh", "kept", "up"]);
    r.ok(&["container", "prune", "-f", "--filter", "label!=keep"]);
    // The running one and the labelled one stay.
    assert_eq!(names(&r), ["kept", "up"]);
    let e = r.fails(&["container", "prune", "-f", "--filter", "color=red"], 1);
    assert!(e.contains("invalid filter"), "{e}");
}
