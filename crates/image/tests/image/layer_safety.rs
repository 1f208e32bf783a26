//! Crafted malicious layers: nothing outside the target may change.

use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};

use berth_image::Error;
use berth_image::layer::{ApplyOptions, apply};
use tar::EntryType;

use crate::layer::{is_root, raw, sandbox, snapshot, tar_of};

#[test]
fn dot_dot_escape_is_refused() {
    let s = sandbox();
    let before = snapshot(&s.outside);
    for name in [
        "../outside/evil",
        "a/../../outside/evil",
        "./../outside/secret",
    ] {
        let t = tar_of(|b| raw(b, name, EntryType::Regular, None, b"pwned", 0o644));
        let err = apply(
            &t[..],
            &s.target,
            &ApplyOptions {
                chown: false,
                ..ApplyOptions::flat()
            },
        )
        .unwrap_err();
        assert!(matches!(err, Error::UnsafeEntry { .. }), "{name}: {err}");
        assert!(
            err.to_string().contains(name) && err.to_string().contains(".."),
            "{err}"
        );
    }
    let t = tar_of(|b| {
        raw(
            b,
            "h",
            EntryType::Link,
            Some("../../outside/secret"),
            b"",
            0o644,
        )
    });
    let err = apply(&t[..], &s.target, &ApplyOptions::flat()).unwrap_err();
    assert!(matches!(err, Error::UnsafeEntry { .. }), "{err}");
    assert_eq!(snapshot(&s.outside), before);
}

#[test]
fn absolute_paths_and_symlinks_stay_inside_the_target() {
    if !is_root() {
        return;
    }
    let s = sandbox();
    let before = snapshot(&s.outside);
    let outside = s.outside.to_str().unwrap().to_owned();
    let inside_rel = outside.trim_start_matches('/').to_owned();
    let up = "../../../../../../../..";
    let layer = tar_of(|b| {
        // The same directory names inside the target as the real outside directory has.
        raw(
            b,
            &format!("{inside_rel}/x/"),
            EntryType::Directory,
            None,
            b"",
            0o755,
        );
        raw(
            b,
            &format!("{inside_rel}/secret"),
            EntryType::Regular,
            None,
            b"inner",
            0o644,
        );
        // An absolute entry path lands under the target.
        raw(b, "/abs/file", EntryType::Regular, None, b"abs", 0o644);
        // A symlink to the real outside directory, then writes "through" it.
        raw(b, "a", EntryType::Symlink, Some(&outside), b"", 0o777);
        raw(b, "a/pwned", EntryType::Regular, None, b"pwned", 0o644);
        raw(b, "a/x/dev", EntryType::Fifo, None, b"", 0o644);
        // A relative symlink climbing far up, then a write through it.
        raw(b, "b", EntryType::Symlink, Some(up), b"", 0o777);
        raw(
            b,
            &format!("b{outside}/pwned2"),
            EntryType::Regular,
            None,
            b"pwned",
            0o644,
        );
        // A symlink to the secret, then a regular file entry of the same name: replaces the
        // link, never writes through it.
        raw(
            b,
            "s",
            EntryType::Symlink,
            Some(&format!("{outside}/secret")),
            b"",
            0o777,
        );
        raw(b, "s", EntryType::Regular, None, b"replaced", 0o644);
        // Whiteouts through the symlinked directory only hide things inside the target.
        raw(b, "a/.wh.secret", EntryType::Regular, None, b"", 0o644);
        raw(b, "a/x/.wh..wh..opq", EntryType::Regular, None, b"", 0o644);
    });
    apply(&layer[..], &s.target, &ApplyOptions::default()).unwrap();
    assert_eq!(
        snapshot(&s.outside),
        before,
        "nothing outside the target may change"
    );
    let inside = s.target.join(&inside_rel);
    assert_eq!(fs_err::read(s.target.join("abs/file")).unwrap(), b"abs");
    assert_eq!(fs_err::read(inside.join("pwned")).unwrap(), b"pwned");
    assert_eq!(fs_err::read(inside.join("pwned2")).unwrap(), b"pwned");
    assert!(
        fs_err::symlink_metadata(inside.join("x/dev"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_eq!(fs_err::read(s.target.join("s")).unwrap(), b"replaced");
    assert_eq!(fs_err::read_link(s.target.join("a")).unwrap(), s.outside);
    // The whiteout for `a/secret` became an overlay whiteout inside the target.
    assert!(
        fs_err::symlink_metadata(inside.join("secret"))
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[test]
fn writing_through_a_symlink_to_a_missing_directory_is_refused() {
    let s = sandbox();
    let before = snapshot(&s.outside);
    let missing = s.outside.join("not-there");
    let layer = tar_of(|b| {
        raw(
            b,
            "c",
            EntryType::Symlink,
            Some(missing.to_str().unwrap()),
            b"",
            0o777,
        );
        raw(b, "c/file", EntryType::Regular, None, b"pwned", 0o644);
    });
    let err = apply(
        &layer[..],
        &s.target,
        &ApplyOptions {
            chown: false,
            ..ApplyOptions::flat()
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::UnsafeEntry { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("symlink whose target is not a directory inside the layer"),
        "{err}"
    );
    assert!(!missing.exists());
    assert_eq!(snapshot(&s.outside), before);
}

#[test]
fn hard_links_cannot_reach_outside() {
    if !is_root() {
        return;
    }
    let s = sandbox();
    let before = snapshot(&s.outside);
    let outside = s.outside.to_str().unwrap().to_owned();
    let cases = [
        tar_of(|b| {
            raw(
                b,
                "h",
                EntryType::Link,
                Some(&format!("{outside}/secret")),
                b"",
                0o644,
            )
        }),
        tar_of(|b| {
            raw(b, "d", EntryType::Symlink, Some(&outside), b"", 0o777);
            raw(b, "h", EntryType::Link, Some("d/secret"), b"", 0o644);
        }),
        tar_of(|b| {
            raw(
                b,
                "up",
                EntryType::Symlink,
                Some("../../../../../../.."),
                b"",
                0o777,
            );
            raw(
                b,
                "h",
                EntryType::Link,
                Some(&format!("up{outside}/secret")),
                b"",
                0o644,
            );
        }),
    ];
    for (i, layer) in cases.iter().enumerate() {
        let t = s.target.join(format!("case{i}"));
        fs_err::create_dir_all(&t).unwrap();
        let err = apply(&layer[..], &t, &ApplyOptions::default()).unwrap_err();
        assert!(err.to_string().contains("No such file"), "case {i}: {err}");
        assert!(!t.join("h").exists(), "case {i}");
    }
    assert_eq!(snapshot(&s.outside), before);
    assert_eq!(
        fs_err::metadata(s.outside.join("secret")).unwrap().nlink(),
        1
    );
}
