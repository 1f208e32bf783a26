//! Push of an image whose layers are stored uncompressed: gzip on the way out, the
//! compressed digest recorded so the next push reuses it, and a cross-repository mount.

use std::process::Command;

use serde_json::Value;

use crate::common::registry::{Berth, Registry, available, skopeo};

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn plain_tar_layers_are_pushed_gzipped_once() {
    if !available() || !std::path::Path::new("/bin/busybox").exists() {
        eprintln!("skipped: needs docker-registry, skopeo and busybox-static");
        return;
    }
    let reg = Registry::start(&[]);
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("rootfs");
    fs_err::create_dir_all(root.join("bin")).unwrap();
    fs_err::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    fs_err::write(root.join("marker"), "plain").unwrap();
    let tar = work.path().join("rootfs.tar");
    let st = Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&root)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    let plain = fs_err::read(&tar).unwrap();
    let diff_hex = sha256_hex(&plain);

    let b = Berth::new();
    let name = format!("{}/gz/bb:1", reg.host());
    b.ok(&["import", tar.to_str().unwrap(), &name]);
    let before = b.inspect(&name);
    assert!(
        b.root.path().join("blobs/sha256").join(&diff_hex).is_file(),
        "import kept no plain blob"
    );
    let out = b.ok(&["push", &name]);
    assert!(out.contains(": Pushed"), "{out}");
    let first = out.lines().last().unwrap().to_owned();

    // The registry holds a gzip layer whose content is the plain tar.
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{name}"),
    ]);
    let m: Value = serde_json::from_slice(&raw.stdout).unwrap();
    let layer = &m["layers"][0];
    assert_eq!(
        layer["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let blob_hex = layer["digest"]
        .as_str()
        .unwrap()
        .strip_prefix("sha256:")
        .unwrap();
    assert_ne!(blob_hex, diff_hex);
    let stored = fs_err::read(reg.blob_data_path(blob_hex)).unwrap();
    assert_eq!(&stored[..2], &[0x1f, 0x8b]);
    assert!(
        stored.len() < plain.len() * 2 / 3,
        "{} vs {}",
        stored.len(),
        plain.len()
    );
    let gunzip = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "gzip -dc < {}",
            reg.blob_data_path(blob_hex).display()
        ))
        .output()
        .unwrap();
    assert_eq!(sha256_hex(&gunzip.stdout), diff_hex);

    // Same image; the store now keeps the compressed blob instead of the plain one.
    let after = b.inspect(&name);
    assert_eq!(after["Id"], before["Id"]);
    assert_eq!(after["RootFS"], before["RootFS"]);
    assert!(b.root.path().join("blobs/sha256").join(blob_hex).is_file());
    assert!(!b.root.path().join("blobs/sha256").join(&diff_hex).exists());

    // The next push compresses nothing and sends nothing; the same manifest digest.
    let out = b.ok(&["push", &name]);
    assert!(out.contains("Layer already exists"), "{out}");
    assert_eq!(out.lines().last().unwrap(), first);
    // Another repository on the same registry: mounted, not uploaded.
    let other = format!("{}/gz2/bb:1", reg.host());
    b.ok(&["tag", &name, &other]);
    let out = b.ok(&["push", &other]);
    assert!(out.contains("Mounted from gz/bb"), "{out}");
    assert!(!out.contains(": Pushed"), "{out}");

    // A puller gets the same image and files; save still writes the plain tar.
    let c = Berth::new();
    c.ok(&["pull", &other]);
    assert_eq!(c.inspect(&other)["Id"], before["Id"]);
    assert_eq!(
        fs_err::read_to_string(c.layer_dirs(&other)[0].join("marker")).unwrap(),
        "plain"
    );
    let saved = work.path().join("saved.tar");
    b.ok(&["save", "-o", saved.to_str().unwrap(), &name]);
    let d = Berth::new();
    d.ok(&["load", "-i", saved.to_str().unwrap()]);
    assert_eq!(d.inspect(&name)["Id"], before["Id"]);
}
