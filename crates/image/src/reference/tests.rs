//! Reference parsing tables.

use super::*;

const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[test]
fn normalization_table() {
    let cases: &[(&str, &str, &str, &str, &str, &str)] = &[
        // input, full, familiar, domain, api host, repository
        (
            "alpine",
            "docker.io/library/alpine:latest",
            "alpine:latest",
            "docker.io",
            "registry-1.docker.io",
            "library/alpine",
        ),
        (
            "alpine:3.10",
            "docker.io/library/alpine:3.10",
            "alpine:3.10",
            "docker.io",
            "registry-1.docker.io",
            "library/alpine",
        ),
        (
            "user/app",
            "docker.io/user/app:latest",
            "user/app:latest",
            "docker.io",
            "registry-1.docker.io",
            "user/app",
        ),
        (
            "user/app:v1",
            "docker.io/user/app:v1",
            "user/app:v1",
            "docker.io",
            "registry-1.docker.io",
            "user/app",
        ),
        (
            "docker.io/library/alpine",
            "docker.io/library/alpine:latest",
            "alpine:latest",
            "docker.io",
            "registry-1.docker.io",
            "library/alpine",
        ),
        (
            "index.docker.io/alpine",
            "docker.io/library/alpine:latest",
            "alpine:latest",
            "docker.io",
            "registry-1.docker.io",
            "library/alpine",
        ),
        (
            "docker.io/library/a/b",
            "docker.io/library/a/b:latest",
            "library/a/b:latest",
            "docker.io",
            "registry-1.docker.io",
            "library/a/b",
        ),
        (
            "localhost:5000/a/b:tag",
            "localhost:5000/a/b:tag",
            "localhost:5000/a/b:tag",
            "localhost:5000",
            "localhost:5000",
            "a/b",
        ),
        (
            "localhost/app",
            "localhost/app:latest",
            "localhost/app:latest",
            "localhost",
            "localhost",
            "app",
        ),
        (
            "host.example.com/app",
            "host.example.com/app:latest",
            "host.example.com/app:latest",
            "host.example.com",
            "host.example.com",
            "app",
        ),
        (
            "127.0.0.1:5000/x",
            "127.0.0.1:5000/x:latest",
            "127.0.0.1:5000/x:latest",
            "127.0.0.1:5000",
            "127.0.0.1:5000",
            "x",
        ),
        (
            "[::1]:5000/x:1",
            "[::1]:5000/x:1",
            "[::1]:5000/x:1",
            "[::1]:5000",
            "[::1]:5000",
            "x",
        ),
        (
            "Example.com/app",
            "Example.com/app:latest",
            "Example.com/app:latest",
            "Example.com",
            "Example.com",
            "app",
        ),
        (
            "Foo/bar",
            "Foo/bar:latest",
            "Foo/bar:latest",
            "Foo",
            "Foo",
            "bar",
        ),
        (
            "ab/e__f/g--h.i_j",
            "docker.io/ab/e__f/g--h.i_j:latest",
            "ab/e__f/g--h.i_j:latest",
            "docker.io",
            "registry-1.docker.io",
            "ab/e__f/g--h.i_j",
        ),
    ];
    for (input, full, familiar, domain, host, repo) in cases {
        let r = Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(r.to_string(), *full, "{input}");
        assert_eq!(r.familiar_name(), *familiar, "{input}");
        assert_eq!(r.domain(), *domain, "{input}");
        assert_eq!(r.registry_host(), *host, "{input}");
        assert_eq!(r.repository(), *repo, "{input}");
    }
}

#[test]
fn digests() {
    let r = Reference::parse(&format!("app@{D}")).unwrap();
    assert_eq!(r.to_string(), format!("docker.io/library/app@{D}"));
    assert_eq!(r.tag(), None);
    assert_eq!(r.digest().unwrap().to_string(), D);
    assert_eq!(r.api_reference(), D);
    assert_eq!(r.familiar_name(), format!("app@{D}"));

    let r = Reference::parse(&format!("app:v2@{D}")).unwrap();
    assert_eq!(r.tag(), Some("v2"));
    assert_eq!(r.to_string(), format!("docker.io/library/app:v2@{D}"));
    assert_eq!(r.api_reference(), D);

    let r = Reference::parse(&format!("localhost:5000/a@{D}")).unwrap();
    assert_eq!(r.domain(), "localhost:5000");
    assert_eq!(r.tag(), None);
}

#[test]
fn bare_name_keeps_no_tag() {
    let r = Reference::parse_normalized_named("alpine").unwrap();
    assert_eq!(r.tag(), None);
    assert_eq!(r.to_string(), "docker.io/library/alpine");
}

#[test]
fn rejections() {
    let long_tag = format!("a:{}", "t".repeat(129));
    let ok_tag = format!("a:{}", "t".repeat(128));
    assert!(Reference::parse(&ok_tag).is_ok());
    let long_name = "a".repeat(256);
    let cases: &[(&str, &str)] = &[
        ("", "at least one component"),
        ("Alpine", "must be lowercase"),
        ("user/App", "must be lowercase"),
        ("localhost:5000/App:tag", "must be lowercase"),
        ("alpine:", "invalid tag format"),
        ("alpine:-x", "invalid tag format"),
        ("alpine:.x", "invalid tag format"),
        ("alpine:a$b", "invalid tag format"),
        (&long_tag, "invalid tag format"),
        (&long_name, "255"),
        ("a..b", "may contain only"),
        ("a___b", "may contain only"),
        ("-a", "may contain only"),
        ("a-", "may contain only"),
        ("a//b", "may contain only"),
        ("a/", "may contain only"),
        ("app@sha256:abc", "invalid digest"),
        (
            "app@md5:d41d8cd98f00b204e9800998ecf8427e",
            "unsupported digest algorithm",
        ),
        ("-host.com/a", "invalid registry host"),
        ("host.com:port/a", "invalid registry host"),
        ("[zz]:5000/a", "invalid registry host"),
        (
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "64-byte hexadecimal",
        ),
        ("a b", "may contain only"),
    ];
    for (input, want) in cases {
        let err = Reference::parse(input).expect_err(input).to_string();
        assert!(
            err.starts_with("invalid reference format"),
            "{input}: {err}"
        );
        assert!(err.contains(want), "{input}: {err} (wanted {want})");
    }
}

#[test]
fn tag_rules() {
    for t in ["latest", "v1.2.3", "_x", "A-b_c.d", "0"] {
        assert!(valid_tag(t), "{t}");
    }
    for t in ["", "-a", ".a", "a/b", "a:b", "a+b"] {
        assert!(!valid_tag(t), "{t}");
    }
}

#[test]
fn with_tag_and_digest() {
    let r = Reference::parse("alpine").unwrap();
    assert_eq!(r.with_tag("3.20").unwrap().familiar_name(), "alpine:3.20");
    assert!(r.with_tag("bad tag").is_err());
    let d = Digest::parse(D).unwrap();
    assert_eq!(
        r.with_digest(d).familiar_name(),
        format!("alpine:latest@{D}")
    );
}
