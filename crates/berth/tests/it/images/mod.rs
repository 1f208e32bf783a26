//! Image commands against a real registry (Debian's docker-registry) and real images,
//! with skopeo as the peer client.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::registry::{
    Berth, Registry, available, busybox_layout, busybox_static_tarball, shared_images, skopeo,
};
use crate::common::skip_unless_root;

mod credhelpers;
mod faults;
mod peers;
mod push_gzip;

#[allow(clippy::unwrap_used)] // a helper of tests: panicking is failing
fn layers_of(skopeo_inspect: &[u8]) -> Vec<String> {
    let v: Value = serde_json::from_slice(skopeo_inspect).unwrap();
    v["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect()
}

/// Pushes the musl busybox layout to `repo` on the registry with skopeo.
fn skopeo_push_busybox(reg: &Registry, repo: &str) -> Option<tempfile::TempDir> {
    let layout = busybox_layout("musl")?;
    let src = format!("oci:{}", layout.path().display());
    let dst = format!("docker://{}/{repo}", reg.host());
    skopeo(&["copy", "--dest-tls-verify=false", &src, &dst]);
    Some(layout)
}

#[test]
fn load_docker_and_oci_archives_with_their_tags() {
    let Some(images) = shared_images() else {
        return;
    };
    let b = Berth::new();
    let dir = images.join("podman-e2e-archives");
    let out = b.ok(&[
        "load",
        "-i",
        dir.join("docker-two-images.tar.xz").to_str().unwrap(),
    ]);
    assert_eq!(
        out,
        "Loaded image: example.com/empty:latest\nLoaded image: example.com/empty/but:different\n"
    );
    let out = b.ok(&[
        "load",
        "-i",
        dir.join("oci-name-only.tar.gz").to_str().unwrap(),
    ]);
    assert_eq!(out, "Loaded image: pretty-empty:latest\n");
    // stdin works too, and -q is quiet.
    let f = fs_err::File::open(dir.join("docker-unnamed.tar.xz")).unwrap();
    let out = b
        .cmd(&["load", "-q"])
        .stdin(f.into_parts().0)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let names = b.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    let mut names: Vec<&str> = names.lines().collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "example.com/empty/but:different",
            "example.com/empty:latest",
            "pretty-empty:latest"
        ]
    );
    // docker-unnamed holds the same image as docker-name-only: no new, untagged row.
    let dangling = b.ok(&["images", "-q", "--filter", "dangling=true"]);
    assert_eq!(dangling, "");
    let refs = b.ok(&[
        "images",
        "--format",
        "{{.Repository}}",
        "--filter",
        "reference=example.com/*",
    ]);
    assert_eq!(refs, "example.com/empty\n");
    let err = b.fails(&["load", "-i", "/nonexistent.tar"]);
    assert!(err.contains("/nonexistent.tar"), "{err}");
}

#[test]
fn import_alpine_with_changes() {
    let Some(images) = shared_images() else {
        return;
    };
    let b = Berth::new();
    let tarball = images.join("alpine-3.20.3/alpine-minirootfs-3.20.3-x86_64.tar.gz");
    let id = b.ok(&[
        "import",
        "-c",
        r#"CMD ["/bin/sh"]"#,
        "-c",
        "ENV GREETING=hello",
        "-c",
        "EXPOSE 8080",
        "-c",
        "WORKDIR /srv",
        "-m",
        "from the minirootfs",
        tarball.to_str().unwrap(),
        "alpine:imported",
    ]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    let v = b.inspect("alpine:imported");
    assert_eq!(v["Id"], id.trim());
    assert_eq!(v["RepoTags"], serde_json::json!(["alpine:imported"]));
    assert_eq!(v["Config"]["Cmd"], serde_json::json!(["/bin/sh"]));
    assert_eq!(v["Config"]["Env"], serde_json::json!(["GREETING=hello"]));
    assert_eq!(v["Config"]["WorkingDir"], "/srv");
    assert!(v["Config"]["ExposedPorts"]["8080/tcp"].is_object(), "{v}");
    assert_eq!(v["Comment"], "from the minirootfs");
    assert_eq!(v["Os"], "linux");
    assert_eq!(v["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    // The layer really landed in its snapshot.
    let dirs = b.layer_dirs("alpine:imported");
    assert_eq!(
        fs_err::read_to_string(dirs[0].join("etc/alpine-release")).unwrap(),
        "3.20.3\n"
    );
    // --format with a Go template.
    let f = b.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Config.WorkingDir}} {{json .Config.Cmd}}",
        "alpine:imported",
    ]);
    assert_eq!(f, "/srv [\"/bin/sh\"]\n");
    let hist = b.ok(&[
        "history",
        "--format",
        "{{.ID}} {{.CreatedBy}} {{.Comment}}",
        "alpine:imported",
    ]);
    assert!(
        hist.starts_with(&format!(
            "{} berth import from the minirootfs",
            &id.trim()[7..19]
        )),
        "{hist}"
    );

    let err = b.fails(&["import", "-c", "RUN rm -rf /", tarball.to_str().unwrap()]);
    assert!(err.contains("invalid --change \"RUN rm -rf /\""), "{err}");
    let err = b.fails(&["import", tarball.to_str().unwrap(), "Bad:Name:x"]);
    assert!(err.contains("invalid reference format"), "{err}");
}

#[test]
fn push_then_skopeo_sees_the_same_layers() {
    if !available() {
        return;
    }
    let reg = Registry::start(&[]);
    let Some(layout) = busybox_layout("glibc") else {
        return;
    };
    let b = Berth::new();
    let out = b.ok(&["load", "-i", layout.path().to_str().unwrap()]);
    assert!(out.contains("Loaded image: busybox:1.38.0-glibc"), "{out}");
    let target = format!("{}/test/busybox:v1", reg.host());
    b.ok(&["tag", "busybox:1.38.0-glibc", &target]);
    let out = b.ok(&["push", &target]);
    assert!(
        out.starts_with(&format!(
            "The push refers to repository [{}/test/busybox]",
            reg.host()
        )),
        "{out}"
    );
    assert!(out.contains(": Pushed"), "{out}");
    let last = out.lines().last().unwrap();
    assert!(
        last.starts_with("v1: digest: sha256:") && last.contains(" size: "),
        "{out}"
    );
    let ours = b.inspect(&target);
    let theirs = skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{target}"),
    ]);
    let manifest = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{target}"),
    ]);
    let m: Value = serde_json::from_slice(&manifest.stdout).unwrap();
    assert_eq!(m["config"]["digest"], ours["Id"]);
    let blob_layers = layers_of(&theirs.stdout);
    let src_manifest: Value = serde_json::from_slice(
        &fs_err::read(
            shared_images()
                .unwrap()
                .join("busybox-1.38.0/glibc/image-manifest.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        blob_layers,
        [src_manifest["layers"][0]["digest"].as_str().unwrap()]
    );
    let digest = last.split_whitespace().nth(2).unwrap();
    assert!(
        ours["RepoDigests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d.as_str().unwrap().ends_with(digest)),
        "{ours}"
    );

    // A second push finds everything there; a push to another repository mounts the blob.
    let out = b.ok(&["push", &target]);
    assert!(out.contains("Layer already exists"), "{out}");
    let other = format!("{}/other/busybox:v1", reg.host());
    b.ok(&["tag", &target, &other]);
    let out = b.ok(&["push", &other]);
    assert!(out.contains("Mounted from test/busybox"), "{out}");
    // This registry lists its catalog, so search finds both repositories.
    let out = b.ok(&["search", &format!("{}/busybox", reg.host())]);
    assert_eq!(
        out,
        format!(
            "NAME\n{h}/other/busybox\n{h}/test/busybox\n",
            h = reg.host()
        )
    );
}

#[test]
fn pull_what_skopeo_pushed_and_save_it() {
    if !available() {
        return;
    }
    let reg = Registry::start(&[]);
    let Some(_layout) = skopeo_push_busybox(&reg, "lib/busybox:musl") else {
        return;
    };
    let b = Berth::new();
    let name = format!("{}/lib/busybox:musl", reg.host());
    let out = b.ok(&["pull", &name]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "musl: Pulling from lib/busybox");
    assert!(lines.contains(&"5c3b447848a9: Pulling fs layer"), "{out}");
    assert!(lines.contains(&"5c3b447848a9: Pull complete"), "{out}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {name}")),
        "{out}"
    );
    assert_eq!(*lines.last().unwrap(), name);
    let dirs = b.layer_dirs(&name);
    let bb = dirs[0].join("bin/busybox");
    assert!(bb.is_file(), "{}", bb.display());
    assert!(
        fs_err::read_to_string(dirs[0].join("etc/passwd"))
            .unwrap()
            .starts_with("root:")
    );

    // Up to date the second time; -q prints only the reference.
    let out = b.ok(&["pull", &name]);
    assert!(out.contains("5c3b447848a9: Already exists"), "{out}");
    assert!(out.contains("Status: Image is up to date"), "{out}");
    assert_eq!(b.ok(&["pull", "-q", &name]), format!("{name}\n"));

    // The digest the registry has is the one `images --digests` shows.
    let raw = skopeo(&["inspect", "--tls-verify=false", &format!("docker://{name}")]);
    let want = serde_json::from_slice::<Value>(&raw.stdout).unwrap()["Digest"].clone();
    let got = b.ok(&["images", "--digests", "--format", "{{.Digest}}"]);
    assert_eq!(got.trim(), want.as_str().unwrap());
    let table = b.ok(&["images"]);
    let header = table.lines().next().unwrap();
    assert_eq!(
        header
            .split("   ")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>(),
        ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
    );

    // save → skopeo reads it; load back into a fresh root gives the same id.
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("saved.tar");
    b.ok(&["save", "-o", tar.to_str().unwrap(), &name]);
    let out = skopeo(&["inspect", &format!("docker-archive:{}", tar.display())]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = b.inspect(&name)["Id"].as_str().unwrap().to_owned();
    assert_eq!(v["Digest"].as_str().map(|_| ()), Some(()));
    let b2 = Berth::new();
    let out = b2.ok(&["load", "-i", tar.to_str().unwrap()]);
    assert_eq!(out, format!("Loaded image: {name}\n"));
    assert_eq!(b2.inspect(&name)["Id"], id);
    let oci = dir.path().join("saved-oci.tar");
    b.ok(&[
        "save",
        "--format",
        "oci-archive",
        "-o",
        oci.to_str().unwrap(),
        &name,
    ]);
    skopeo(&["inspect", &format!("oci-archive:{}", oci.display())]);
}

#[test]
fn busybox_static_round_trip_through_the_registry() {
    if !available() || !Path::new("/bin/busybox").exists() {
        eprintln!("skipped: needs docker-registry, skopeo and busybox-static");
        return;
    }
    let reg = Registry::start(&[]);
    let work = tempfile::tempdir().unwrap();
    let tarball = busybox_static_tarball(work.path(), "round-trip");
    let a = Berth::new();
    let name = format!("{}/static/bb:1", reg.host());
    a.ok(&[
        "import",
        "-c",
        "CMD [\"sh\"]",
        tarball.to_str().unwrap(),
        &name,
    ]);
    a.ok(&["push", &name]);
    let b = Berth::new();
    b.ok(&["pull", &name]);
    assert_eq!(a.inspect(&name)["Id"], b.inspect(&name)["Id"]);
    let dirs = b.layer_dirs(&name);
    assert_eq!(
        fs_err::read_to_string(dirs[0].join("etc/marker")).unwrap(),
        "round-trip"
    );
    assert_eq!(
        fs_err::read_link(dirs[0].join("bin/sh")).unwrap(),
        Path::new("busybox")
    );
}

#[test]
fn bad_references_and_unknown_tags_are_clear_errors() {
    if !available() {
        return;
    }
    let b = Berth::new();
    let err = b.fails(&["pull", "UPPERCASE"]);
    assert!(err.contains("invalid reference format"), "{err}");
    let reg = Registry::start(&[]);
    let err = b.fails(&["pull", &format!("{}/no/such:tag", reg.host())]);
    assert!(err.contains("manifest tag not found"), "{err}");
    let err = b.fails(&["push", "no-such-image:1"]);
    assert!(err.contains("no such image"), "{err}");
    let err = b.fails(&["rmi", "no-such-image"]);
    assert!(err.contains("no such image"), "{err}");
    let err = b.fails(&["images", "--filter", "colour=red"]);
    assert!(err.contains("invalid filter 'colour'"), "{err}");
}

#[test]
fn corrupted_blob_is_refused_and_the_store_stays_consistent() {
    if !available() {
        return;
    }
    let reg = Registry::start(&[]);
    let Some(_layout) = skopeo_push_busybox(&reg, "c/busybox:1") else {
        return;
    };
    let hex = "5c3b447848a98e48dce106cb3e6acbd4fb6f9b26ee778798137349ce01f4d3c1";
    let data = reg.blob_data_path(hex);
    let good = fs_err::read(&data).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    fs_err::write(&data, &bad).unwrap();

    let b = Berth::new();
    let name = format!("{}/c/busybox:1", reg.host());
    let err = b.fails(&["pull", &name]);
    assert!(
        err.contains("digest mismatch") || err.contains("invalid layer tar"),
        "{err}"
    );
    assert_eq!(b.ok(&["images", "-q"]), "");
    let snaps = fs_err::read_dir(b.root.path().join("snapshots"))
        .unwrap()
        .count();
    assert_eq!(snaps, 0, "a snapshot was published from a corrupt blob");
    assert!(!b.root.path().join("blobs/sha256").join(hex).exists());

    fs_err::write(&data, &good).unwrap();
    let out = b.ok(&["pull", &name]);
    assert!(out.contains("Pull complete"), "{out}");
    assert_eq!(b.ok(&["images", "-q"]).lines().count(), 1);
}

#[test]
fn rmi_refuses_images_in_use_and_tags_untag_first() {
    let Some(images) = shared_images() else {
        return;
    };
    let b = Berth::new();
    let tarball = images.join("alpine-3.10.9/alpine-minirootfs-3.10.9-x86_64.tar.gz");
    let id = b
        .ok(&["import", tarball.to_str().unwrap(), "a:1"])
        .trim()
        .to_owned();
    b.ok(&["tag", "a:1", "a:2"]);
    assert_eq!(b.ok(&["rmi", "a:2"]), "Untagged: a:2\n");
    {
        let store = berth_store::Store::open(b.root.path()).unwrap();
        store
            .create_container(&berth_store::NewContainer {
                id: berth_store::digest::random_id().unwrap(),
                name: "user".into(),
                image_id: Some(id.clone()),
                image_ref: "a:1".into(),
                config: "{}".into(),
                ..Default::default()
            })
            .unwrap();
    }
    let err = b.fails(&["rmi", "a:1"]);
    assert!(err.contains("in use by container"), "{err}");
    assert_eq!(b.ok(&["images", "-q"]).lines().count(), 1);
    let out = b.ok(&["rmi", "-f", "a:1"]);
    assert_eq!(out, "Untagged: a:1\n");
    // Still there for its container, untagged.
    assert_eq!(
        b.ok(&["images", "-q", "--filter", "dangling=true"]).trim(),
        &id[7..19]
    );
    let out = b.ok(&["image", "prune", "-f"]);
    assert!(out.contains("Total reclaimed space: 0B"), "{out}");
}

#[test]
fn login_logout_and_authenticated_pull() {
    if !available() {
        return;
    }
    let reg = Registry::start(&[("alice", "s3cret")]);
    let b = Berth::new();
    let host = reg.host();
    let mut c = b.cmd(&["login", "-u", "alice", "--password-stdin", &host]);
    c.stdin(std::process::Stdio::piped());
    let mut child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"wrong\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unauthorized"));

    let mut c = b.cmd(&["login", "-u", "alice", "--password-stdin", &host]);
    let mut child = c
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"s3cret\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Login Succeeded\n");
    let cfg = fs_err::read_to_string(b.docker_config.path().join("config.json")).unwrap();
    assert!(cfg.contains(&host), "{cfg}");

    // An authenticated push and pull with the stored credentials.
    let Some(images) = shared_images() else {
        return;
    };
    let tarball = images.join("alpine-3.10.9/alpine-minirootfs-3.10.9-x86_64.tar.gz");
    let name = format!("{host}/private/alpine:3.10");
    b.ok(&["import", tarball.to_str().unwrap(), &name]);
    b.ok(&["push", &name]);
    b.ok(&["rmi", &name]);
    b.ok(&["pull", &name]);

    assert_eq!(
        b.ok(&["logout", &host]),
        format!("Removing login credentials for {host}\n")
    );
    let b2 = Berth::in_root(tempfile::tempdir().unwrap());
    let err = b2.fails(&["pull", &name]);
    assert!(
        err.contains("unauthorized") || err.contains("authentication"),
        "{err}"
    );
}

/// A small tmpfs as the store; unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn full_disk_fails_cleanly() {
    if skip_unless_root() {
        return;
    }
    let Some(images) = shared_images() else {
        return;
    };
    let dir = tempfile::Builder::new()
        .prefix("berth-tmpfs-")
        .tempdir()
        .unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    let fs = Tmpfs(dir);
    let root = tempfile::Builder::new().tempdir_in(fs.0.path()).unwrap();
    let b = Berth::in_root(root);
    let deb = images.join("debian-12.15-bookworm-slim/rootfs.tar.xz");
    let err = b.fails(&["import", deb.to_str().unwrap(), "deb:full"]);
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(b.ok(&["images", "-q"]), "");
    assert_eq!(
        fs_err::read_dir(b.root.path().join("snapshots"))
            .unwrap()
            .count(),
        0
    );
    // Something small still fits afterwards: the failed import left no garbage behind.
    let alpine = images.join("alpine-3.10.9/alpine-minirootfs-3.10.9-x86_64.tar.gz");
    b.ok(&["import", alpine.to_str().unwrap(), "small:1"]);
    drop(b);
}

#[test]
fn killed_pull_leaves_a_consistent_store_and_the_next_pull_completes() {
    if !available() {
        return;
    }
    let Some(images) = shared_images() else {
        return;
    };
    let reg = Registry::start(&[]);
    let a = Berth::new();
    let name = format!("{}/k/alpine:3.20", reg.host());
    let tarball = images.join("alpine-3.20.3/alpine-minirootfs-3.20.3-x86_64.tar.gz");
    a.ok(&["import", tarball.to_str().unwrap(), &name]);
    a.ok(&["push", &name]);

    let b = Berth::new();
    for delay_ms in [20, 60, 150] {
        let mut child = b
            .cmd(&["pull", "-q", &name])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // Whatever the moment of the kill: the image is either wholly there or absent,
        // and opening the store again (recovery) leaves no staging leftovers.
        let ids = b.ok(&["images", "-q"]);
        assert!(ids.lines().count() <= 1, "{ids}");
        if ids.is_empty() {
            continue;
        }
        assert!(b.layer_dirs(&name)[0].join("etc/alpine-release").is_file());
    }
    assert_eq!(
        fs_err::read_dir(b.root.path().join("tmp")).unwrap().count(),
        0
    );
    b.ok(&["pull", &name]);
    let dirs = b.layer_dirs(&name);
    assert_eq!(
        fs_err::read_to_string(dirs[0].join("etc/alpine-release")).unwrap(),
        "3.20.3\n"
    );
}
