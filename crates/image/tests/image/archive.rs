//! docker-archive and OCI layout reading and writing, with podman's fixtures, the busybox
//! layouts, and skopeo reading what we write.

use std::io::Read as _;
use std::path::Path;
use std::process::Command;

use berth_image::archive::{
    Archive, DockerImage, Format, OciImage, write_docker_archive, write_oci_archive,
    write_oci_layout,
};
use berth_image::{Digest, Error, Reference};

use crate::common::{busybox_layout, shared_images};

fn read_all_layers(a: &Archive) {
    for img in a.images() {
        for l in &img.layers {
            let mut sink = Vec::new();
            a.open_layer(l).unwrap().read_to_end(&mut sink).unwrap();
        }
    }
}

#[test]
fn podman_docker_archives() {
    let Some(images) = shared_images() else {
        return;
    };
    let dir = images.join("podman-e2e-archives");
    let cases: &[(&str, &[&[&str]])] = &[
        ("docker-name-only", &[&["pretty-empty:latest"]]),
        ("docker-registry-name", &[&["example.com/empty:latest"]]),
        (
            "docker-two-names",
            &[&["pretty-empty:latest", "example.com/empty:latest"]],
        ),
        (
            "docker-two-images",
            &[
                &["example.com/empty:latest"],
                &["example.com/empty/but:different"],
            ],
        ),
        ("docker-unnamed", &[&[]]),
    ];
    for (name, want) in cases {
        let a = Archive::open(&dir.join(format!("{name}.tar.xz")), None)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(a.format(), Format::DockerArchive);
        let got: Vec<Vec<String>> = a.images().iter().map(|i| i.names.clone()).collect();
        let mut got_sorted = got.clone();
        got_sorted.iter_mut().for_each(|v| v.sort());
        let mut want_sorted: Vec<Vec<String>> = want
            .iter()
            .map(|v| v.iter().map(|s| (*s).to_owned()).collect())
            .collect();
        want_sorted.iter_mut().for_each(|v| v.sort());
        assert_eq!(got_sorted, want_sorted, "{name}");
        for img in a.images() {
            assert_eq!(img.layers.len(), 1, "{name}");
            assert_eq!(img.config_digest, Digest::sha256_of(&img.config));
        }
        // docker-two-images' second layer.tar is a symlink to the first: followed inside.
        read_all_layers(&a);
    }
}

#[test]
fn podman_oci_archives() {
    let Some(images) = shared_images() else {
        return;
    };
    let dir = images.join("podman-e2e-archives");
    let cases: &[(&str, &[&str])] = &[
        ("oci-name-only", &["pretty-empty:latest"]),
        ("oci-registry-name", &["example.com/empty:latest"]),
        ("oci-non-docker-name", &["UPPERCASE-IS-INVALID"]),
        ("oci-unnamed", &[]),
    ];
    for (name, want) in cases {
        let a = Archive::open(&dir.join(format!("{name}.tar.gz")), None)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(a.format(), Format::OciLayout);
        assert_eq!(a.images().len(), 1);
        assert_eq!(a.images()[0].names, *want, "{name}");
        assert!(a.images()[0].manifest.is_some());
        read_all_layers(&a);
    }
    let err = Reference::parse("UPPERCASE-IS-INVALID").unwrap_err();
    assert!(err.to_string().contains("must be lowercase"), "{err}");
}

#[test]
fn busybox_layout_with_symlinked_blobs() {
    let Some(layout) = busybox_layout("uclibc") else {
        return;
    };
    let a = Archive::open(layout.path(), None).unwrap();
    assert_eq!(
        a.images()[0].names,
        vec!["busybox:1.38.0-uclibc".to_owned()]
    );
    let layer = &a.images()[0].layers[0];
    let t = tempfile::tempdir().unwrap();
    let opts = berth_image::layer::ApplyOptions {
        chown: false,
        ..berth_image::layer::ApplyOptions::flat()
    };
    let info = berth_image::layer::apply(a.open_layer(layer).unwrap(), t.path(), &opts).unwrap();
    let cfg = berth_image::manifest::parse_config(&a.images()[0].config).unwrap();
    assert_eq!(info.diff_id.to_string(), cfg.rootfs().diff_ids()[0]);
}

#[test]
fn blob_symlinks_are_followed_only_inside_the_layout() {
    let Some(layout_src) = busybox_layout("musl") else {
        return;
    };
    let src = layout_src.path().to_path_buf();
    let t = tempfile::tempdir().unwrap();
    let layout = t.path().join("layout");
    fs_err::create_dir_all(layout.join("blobs/sha256")).unwrap();
    for f in ["oci-layout", "index.json"] {
        fs_err::copy(src.join(f), layout.join(f)).unwrap();
    }
    let a = Archive::open(&src, None).unwrap();
    let img = &a.images()[0];
    let manifest = &img.manifest.as_ref().unwrap().0;
    fs_err::write(
        layout
            .join("blobs/sha256")
            .join(Digest::sha256_of(manifest).hex()),
        manifest,
    )
    .unwrap();
    fs_err::write(
        layout.join("blobs/sha256").join(img.config_digest.hex()),
        &img.config,
    )
    .unwrap();
    // The layer blob is a symlink to a real, correct copy outside the layout.
    let outside = t.path().join("rootfs.tar.gz");
    fs_err::copy(src.join("rootfs.tar.gz"), &outside).unwrap();
    let layer_digest = &img.layers[0].digest;
    std::os::unix::fs::symlink(
        &outside,
        layout.join("blobs/sha256").join(layer_digest.hex()),
    )
    .unwrap();

    let a = Archive::open(&layout, None).unwrap();
    let Err(err) = a.open_layer(&a.images()[0].layers[0]) else {
        panic!("a blob outside the layout was opened")
    };
    assert!(err.to_string().contains("No such file"), "{err}");
}

#[test]
fn archive_with_escaping_entry_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..13].copy_from_slice(b"../escaped.js");
    h.set_size(1);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    b.append(&h, &b"x"[..]).unwrap();
    let path = t.path().join("evil.tar");
    fs_err::write(&path, b.into_inner().unwrap()).unwrap();
    let err = Archive::open(&path, Some(t.path())).unwrap_err();
    assert!(matches!(err, Error::Archive { .. }), "{err}");
    assert!(!t.path().join("escaped.js").exists());
    // The temporary unpack directory is gone too.
    assert_eq!(fs_err::read_dir(t.path()).unwrap().count(), 1);
}

fn skopeo_inspect(transport_ref: &str) -> Option<serde_json::Value> {
    if !Path::new("/usr/bin/skopeo").exists() {
        eprintln!("skopeo missing (apt-get install skopeo): peer check skipped");
        return None;
    }
    let out = Command::new("skopeo")
        .args(["inspect", transport_ref])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect {transport_ref}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn written_archives_read_back_and_by_skopeo() {
    let Some(layout_src) = busybox_layout("glibc") else {
        return;
    };
    let src = Archive::open(layout_src.path(), None).unwrap();
    let img = src.images()[0].clone();
    let cfg = berth_image::manifest::parse_config(&img.config).unwrap();
    let diff_ids: Vec<String> = cfg.rootfs().diff_ids().clone();
    let t = tempfile::tempdir().unwrap();

    // docker-archive: layers stored uncompressed, named by diff_id.
    let tarball = t.path().join("busybox.tar");
    let layers: Vec<Box<dyn std::io::Read>> = img
        .layers
        .iter()
        .map(|l| Box::new(src.open_layer(l).unwrap()) as Box<dyn std::io::Read>)
        .collect();
    write_docker_archive(
        fs_err::File::create(&tarball).unwrap(),
        vec![DockerImage {
            repo_tags: vec!["busybox:glibc".into()],
            config: &img.config,
            layers,
        }],
    )
    .unwrap();
    let back = Archive::open(&tarball, Some(t.path())).unwrap();
    assert_eq!(back.format(), Format::DockerArchive);
    assert_eq!(back.images()[0].names, vec!["busybox:glibc".to_owned()]);
    assert_eq!(back.images()[0].config, img.config);
    assert_eq!(back.images()[0].layers[0].digest.to_string(), diff_ids[0]);
    read_all_layers(&back);
    if let Some(v) = skopeo_inspect(&format!("docker-archive:{}", tarball.display())) {
        assert_eq!(v["Layers"], serde_json::json!(diff_ids));
    }

    // OCI layout and oci-archive: blobs as they were, manifest bytes unchanged.
    let (mbytes, mtype) = img.manifest.clone().unwrap();
    let oci_image = |src: &Archive| OciImage {
        ref_name: Some("busybox:glibc".into()),
        manifest: (&mbytes, &mtype),
        config: &img.config,
        layers: img
            .layers
            .iter()
            .map(|l| {
                (
                    l.digest.clone(),
                    Box::new(src.open_layer(l).unwrap()) as Box<dyn std::io::Read>,
                )
            })
            .collect(),
    };
    let layout = t.path().join("layout");
    write_oci_layout(&layout, vec![oci_image(&src)]).unwrap();
    let back = Archive::open(&layout, None).unwrap();
    assert_eq!(back.images()[0].manifest.as_ref().unwrap().0, mbytes);
    assert_eq!(back.images()[0].names, vec!["busybox:glibc".to_owned()]);
    read_all_layers(&back);
    if let Some(v) = skopeo_inspect(&format!("oci:{}:busybox:glibc", layout.display())) {
        assert_eq!(v["Digest"], Digest::sha256_of(&mbytes).to_string());
        assert_eq!(
            v["Layers"],
            serde_json::json!([img.layers[0].digest.to_string()])
        );
    }
    let oci_tar = t.path().join("busybox-oci.tar");
    write_oci_archive(
        fs_err::File::create(&oci_tar).unwrap(),
        vec![oci_image(&src)],
    )
    .unwrap();
    let back = Archive::open(&oci_tar, Some(t.path())).unwrap();
    assert_eq!(back.images()[0].config_digest, img.config_digest);
    read_all_layers(&back);

    // A layer that is not what the config says is refused.
    let wrong: Vec<Box<dyn std::io::Read>> = vec![Box::new(&b"not a layer"[..])];
    let err = write_docker_archive(
        std::io::sink(),
        vec![DockerImage {
            repo_tags: vec![],
            config: &img.config,
            layers: wrong,
        }],
    )
    .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
}
