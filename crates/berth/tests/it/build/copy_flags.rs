//! `COPY --parents`, `--exclude` and `--link`.

use super::{Bench, out_text};

/// The image's layer diff ids.
fn layers(b: &Bench, image: &str) -> Vec<String> {
    let o = b.berth(&["image", "inspect", image]);
    assert!(o.status.success(), "{}", out_text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v[0]["RootFS"]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn copy_parents_keeps_source_paths_and_exclude_filters() {
    let Some(b) = Bench::new() else { return };
    b.write("x/a.txt", "a\n");
    b.write("y/sub/b.txt", "b\n");
    b.write("y/sub/skip.log", "no\n");
    b.write("src/pkg/c.txt", "c\n");
    b.write("m1/package.json", "1\n");
    b.write("m2/package.json", "2\n");
    b.write(
        "Dockerfile",
        "FROM busybox:latest\n\
         COPY --parents x/a.txt y/sub /out/\n\
         COPY --parents ./src/./pkg/c.txt /piv/\n\
         COPY --parents */package.json /g\n\
         COPY --exclude=**/*.log y /nolog/\n",
    );
    b.build_ok(&["-t", "parents:1"]);
    let seen = b.sh_in(
        "parents:1",
        "cd / && find /out /piv /g /nolog -type f | sort",
    );
    assert_eq!(
        seen.lines().collect::<Vec<_>>(),
        [
            "/g/m1/package.json",
            "/g/m2/package.json",
            "/nolog/sub/b.txt",
            "/out/x/a.txt",
            "/out/y/sub/b.txt",
            "/out/y/sub/skip.log",
            "/piv/pkg/c.txt",
        ],
        "{seen}"
    );
}

#[test]
fn copy_link_layers_survive_a_change_below_them() {
    let Some(b) = Bench::new() else { return };
    b.write("app/main.sh", "echo linked app\n");
    b.write("app/lib/util.sh", "true\n");
    b.write(
        "Dockerfile",
        "FROM busybox:latest\n\
         ARG V=1\n\
         RUN echo \"base $V\" > /v\n\
         COPY --link app/ /srv/app/\n\
         COPY app/main.sh /plain.sh\n",
    );
    b.build_ok(&["-t", "link:1"]);
    let first = layers(&b, "link:1");
    // Change the step below the linked COPY: the RUN runs again, the plain COPY is
    // made again, the linked layer is reused as it is.
    let out = b.build_ok(&["--build-arg", "V=2", "-t", "link:2"]);
    assert!(out.contains("Using cache (linked layer)"), "{out}");
    let second = layers(&b, "link:2");
    assert_eq!(first.len(), second.len());
    let n = first.len();
    assert_ne!(first[n - 3], second[n - 3], "the RUN layer changed");
    assert_eq!(first[n - 2], second[n - 2], "the linked layer is the same");
    let seen = b.sh_in("link:2", "cat /v; sh /srv/app/main.sh; ls /srv/app/lib");
    assert_eq!(
        seen.lines().collect::<Vec<_>>(),
        ["base 2", "linked app", "util.sh"],
        "{seen}"
    );
    // A changed source makes a new linked layer.
    b.write("app/main.sh", "echo changed\n");
    let out = b.build_ok(&["--build-arg", "V=2", "-t", "link:3"]);
    assert!(!out.contains("linked layer"), "{out}");
    assert!(b.sh_in("link:3", "sh /srv/app/main.sh").contains("changed"));
}
