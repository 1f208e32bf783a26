//! Bad input at the command line: each fault ends in a clear error, leaves the store
//! consistent (no image, no snapshot, no staging leftovers), and a following good pull
//! works. Faults a real registry cannot produce come from the fault-injecting proxy.

use std::path::Path;
use std::process::Command;

use super::{Tmpfs, skopeo_push_busybox};
use crate::common::faults::{Fault, FaultProxy};
use crate::common::registry::{Berth, Registry, available, shared_images, skopeo};
use crate::common::{skip_unless_root, unique_id};

/// The layer blob of the musl busybox layout.
const BUSYBOX_LAYER: &str = "5c3b447848a98e48dce106cb3e6acbd4fb6f9b26ee778798137349ce01f4d3c1";

/// No image, no snapshot, nothing staged: what a failed pull must leave.
fn assert_store_clean(b: &Berth) {
    assert_eq!(b.ok(&["images", "-aq"]), "", "an image row after a failure");
    for dir in ["snapshots", "tmp"] {
        let p = b.root.path().join(dir);
        let left: Vec<_> = fs_err::read_dir(&p)
            .map(|d| d.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{} holds {left:?}", p.display());
    }
}

/// A registry with the busybox image at `f/busybox:1` and a proxy in front of it.
fn registry_and_proxy() -> Option<(Registry, FaultProxy, tempfile::TempDir)> {
    if !available() {
        return None;
    }
    let reg = Registry::start(&[]);
    let layout = skopeo_push_busybox(&reg, "f/busybox:1")?;
    let proxy = FaultProxy::start(reg.addr);
    Some((reg, proxy, layout))
}

#[test]
fn registry_500s_are_retried_and_a_dead_registry_is_a_clear_error() {
    let Some((_reg, proxy, _layout)) = registry_and_proxy() else {
        return;
    };
    let name = format!("{}/f/busybox:1", proxy.host());
    let b = Berth::new();
    proxy.add(
        "/manifests/",
        Fault::Status {
            status: 500,
            times: 2,
        },
    );
    proxy.add(
        &format!("/blobs/sha256:{BUSYBOX_LAYER}"),
        Fault::Status {
            status: 503,
            times: 2,
        },
    );
    let out = b.ok(&["pull", &name]);
    assert!(out.contains("Pull complete"), "{out}");
    assert_eq!(proxy.fired(0), 2, "the manifest 500s were not served");
    assert_eq!(proxy.fired(1), 2, "the blob 503s were not served");
    assert!(b.layer_dirs(&name)[0].join("bin/busybox").is_file());

    // A registry that keeps failing: a clear error naming the status, nothing stored.
    let c = Berth::new();
    proxy.clear();
    proxy.add(
        &format!("/blobs/sha256:{BUSYBOX_LAYER}"),
        Fault::Status {
            status: 500,
            times: usize::MAX,
        },
    );
    let err = c.fails(&["pull", &name]);
    assert!(err.contains("500"), "{err}");
    assert_store_clean(&c);
    proxy.clear();
    c.ok(&["pull", &name]);
    assert_eq!(c.ok(&["images", "-q"]).lines().count(), 1);
}

#[test]
fn truncated_downloads_are_retried_then_refused_cleanly() {
    let Some((_reg, proxy, _layout)) = registry_and_proxy() else {
        return;
    };
    let name = format!("{}/f/busybox:1", proxy.host());
    let blob = format!("/blobs/sha256:{BUSYBOX_LAYER}");
    // Once: the layer is fetched again and the pull completes.
    let b = Berth::new();
    proxy.add(&blob, Fault::Truncate { times: 1 });
    let out = b.ok(&["pull", &name]);
    assert!(out.contains("Pull complete"), "{out}");
    assert_eq!(proxy.fired(0), 1);
    // Always: a clear error, and nothing of the layer kept.
    let c = Berth::new();
    proxy.clear();
    proxy.add(&blob, Fault::Truncate { times: usize::MAX });
    let err = c.fails(&["pull", &name]);
    assert!(proxy.fired(0) >= 2, "the layer was not retried");
    assert!(
        err.contains(&BUSYBOX_LAYER[..12]) || err.contains("sha256:"),
        "the error does not name the blob: {err}"
    );
    assert_store_clean(&c);
    proxy.clear();
    c.ok(&["pull", &name]);
    assert!(c.layer_dirs(&name)[0].join("bin/busybox").is_file());
}

#[test]
fn a_manifest_for_another_platform_only_is_refused() {
    let Some((_reg, proxy, _layout)) = registry_and_proxy() else {
        return;
    };
    let name = format!("{}/f/busybox:1", proxy.host());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{}", "a".repeat(64)),
            "size": 500,
            "platform": {"architecture": "s390x", "os": "linux"},
        }],
    });
    proxy.add(
        "/manifests/1",
        Fault::Replace {
            content_type: "application/vnd.oci.image.index.v1+json".to_owned(),
            body: index.to_string().into_bytes(),
        },
    );
    let b = Berth::new();
    let err = b.fails(&["pull", &name]);
    assert!(
        err.contains("linux/s390x"),
        "the error does not list what exists: {err}"
    );
    assert!(
        err.contains("linux/amd64") || err.contains("linux/"),
        "{err}"
    );
    assert_store_clean(&b);
    // Asking for that platform gets past the index (and fails on its missing manifest).
    let err = b.fails(&["pull", "--platform", "linux/s390x", &name]);
    assert!(!err.contains("no matching manifest"), "{err}");
    assert_store_clean(&b);
    proxy.clear();
    b.ok(&["pull", &name]);
}

#[test]
fn an_unknown_manifest_media_type_is_refused() {
    let Some((_reg, proxy, _layout)) = registry_and_proxy() else {
        return;
    };
    let name = format!("{}/f/busybox:1", proxy.host());
    let weird = "application/vnd.example.weird.manifest+json";
    proxy.add(
        "/manifests/1",
        Fault::Replace {
            content_type: weird.to_owned(),
            body: format!("{{\"schemaVersion\":2,\"mediaType\":\"{weird}\"}}").into_bytes(),
        },
    );
    let b = Berth::new();
    let err = b.fails(&["pull", &name]);
    assert!(
        err.contains("unsupported media type") && err.contains(weird),
        "{err}"
    );
    assert_store_clean(&b);
    proxy.clear();
    b.ok(&["pull", &name]);
}

/// A tar entry named `name` (written raw, so `..` and absolute names survive), a file
/// with `data` or, with `link`, a symlink to it.
fn raw_entry(t: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8], link: Option<&str>) {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_mode(0o777);
    if let Some(l) = link {
        h.set_entry_type(tar::EntryType::Symlink);
        h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
        h.set_size(0);
    } else {
        h.set_size(data.len() as u64);
    }
    h.set_cksum();
    t.append(&h, data).unwrap();
}

/// An OCI layout holding one image of one uncompressed layer; returns its directory.
fn layout_with_layer(layer: &[u8]) -> tempfile::TempDir {
    use sha2::Digest as _;
    let dir = tempfile::Builder::new()
        .prefix("berth-evil-")
        .tempdir()
        .unwrap();
    let blobs = dir.path().join("blobs/sha256");
    fs_err::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let hex = hex::encode(sha2::Sha256::digest(bytes));
        fs_err::write(blobs.join(&hex), bytes).unwrap();
        (format!("sha256:{hex}"), bytes.len())
    };
    let (layer_d, layer_n) = put(layer);
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [layer_d]},
    });
    let (config_d, config_n) = put(config.to_string().as_bytes());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_d, "size": config_n},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_d, "size": layer_n}],
    });
    let (m_d, m_n) = put(manifest.to_string().as_bytes());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": m_d, "size": m_n}],
    });
    fs_err::write(dir.path().join("index.json"), index.to_string()).unwrap();
    fs_err::write(
        dir.path().join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    dir
}

#[test]
fn malicious_layers_are_refused_and_write_nothing_outside() {
    if !available() {
        return;
    }
    let reg = Registry::start(&[]);
    let outside = tempfile::Builder::new()
        .prefix("berth-outside-")
        .tempdir()
        .unwrap();
    let victim = outside.path().join(unique_id("pwned"));
    let depth = "../".repeat(8);
    let escape = format!(
        "{depth}{}",
        victim.display().to_string().trim_start_matches('/')
    );

    // `..` up and out; an absolute path; a symlink out followed by a write through it.
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut t = tar::Builder::new(Vec::new());
    raw_entry(&mut t, "ok.txt", b"fine", None);
    raw_entry(&mut t, &escape, b"escaped", None);
    cases.push(("dotdot", t.into_inner().unwrap()));
    let mut t = tar::Builder::new(Vec::new());
    raw_entry(&mut t, &victim.display().to_string(), b"absolute", None);
    cases.push(("absolute", t.into_inner().unwrap()));
    let mut t = tar::Builder::new(Vec::new());
    raw_entry(
        &mut t,
        "out",
        b"",
        Some(&outside.path().display().to_string()),
    );
    let through = format!("out/{}", victim.file_name().unwrap().to_string_lossy());
    raw_entry(&mut t, &through, b"through a symlink", None);
    cases.push(("symlink", t.into_inner().unwrap()));

    let b = Berth::new();
    for (what, layer) in cases {
        let layout = layout_with_layer(&layer);
        let name = format!("{}/evil/{what}:1", reg.host());
        skopeo(&[
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{}", layout.path().display()),
            &format!("docker://{name}"),
        ]);
        let (code, out, err) = b.run(&["pull", &name]);
        // An absolute name is made relative (as Docker does) and lands inside; the
        // others must fail. Whatever happens, nothing appears outside.
        assert!(
            !victim.exists(),
            "{what}: a layer wrote {}: {out}{err}",
            victim.display()
        );
        if what == "absolute" {
            if code == 0 {
                let rel = victim.strip_prefix("/").unwrap();
                assert!(b.layer_dirs(&name)[0].join(rel).is_file(), "{what}");
                b.ok(&["rmi", &name]);
                b.ok(&["image", "prune", "-af"]);
            }
            continue;
        }
        assert_eq!(code, 125, "{what}: the layer was accepted\n{out}{err}");
        assert!(err.contains("refusing layer entry"), "{what}: {err}");
        assert_store_clean(&b);
    }
    // A good image still pulls into the same store.
    let Some(_l) = skopeo_push_busybox(&reg, "good/busybox:1") else {
        return;
    };
    b.ok(&["pull", &format!("{}/good/busybox:1", reg.host())]);
}

#[test]
fn a_full_disk_during_pull_fails_cleanly() {
    if skip_unless_root() || !available() {
        return;
    }
    let Some(images) = shared_images() else {
        return;
    };
    let reg = Registry::start(&[]);
    // A ~30 MB compressed image (the Debian slim root), pushed once.
    let a = Berth::new();
    let big = format!("{}/big/debian:12", reg.host());
    let deb = images.join("debian-12.15-bookworm-slim/rootfs.tar.xz");
    a.ok(&["import", deb.to_str().unwrap(), &big]);
    a.ok(&["push", &big]);
    let Some(_l) = skopeo_push_busybox(&reg, "small/busybox:1") else {
        return;
    };

    let dir = tempfile::Builder::new()
        .prefix("berth-tmpfs-")
        .tempdir()
        .unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    let fs = Tmpfs(dir);
    let root = tempfile::Builder::new().tempdir_in(fs.0.path()).unwrap();
    let b = Berth::in_root(root);
    let err = b.fails(&["pull", &big]);
    assert!(err.contains("No space left on device"), "{err}");
    assert_store_clean(&b);
    let used = used_bytes(fs.0.path());
    assert!(used < 2 << 20, "{used} bytes left on the full store");
    b.ok(&["pull", &format!("{}/small/busybox:1", reg.host())]);
    assert_eq!(b.ok(&["images", "-q"]).lines().count(), 1);
    drop(b);
}

/// Bytes in use on the file system at `p` (`df` of a tmpfs).
fn used_bytes(p: &Path) -> u64 {
    let out = Command::new("df")
        .args(["--output=used", "-B1"])
        .arg(p)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap()
}
