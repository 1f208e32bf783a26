//! `system df`, `system prune`, `builder prune`, `info` and `version`: figures that
//! match what is really on disk, and clean-up that takes exactly what Docker's would.

use super::{Root, skip};

/// `system df --format json` as (type → row).
fn df(r: &Root) -> std::collections::HashMap<String, serde_json::Value> {
    r.ok(&["system", "df", "--format", "json"])
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["Type"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

#[test]
fn df_counts_what_is_on_disk_and_prune_takes_only_unused_things() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&[
        "run", "-d", "--name", "keeper", "-v", "named:/data", "-v", "/anon", "alpine:test", "sh", "-c",
        "dd if=/dev/zero of=/data/f bs=1000 count=300 2>/dev/null; dd if=/dev/zero of=/anon/f bs=1000 count=20 2>/dev/null; sleep 300",
    ]);
    r.ok(&[
        "run",
        "--name",
        "writer",
        "-v",
        "/scratch",
        "alpine:test",
        "sh",
        "-c",
        "dd if=/dev/zero of=/big bs=1000 count=100 2>/dev/null",
    ]);
    r.wait_for(10, "the volume writes", || {
        r.ok(&["exec", "keeper", "ls", "/anon"]).contains('f')
    });
    r.ok(&["network", "create", "unused-net"]);

    let d = df(&r);
    assert_eq!(d["Images"]["TotalCount"], 1);
    assert_eq!(d["Images"]["Active"], 1);
    assert_eq!(d["Containers"]["TotalCount"], 2);
    assert_eq!(d["Containers"]["Active"], 1);
    // Only the stopped writer's 100 kB file is reclaimable.
    assert_eq!(d["Containers"]["Size"], "100kB", "{:?}", d["Containers"]);
    assert_eq!(d["Containers"]["Reclaimable"], "100kB (100%)");
    assert_eq!(d["Local Volumes"]["TotalCount"], 3);
    // As in Docker, a stopped container's volume is in use too.
    assert_eq!(d["Local Volumes"]["Active"], 3);
    assert_eq!(d["Local Volumes"]["Reclaimable"], "0B (0%)");
    assert_eq!(d["Local Volumes"]["Size"], "320kB");
    let table = r.ok(&["system", "df"]);
    assert!(table.starts_with("TYPE"), "{table}");
    assert!(
        r.ok(&["system", "df", "-v"]).contains("named"),
        "verbose lists volumes"
    );

    let out = r.ok(&["system", "prune", "-f", "--volumes"]);
    assert!(out.contains("Deleted Containers:"), "{out}");
    assert!(out.contains("Deleted Networks:\nunused-net"), "{out}");
    assert!(out.contains("Deleted Volumes:"), "{out}");
    assert!(out.contains("Total reclaimed space: "), "{out}");
    let names = r.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(names.trim(), "keeper", "only the running container stays");
    // The running container's volumes and its image stay; the writer's anonymous
    // volume went.
    let vols = r.ok(&["volume", "ls", "-q"]);
    assert_eq!(vols.lines().count(), 2, "{vols}");
    assert!(vols.contains("named"));
    assert_eq!(r.ok(&["images", "-q"]).lines().count(), 1);
    assert!(
        !r.ok(&["network", "ls", "--format", "{{.Name}}"])
            .contains("unused-net")
    );

    // info counts the same things.
    let info = r.ok(&[
        "info",
        "--format",
        "{{.Containers}} {{.ContainersRunning}} {{.ContainersStopped}} {{.Images}}",
    ]);
    assert_eq!(info.trim(), "1 1 0 1");
    let doc: serde_json::Value =
        serde_json::from_str(&r.ok(&["system", "info", "--format", "json"])).unwrap();
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    assert_eq!(doc["CgroupVersion"], if v2 { "2" } else { "1" });
    assert!(doc["NCPU"].as_u64().unwrap() >= 1);
    assert_eq!(doc["DockerRootDir"], r.dir.path().to_str().unwrap());

    // -a: an image no container uses goes too.
    r.ok(&["rm", "-f", "keeper"]);
    let out = r.ok(&["system", "prune", "-af"]);
    assert!(
        !out.contains("Deleted Volumes:"),
        "no volumes without --volumes: {out}"
    );
    assert_eq!(r.ok(&["volume", "ls", "-q"]).lines().count(), 2);
    r.ok(&["system", "prune", "-f", "--volumes"]);
    assert!(out.contains("untagged: alpine:test"), "{out}");
    assert!(r.ok(&["images", "-q"]).trim().is_empty());
    assert_eq!(
        r.ok(&["volume", "ls", "-q"]).trim(),
        "named",
        "named volumes are never pruned by --volumes"
    );
}

#[test]
fn builder_prune_empties_the_build_cache() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let ctx = tempfile::tempdir().unwrap();
    fs_err::write(
        ctx.path().join("Dockerfile"),
        "FROM alpine:test AS tools\nRUN echo tool > /tool\nRUN echo more > /more\nFROM alpine:test\nRUN echo app > /app\nCOPY --from=tools /tool /tool\n",
    )
    .unwrap();
    let ctx_path = ctx.path().to_str().unwrap();
    r.ok(&["build", "-t", "app:1", ctx_path]);
    let d = df(&r);
    let entries = d["Build Cache"]["TotalCount"].as_u64().unwrap();
    assert!(entries >= 4, "{:?}", d["Build Cache"]);
    // The `tools` stage's layer is in no image: it is the cache's own.
    assert_ne!(d["Build Cache"]["Size"], "0B");
    assert!(
        r.ok(&["build", "-t", "app:1", ctx_path])
            .contains("Using cache")
    );

    // Dangling only: the stage layer goes, the final image's steps stay cached.
    let out = r.ok(&["builder", "prune", "-f"]);
    assert!(out.contains("Deleted build cache objects:"), "{out}");
    let warm = r.ok(&["build", "-t", "app:1", ctx_path]);
    assert!(warm.contains("Using cache"), "{warm}");
    assert_eq!(r.ok(&["run", "--rm", "app:1", "cat", "/app"]).trim(), "app");

    r.ok(&["builder", "prune", "-af"]);
    assert_eq!(df(&r)["Build Cache"]["TotalCount"], 0);
    let cold = r.ok(&["build", "-t", "app:1", ctx_path]);
    assert!(!cold.contains("Using cache"), "{cold}");
}

#[test]
fn version_answers_docker_templates() {
    let r = Root {
        dir: tempfile::tempdir().unwrap(),
    };
    let v = r.ok(&[
        "version",
        "--format",
        "{{.Client.Version}} {{.Server.Version}}",
    ]);
    assert_eq!(v.trim(), format!("{0} {0}", env!("CARGO_PKG_VERSION")));
    assert!(r.ok(&["version"]).starts_with("Client:"));
}

#[test]
fn inspect_finds_images_networks_and_volumes_in_dockers_order() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&["network", "create", "insp-net"]);
    r.ok(&["volume", "create", "insp-vol"]);
    r.ok(&["create", "--name", "insp-ctr", "alpine:test", "true"]);
    assert_eq!(
        r.ok(&["inspect", "-f", "{{.Os}}", "alpine:test"]).trim(),
        "linux"
    );
    assert_eq!(
        r.ok(&["inspect", "-f", "{{.Driver}}", "insp-net"]).trim(),
        "bridge"
    );
    assert!(
        r.ok(&["inspect", "-f", "{{.Mountpoint}}", "insp-vol"])
            .contains("insp-vol")
    );
    // Several kinds at once, one document each.
    let all: serde_json::Value = serde_json::from_str(&r.ok(&[
        "inspect",
        "insp-ctr",
        "alpine:test",
        "insp-net",
        "insp-vol",
    ]))
    .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 4);
    // --type narrows the search.
    let e = r.fails(&["inspect", "--type", "network", "insp-vol"], 1);
    assert!(e.contains("no such object: insp-vol"), "{e}");
    let e = r.fails(&["inspect", "--type", "bogus", "insp-vol"], 1);
    assert!(e.contains("--type"), "{e}");
    // A missing name: the others are still printed, and the exit code is 1.
    let out = r.run(&["inspect", "-f", "{{.Name}}", "insp-net", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "insp-net");
    r.ok(&["network", "rm", "insp-net"]);
}

/// Removes, through `--runroot`, what a test started there, even when it fails half way
/// (the root's own Drop looks for live state in the default place).
struct RunrootGuard<'a> {
    root: &'a Root,
    runroot: std::path::PathBuf,
}

impl RunrootGuard<'_> {
    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = self.root.cmd(&[]);
        c.arg("--runroot").arg(&self.runroot).args(args);
        c
    }
}

impl Drop for RunrootGuard<'_> {
    fn drop(&mut self) {
        let _ = self.cmd(&["rm", "-f", "-v", "live"]).output();
    }
}

#[test]
fn runroot_keeps_the_live_state_apart_from_the_data() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let g = RunrootGuard {
        root: &r,
        runroot: r.dir.path().join("elsewhere"),
    };
    let ok = |c: &mut std::process::Command| {
        let o = c.output().unwrap();
        assert!(
            o.status.success(),
            "{c:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap().trim().to_owned()
    };
    let id = ok(&mut g.cmd(&["run", "-d", "--name", "live", "alpine:test", "sleep", "600"]));
    // The runtime state is under --runroot, none of it in the default place.
    assert!(g.runroot.join("oci").join(&id).join("state.json").is_file());
    assert!(!r.dir.path().join("run/oci").join(&id).exists());
    // The monitor was told where the state is.
    let cmdlines: Vec<String> = fs_err::read_dir("/proc")
        .unwrap()
        .filter_map(|e| fs_err::read(e.ok()?.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains("__monitor") && c.contains(&id))
        .collect();
    assert_eq!(cmdlines.len(), 1, "{cmdlines:?}");
    assert!(
        cmdlines[0].contains(g.runroot.to_str().unwrap()),
        "{cmdlines:?}"
    );
    // The same variable as the flag; exec finds the running container there.
    let mut exec = r.cmd(&["exec", "live", "cat", "/proc/1/comm"]);
    exec.env("BERTH_RUNROOT", &g.runroot);
    assert_eq!(ok(&mut exec), "sleep");
    assert_eq!(
        ok(&mut g.cmd(&["inspect", "-f", "{{.State.Status}}", "live"])),
        "running"
    );
    ok(&mut g.cmd(&["rm", "-f", "live"]));
    assert!(!g.runroot.join("oci").join(&id).exists());
    assert_eq!(ok(&mut g.cmd(&["ps", "-a", "-q"])), "");
}
