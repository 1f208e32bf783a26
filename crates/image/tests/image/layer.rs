//! Layer application: real image layers, every compression, whiteouts, and crafted
//! malicious tarballs that must not change anything outside the target.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use berth_image::layer::{ApplyOptions, Compression, Mode, apply, diff::write_diff};
use berth_image::{Digest, Error, VerifyingReader};
use tar::{EntryType, Header};

use crate::common::shared_images;

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("skipping: needs root (device nodes, ownership, trusted xattrs)");
    }
    root
}

/// Appends an entry with a raw name (no validation by the tar crate, so `..` and absolute
/// paths get through as an attacker would write them).
pub(crate) fn raw(
    b: &mut tar::Builder<Vec<u8>>,
    name: &str,
    kind: EntryType,
    link: Option<&str>,
    data: &[u8],
    mode: u32,
) {
    let mut h = Header::new_gnu();
    {
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            old.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
    }
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_000_000);
    h.set_cksum();
    b.append(&h, data).unwrap();
}

pub(crate) fn tar_of(f: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    f(&mut b);
    b.into_inner().unwrap()
}

/// Everything under `dir` (not following symlinks): path → (kind, mode, size, nlink, content).
pub(crate) fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (String, u32, u64, u64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs_err::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let md = fs_err::symlink_metadata(&p).unwrap();
            let content = if md.is_file() {
                fs_err::read(&p).unwrap()
            } else {
                Vec::new()
            };
            let kind = format!("{:?}", md.file_type());
            out.insert(p.clone(), (kind, md.mode(), md.len(), md.nlink(), content));
            if md.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

pub(crate) struct Sandbox {
    _dir: tempfile::TempDir,
    pub outside: PathBuf,
    pub target: PathBuf,
}

pub(crate) fn sandbox() -> Sandbox {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    let target = dir.path().join("target");
    fs_err::create_dir_all(&outside).unwrap();
    fs_err::create_dir_all(&target).unwrap();
    fs_err::write(outside.join("secret"), "top secret").unwrap();
    fs_err::create_dir_all(outside.join("x")).unwrap();
    Sandbox {
        _dir: dir,
        outside,
        target,
    }
}

#[test]
fn busybox_layer_applies_with_links_owners_and_diff_id() {
    if !is_root() {
        return;
    }
    let Some(images) = shared_images() else {
        return;
    };
    let dir = images.join("busybox-1.38.0/musl");
    let cfg: serde_json::Value =
        serde_json::from_slice(&fs_err::read(dir.join("image-config.json")).unwrap()).unwrap();
    let diff_id = cfg["rootfs"]["diff_ids"][0].as_str().unwrap().to_owned();
    let gz = fs_err::read(dir.join("rootfs.tar.gz")).unwrap();
    let t = tempfile::tempdir().unwrap();
    // Verified on the way in, as a registry download is.
    let reader = VerifyingReader::new(
        &gz[..],
        Digest::sha256_of(&gz),
        Some(gz.len() as u64),
        "layer",
    );
    let info = apply(reader, t.path(), &ApplyOptions::default()).unwrap();
    assert_eq!(info.diff_id.to_string(), diff_id);
    assert_eq!(info.compression, Compression::Gzip);
    let r = t.path();
    let sh = fs_err::metadata(r.join("bin/sh")).unwrap();
    let bb = fs_err::metadata(r.join("bin/busybox")).unwrap();
    assert_eq!(sh.ino(), bb.ino());
    assert!(sh.nlink() > 300);
    assert_eq!(fs_err::metadata(r.join("home")).unwrap().uid(), 65534);
    assert_eq!(fs_err::metadata(r.join("var/spool/mail")).unwrap().gid(), 8);
    assert_eq!(
        fs_err::metadata(r.join("tmp"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o1777
    );
    assert_eq!(
        fs_err::read_link(r.join("usr/bin/env")).unwrap(),
        Path::new("../../bin/env")
    );

    // The same tar, plain and zstd: the same diff_id.
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut plain)
        .unwrap();
    let zst = zstd::encode_all(&plain[..], 3).unwrap();
    for (bytes, kind) in [(&plain, Compression::None), (&zst, Compression::Zstd)] {
        let t = tempfile::tempdir().unwrap();
        let info = apply(&bytes[..], t.path(), &ApplyOptions::default()).unwrap();
        assert_eq!(info.diff_id.to_string(), diff_id, "{kind:?}");
        assert_eq!(info.compression, kind);
        assert_eq!(info.size, plain.len() as u64);
        assert!(t.path().join("bin/busybox").exists());
    }
}

#[test]
fn alpine_absolute_symlinks_are_written_as_is() {
    if !is_root() {
        return;
    }
    let Some(images) = shared_images() else {
        return;
    };
    let f = fs_err::File::open(images.join("alpine-3.20.3/alpine-minirootfs-3.20.3-x86_64.tar.gz"))
        .unwrap();
    let t = tempfile::tempdir().unwrap();
    apply(f, t.path(), &ApplyOptions::flat()).unwrap();
    assert_eq!(
        fs_err::read_link(t.path().join("bin/ls")).unwrap(),
        Path::new("/bin/busybox")
    );
    assert_eq!(
        fs_err::metadata(t.path().join("etc/shadow")).unwrap().gid(),
        42
    );
    assert!(t.path().join("etc/os-release").exists());
}

#[test]
fn digest_mismatch_and_truncation_fail_the_apply() {
    let Some(images) = shared_images() else {
        return;
    };
    let gz = fs_err::read(images.join("busybox-1.38.0/musl/rootfs.tar.gz")).unwrap();
    let t = tempfile::tempdir().unwrap();
    let wrong = Digest::sha256_of(b"something else");
    let reader = VerifyingReader::new(&gz[..], wrong.clone(), None, "blob x");
    let opts = ApplyOptions {
        chown: false,
        ..ApplyOptions::default()
    };
    let err = apply(reader, t.path(), &opts).unwrap_err();
    assert!(
        matches!(err, Error::DigestMismatch { ref expected, .. } if *expected == wrong.to_string()),
        "{err}"
    );

    let t = tempfile::tempdir().unwrap();
    let err = apply(&gz[..gz.len() / 2], t.path(), &opts).unwrap_err();
    assert!(matches!(err, Error::Tar { .. }), "{err}");
}

fn base_layer() -> Vec<u8> {
    tar_of(|b| {
        raw(b, "a", EntryType::Regular, None, b"a", 0o644);
        raw(b, "d/", EntryType::Directory, None, b"", 0o755);
        raw(b, "d/x", EntryType::Regular, None, b"x", 0o644);
        raw(b, "d/sub/", EntryType::Directory, None, b"", 0o755);
        raw(b, "d/sub/y", EntryType::Regular, None, b"y", 0o644);
    })
}

fn whiteout_layer() -> Vec<u8> {
    tar_of(|b| {
        raw(b, ".wh.a", EntryType::Regular, None, b"", 0o644);
        raw(b, "d/z", EntryType::Regular, None, b"z", 0o644);
        raw(b, "d/.wh..wh..opq", EntryType::Regular, None, b"", 0o644);
    })
}

#[test]
fn whiteouts_flat_mode_delete() {
    let t = tempfile::tempdir().unwrap();
    let opts = ApplyOptions {
        chown: false,
        ..ApplyOptions::flat()
    };
    apply(&base_layer()[..], t.path(), &opts).unwrap();
    apply(&whiteout_layer()[..], t.path(), &opts).unwrap();
    assert!(!t.path().join("a").exists());
    let mut names: Vec<_> = fs_err::read_dir(t.path().join("d"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, vec![std::ffi::OsString::from("z")]);
}

#[test]
fn whiteouts_overlay_mode_and_diff_round_trip() {
    if !is_root() {
        return;
    }
    let upper = tempfile::tempdir().unwrap();
    apply(
        &whiteout_layer()[..],
        upper.path(),
        &ApplyOptions::default(),
    )
    .unwrap();
    let wh = fs_err::symlink_metadata(upper.path().join("a")).unwrap();
    assert!(wh.file_type().is_char_device());
    assert_eq!(wh.rdev(), 0);
    let mut v = [0u8; 4];
    let n = rustix::fs::getxattr(upper.path().join("d"), "trusted.overlay.opaque", &mut v).unwrap();
    assert_eq!(&v[..n], b"y");

    // The upper directory turns back into a layer with the same whiteouts...
    let mut tar1 = Vec::new();
    let info = write_diff(upper.path(), &mut tar1, false).unwrap();
    assert_eq!(info.diff_id, Digest::sha256_of(&tar1));
    let mut names = Vec::new();
    for e in tar::Archive::new(&tar1[..]).entries().unwrap() {
        names.push(e.unwrap().path().unwrap().to_string_lossy().into_owned());
    }
    assert!(names.contains(&".wh.a".to_owned()), "{names:?}");
    assert!(names.contains(&"d/.wh..wh..opq".to_owned()), "{names:?}");
    assert!(names.contains(&"d/z".to_owned()), "{names:?}");
    // ...deterministically...
    let mut tar2 = Vec::new();
    assert_eq!(
        write_diff(upper.path(), &mut tar2, false).unwrap().diff_id,
        info.diff_id
    );
    // ...which applied flat over the base gives the same result as the original layer.
    let t = tempfile::tempdir().unwrap();
    apply(&base_layer()[..], t.path(), &ApplyOptions::flat()).unwrap();
    apply(&tar1[..], t.path(), &ApplyOptions::flat()).unwrap();
    assert!(!t.path().join("a").exists());
    assert_eq!(fs_err::read_dir(t.path().join("d")).unwrap().count(), 1);
    assert_eq!(fs_err::read(t.path().join("d/z")).unwrap(), b"z");
}

#[test]
fn devices_modes_times_xattrs_and_hardlinks() {
    if !is_root() {
        return;
    }
    let layer = tar_of(|b| {
        let mut h = Header::new_gnu();
        h.set_entry_type(EntryType::Char);
        h.set_path("dev/null").unwrap();
        h.set_device_major(1).unwrap();
        h.set_device_minor(3).unwrap();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_mode(0o666);
        h.set_size(0);
        h.set_cksum();
        b.append(&h, &[][..]).unwrap();
        raw(
            b,
            "bin/su",
            EntryType::Regular,
            None,
            b"#!/bin/sh\n",
            0o4755,
        );
        raw(
            b,
            "bin/su-link",
            EntryType::Link,
            Some("bin/su"),
            b"",
            0o4755,
        );
        raw(b, "fifo", EntryType::Fifo, None, b"", 0o600);
        // PAX xattrs: a user one is kept, overlay's own are never taken from a layer.
        let mut data = Vec::new();
        data.extend(pax(b"SCHILY.xattr.user.berth", b"hello"));
        data.extend(pax(b"SCHILY.xattr.trusted.overlay.redirect", b"/etc"));
        let mut x = Header::new_ustar();
        x.set_entry_type(EntryType::XHeader);
        x.set_path("PaxHeaders/withx").unwrap();
        x.set_size(data.len() as u64);
        x.set_cksum();
        b.append(&x, &data[..]).unwrap();
        let mut h = Header::new_gnu();
        h.set_path("withx").unwrap();
        h.set_size(1);
        h.set_mode(0o640);
        h.set_uid(1234);
        h.set_gid(5678);
        h.set_mtime(1_500_000_000);
        h.set_cksum();
        b.append(&h, &b"x"[..]).unwrap();
    });
    let t = tempfile::tempdir().unwrap();
    apply(&layer[..], t.path(), &ApplyOptions::default()).unwrap();
    let null = fs_err::symlink_metadata(t.path().join("dev/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), rustix::fs::makedev(1, 3));
    assert_eq!(null.mode() & 0o7777, 0o666);
    let su = fs_err::metadata(t.path().join("bin/su")).unwrap();
    assert_eq!(su.mode() & 0o7777, 0o4755);
    assert_eq!(
        su.ino(),
        fs_err::metadata(t.path().join("bin/su-link"))
            .unwrap()
            .ino()
    );
    assert!(
        fs_err::symlink_metadata(t.path().join("fifo"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
    let w = fs_err::metadata(t.path().join("withx")).unwrap();
    assert_eq!(
        (w.uid(), w.gid(), w.mode() & 0o7777, w.mtime()),
        (1234, 5678, 0o640, 1_500_000_000)
    );
    let mut v = [0u8; 16];
    let n = rustix::fs::getxattr(t.path().join("withx"), "user.berth", &mut v).unwrap();
    assert_eq!(&v[..n], b"hello");
    assert!(
        rustix::fs::getxattr(t.path().join("withx"), "trusted.overlay.redirect", &mut v).is_err()
    );
}

fn pax(key: &[u8], value: &[u8]) -> Vec<u8> {
    let body_len = key.len() + value.len() + 3;
    let mut len = body_len + 2;
    while len != body_len + len.to_string().len() {
        len = body_len + len.to_string().len();
    }
    let mut out = Vec::new();
    write!(out, "{len} ").unwrap();
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

#[test]
fn overlay_whiteout_of_directory_replaces_it() {
    if !is_root() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    apply(&base_layer()[..], t.path(), &ApplyOptions::default()).unwrap();
    let layer = tar_of(|b| raw(b, ".wh.d", EntryType::Regular, None, b"", 0o644));
    apply(
        &layer[..],
        t.path(),
        &ApplyOptions {
            mode: Mode::Overlay,
            ..ApplyOptions::default()
        },
    )
    .unwrap();
    assert!(
        fs_err::symlink_metadata(t.path().join("d"))
            .unwrap()
            .file_type()
            .is_char_device()
    );
}
