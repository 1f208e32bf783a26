//! Independent stages are built at the same time, with readable, prefixed output.

use super::{Bench, out_text};

/// One stage's `RUN`: announce itself in a cache directory both stages mount, wait (up
/// to 90 s) for the other stage's announcement, record whether it came and when the
/// step started and ended. Built one after the other, the first stage could never see
/// the second (it would wait in vain and write `alone`), so `saw-…` in both proves the
/// two steps ran at the same time, whatever the machine's speed.
fn stage(me: &str, other: &str) -> String {
    format!(
        "FROM busybox:latest AS {me}\n\
         RUN --mount=type=cache,id=rendezvous,target=/sync \
         cat /proc/uptime > /start; touch /sync/{me}; i=0; \
         while [ ! -e /sync/{other} ] && [ $i -lt 90 ]; do sleep 1; i=$((i+1)); done; \
         if [ -e /sync/{other} ]; then echo saw-{other} > /seen; else echo alone > /seen; fi; \
         cat /proc/uptime > /end; echo {me}-done\n"
    )
}

fn uptime(text: &str) -> f64 {
    text.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn independent_stages_run_concurrently_with_prefixed_output() {
    let Some(b) = Bench::new() else { return };
    b.write(
        "Dockerfile",
        &format!(
            "{}{}FROM busybox:latest\n\
             COPY --from=left /seen /left.seen\n\
             COPY --from=left /start /left.start\n\
             COPY --from=left /end /left.end\n\
             COPY --from=right /seen /right.seen\n\
             COPY --from=right /start /right.start\n\
             COPY --from=right /end /right.end\n",
            stage("left", "right"),
            stage("right", "left")
        ),
    );
    let out = b.build_ok(&["-t", "par:1"]);
    // Each stage's lines carry its name; step numbers are fixed by stage order.
    for want in [
        "[left] Step 1/11 : FROM busybox:latest AS left",
        "[left] left-done",
        "[right] Step 3/11 : FROM busybox:latest AS right",
        "[right] right-done",
        "\nStep 5/11 : FROM busybox:latest\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    let seen = b.sh_in(
        "par:1",
        "cat /left.seen /right.seen /left.start /left.end /right.start /right.end",
    );
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(lines[..2], ["saw-right", "saw-left"], "{seen}");
    let (ls, le, rs, re) = (
        uptime(lines[2]),
        uptime(lines[3]),
        uptime(lines[4]),
        uptime(lines[5]),
    );
    assert!(ls <= re && rs <= le, "the steps overlap in time: {seen}");

    // Results of stages built by child processes are cached like any other.
    let again = b.build_ok(&["-t", "par:1"]);
    assert_eq!(again.matches("Using cache").count(), 8, "{again}");
    assert!(
        !again.contains("] left-done") && !again.contains("] right-done"),
        "{again}"
    );
}

#[test]
fn a_failing_parallel_stage_fails_the_build_and_tags_nothing() {
    let Some(b) = Bench::new() else { return };
    b.write(
        "Dockerfile",
        "FROM busybox:latest AS good\n\
         RUN echo fine > /f\n\
         FROM busybox:latest AS bad\n\
         RUN echo breaking; exit 4\n\
         FROM busybox:latest\n\
         COPY --from=good /f /f\n\
         COPY --from=bad /etc/passwd /p\n",
    );
    let o = b.build(&["-t", "parfail:1"]);
    assert_eq!(o.status.code(), Some(1), "{}", out_text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("exit code: 4"), "{}", out_text(&o));
    assert!(err.contains("breaking"), "{}", out_text(&o));
    assert!(!b.berth(&["image", "inspect", "parfail:1"]).status.success());
    let ps = b.berth(&["ps", "-a", "-q"]);
    assert!(ps.stdout.is_empty(), "{}", out_text(&ps));
}
