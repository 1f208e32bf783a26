//! Bad input: a clear error, Docker's status, and nothing changed.

use super::{Root, skip};

#[test]
fn bad_input_is_refused_cleanly() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let e = r.fails(&["run", "--bogus", "alpine:test"], 125);
    assert!(e.contains("--bogus"), "{e}");
    let e = r.fails(&["run", "-m", "12q", "alpine:test", "true"], 125);
    assert!(e.contains("12q") && e.contains("hint:"), "{e}");
    let e = r.fails(&["run", "--pull", "never", "no-such-image", "true"], 125);
    assert!(e.contains("no such image: no-such-image"), "{e}");
    let e = r.fails(
        &["run", "--restart", "sometimes", "alpine:test", "true"],
        125,
    );
    assert!(e.contains("--restart"), "{e}");
    assert!(r.all_ids().is_empty(), "failed runs leave no container");
    r.ok(&["create", "--name", "taken", "alpine:test", "true"]);
    let e = r.fails(&["run", "--name", "taken", "alpine:test", "true"], 125);
    assert!(e.contains("taken"), "{e}");
    assert_eq!(r.all_ids().len(), 1);
    r.ok(&["volume", "create", "busy"]);
    r.ok(&[
        "run",
        "-d",
        "--name",
        "user",
        "-v",
        "busy:/b",
        "alpine:test",
        "sleep",
        "100",
    ]);
    let e = r.fails(&["rm", "user"], 1);
    assert!(e.contains("hint:"), "{e}");
    let e = r.fails(&["volume", "rm", "-f", "busy"], 1);
    assert!(e.contains("in use"), "{e}");
    assert_eq!(r.ok(&["volume", "ls", "-q"]).trim(), "busy");
    assert_eq!(r.inspect("user", "{{.State.Running}}"), "true");
    let e = r.fails(&["stop", "nonexistent"], 1);
    assert!(e.contains("nonexistent"), "{e}");
}
