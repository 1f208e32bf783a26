//! Pull and push against a real `docker-registry`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use berth_image::manifest::{self, OCI_INDEX, OCI_MANIFEST};
use berth_image::registry::{Client, ClientOptions, DockerConfig, PushOutcome};
use berth_image::{Digest, Error, Platform, Reference};
use berth_testkit::registry::{self, Registry};
use bytes::Bytes;
use tokio::io::AsyncReadExt as _;

use crate::common::proxy::{Behaviour, Proxy};
use crate::common::shared_images;

/// The busybox musl image from the shared OCI layout.
struct TestImage {
    manifest: Vec<u8>,
    config: Vec<u8>,
    config_digest: Digest,
    layer: Vec<u8>,
    layer_digest: Digest,
}

fn busybox() -> Option<TestImage> {
    let dir = shared_images()?.join("busybox-1.38.0/musl");
    let manifest = fs_err::read(dir.join("image-manifest.json")).unwrap();
    let config = fs_err::read(dir.join("image-config.json")).unwrap();
    let layer = fs_err::read(dir.join("rootfs.tar.gz")).unwrap();
    Some(TestImage {
        config_digest: Digest::sha256_of(&config),
        layer_digest: Digest::sha256_of(&layer),
        manifest,
        config,
        layer,
    })
}

fn client() -> Client {
    let opts = ClientOptions {
        backoff: Duration::from_millis(10),
        ..ClientOptions::default()
    };
    Client::new(opts, None).unwrap()
}

async fn push(c: &Client, r: &Reference, img: &TestImage) -> Digest {
    c.push_blob(
        r,
        &img.layer_digest,
        img.layer.len() as u64,
        &img.layer[..],
        None,
    )
    .await
    .unwrap();
    c.push_blob(
        r,
        &img.config_digest,
        img.config.len() as u64,
        &img.config[..],
        None,
    )
    .await
    .unwrap();
    c.put_manifest(r, OCI_MANIFEST, Bytes::from(img.manifest.clone()))
        .await
        .unwrap()
}

fn setup() -> Option<(Registry, TestImage)> {
    if !registry::available() {
        return None;
    }
    let img = busybox()?;
    Some((Registry::start(&[]), img))
}

#[tokio::test]
async fn push_then_pull_round_trip_matches_skopeo() {
    let Some((reg, img)) = setup() else { return };
    let c = client();
    let r = Reference::parse(&format!("{}/test/busybox:musl", reg.host())).unwrap();
    let pushed = push(&c, &r, &img).await;
    assert_eq!(pushed, Digest::sha256_of(&img.manifest));

    // Pushing again finds every blob present.
    let again = c
        .push_blob(
            &r,
            &img.layer_digest,
            img.layer.len() as u64,
            &img.layer[..],
            None,
        )
        .await
        .unwrap();
    assert_eq!(again, PushOutcome::Exists);

    let resolved = c.resolve_image(&r, &Platform::host()).await.unwrap();
    assert_eq!(resolved.digest, pushed);
    assert_eq!(resolved.bytes, img.manifest);
    assert_eq!(resolved.index_digest, None);
    assert_eq!(c.manifest_digest(&r).await.unwrap(), Some(pushed.clone()));
    let config = c
        .fetch_blob_bytes(&r, &img.config_digest, Some(img.config.len() as u64))
        .await
        .unwrap();
    assert_eq!(config, img.config);
    let layer = &resolved.manifest.layers()[0];
    let d = Digest::parse(layer.digest().as_ref()).unwrap();
    let mut got = Vec::new();
    c.fetch_blob(&r, &d, Some(layer.size()))
        .await
        .unwrap()
        .read_to_end(&mut got)
        .await
        .unwrap();
    assert_eq!(got, img.layer);

    // Pinned by digest.
    let pinned = Reference::parse(&format!("{}/test/busybox@{pushed}", reg.host())).unwrap();
    assert_eq!(c.resolve_manifest(&pinned).await.unwrap().digest, pushed);
    assert_eq!(c.list_tags(&r).await.unwrap(), vec!["musl".to_owned()]);
    assert_eq!(
        c.search(&reg.host(), "busy").await.unwrap(),
        vec!["test/busybox".to_owned()]
    );
    assert!(
        c.blob_exists(&r, &Digest::sha256_of(b"nope"))
            .await
            .unwrap()
            .is_none()
    );
    let missing = Reference::parse(&format!("{}/test/busybox:nope", reg.host())).unwrap();
    assert!(matches!(
        c.resolve_manifest(&missing).await,
        Err(Error::NotFound { .. })
    ));

    // A peer client reads what we pushed, with the same layer digests.
    if std::path::Path::new("/usr/bin/skopeo").exists() {
        let out = std::process::Command::new("skopeo")
            .args([
                "inspect",
                "--tls-verify=false",
                &format!("docker://{}/test/busybox:musl", reg.host()),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["Digest"], pushed.to_string());
        assert_eq!(
            v["Layers"],
            serde_json::json!([img.layer_digest.to_string()])
        );
    } else {
        eprintln!("skopeo missing (apt-get install skopeo): peer check skipped");
    }
}

#[tokio::test]
async fn chunked_upload_and_cross_repository_mount() {
    let Some((reg, img)) = setup() else { return };
    let opts = ClientOptions {
        chunk_size: 100_000,
        ..ClientOptions::default()
    };
    let c = Client::new(opts, None).unwrap();
    let a = Reference::parse(&format!("{}/team/a:1", reg.host())).unwrap();
    let b = Reference::parse(&format!("{}/team/b:1", reg.host())).unwrap();
    // 886 KB in 100 KB chunks: the PATCH path.
    let out = c
        .push_blob(
            &a,
            &img.layer_digest,
            img.layer.len() as u64,
            &img.layer[..],
            None,
        )
        .await
        .unwrap();
    assert_eq!(out, PushOutcome::Uploaded);
    assert_eq!(
        c.blob_exists(&a, &img.layer_digest).await.unwrap(),
        Some(img.layer.len() as u64)
    );
    assert_eq!(c.blob_exists(&b, &img.layer_digest).await.unwrap(), None);
    let out = c
        .push_blob(
            &b,
            &img.layer_digest,
            img.layer.len() as u64,
            &b"never read"[..],
            Some("team/a"),
        )
        .await
        .unwrap();
    assert_eq!(out, PushOutcome::Mounted);
    assert_eq!(
        c.blob_exists(&b, &img.layer_digest).await.unwrap(),
        Some(img.layer.len() as u64)
    );
    // A mount from a repository without the blob is refused and falls back to upload.
    assert!(
        !c.mount_blob(&b, &img.config_digest, "team/none")
            .await
            .unwrap()
    );
    // Wrong bytes for a digest: the registry refuses the upload.
    let err = c
        .upload_blob(&b, &img.config_digest, 5, &b"wrong"[..])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RegistryStatus { status: 400, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn corrupted_blob_on_registry_disk_is_a_digest_mismatch() {
    let Some((reg, img)) = setup() else { return };
    let c = client();
    let r = Reference::parse(&format!("{}/corrupt/busybox:1", reg.host())).unwrap();
    push(&c, &r, &img).await;
    let data = reg.blob_data_path(img.layer_digest.hex());
    let mut bytes = fs_err::read(&data).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs_err::write(&data, &bytes).unwrap();

    let mut reader = c
        .fetch_blob(&r, &img.layer_digest, Some(img.layer.len() as u64))
        .await
        .unwrap();
    let mut sink = Vec::new();
    let err = reader.read_to_end(&mut sink).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("digest mismatch"), "{msg}");
    assert!(
        msg.contains(&format!("expected {}", img.layer_digest)),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("got {}", Digest::sha256_of(&bytes))),
        "{msg}"
    );
    let err = c
        .fetch_blob_bytes(&r, &img.layer_digest, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
}

#[tokio::test]
async fn manifest_list_platform_choice() {
    let Some((reg, img)) = setup() else { return };
    let c = client();
    let r = Reference::parse(&format!("{}/multi/busybox:amd64", reg.host())).unwrap();
    let digest = push(&c, &r, &img).await;
    let index = |os: &str, arch: &str| {
        serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest.to_string(), "size": img.manifest.len(),
                           "platform": {"os": os, "architecture": arch}}],
        })
        .to_string()
    };
    let other = r.with_tag("s390x-only").unwrap();
    c.put_manifest(&other, OCI_INDEX, Bytes::from(index("linux", "s390x")))
        .await
        .unwrap();
    let err = c
        .resolve_image(&other, &Platform::parse("linux/amd64").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoMatchingPlatform { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("linux/amd64") && msg.contains("available: linux/s390x"),
        "{msg}"
    );

    let good = r.with_tag("list").unwrap();
    let list_digest = c
        .put_manifest(&good, OCI_INDEX, Bytes::from(index("linux", "amd64")))
        .await
        .unwrap();
    let resolved = c
        .resolve_image(&good, &Platform::parse("linux/amd64").unwrap())
        .await
        .unwrap();
    assert_eq!(resolved.digest, digest);
    assert_eq!(resolved.index_digest, Some(list_digest));
    assert_eq!(resolved.kind, manifest::Kind::OciManifest);
}

#[tokio::test]
async fn basic_auth_with_htpasswd_login_and_logout() {
    if !registry::available() {
        return;
    }
    let Some(img) = busybox() else { return };
    let reg = Registry::start(&[("alice", "wonderland")]);
    let host = reg.host();
    let r = Reference::parse(&format!("{host}/private/busybox:1")).unwrap();
    let cfg_dir = tempfile::tempdir().unwrap();
    let opts = ClientOptions {
        backoff: Duration::from_millis(10),
        ..ClientOptions::default()
    };

    let anon = Client::new(opts.clone(), None).unwrap();
    let err = anon.resolve_manifest(&r).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("hint: run `berth login"), "{err}");

    let err = berth_image::registry::login(opts.clone(), cfg_dir.path(), &host, "alice", "wrong")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    assert!(
        !cfg_dir.path().join("config.json").exists(),
        "failed login must not store anything"
    );

    berth_image::registry::login(opts.clone(), cfg_dir.path(), &host, "alice", "wonderland")
        .await
        .unwrap();
    let config = DockerConfig::load(cfg_dir.path()).unwrap();
    let c = Client::new(opts.clone(), Some(config)).unwrap();
    let digest = push(&c, &r, &img).await;
    assert_eq!(c.resolve_manifest(&r).await.unwrap().digest, digest);

    assert!(berth_image::registry::logout(cfg_dir.path(), &host).unwrap());
    let c = Client::new(opts, Some(DockerConfig::load(cfg_dir.path()).unwrap())).unwrap();
    assert!(matches!(
        c.resolve_manifest(&r).await,
        Err(Error::Unauthorized { .. })
    ));
}

#[tokio::test]
async fn server_errors_are_retried_client_errors_are_not() {
    let Some((reg, img)) = setup() else { return };
    let proxy = Proxy::start(reg.addr, Behaviour::default()).await;
    let c = client();
    let direct = Reference::parse(&format!("{}/flaky/busybox:1", reg.host())).unwrap();
    push(&c, &direct, &img).await;

    let r = Reference::parse(&format!("{}/flaky/busybox:1", proxy.host())).unwrap();
    // Warm the scheme probe so the counts below are about retries only.
    c.list_tags(&r).await.unwrap();
    proxy.behaviour.fail_next.store(3, Ordering::SeqCst);
    let before = proxy.seen().len();
    let m = c.resolve_manifest(&r).await.unwrap();
    assert_eq!(m.bytes, img.manifest);
    assert_eq!(
        proxy.seen().len() - before,
        4,
        "three failures and one success: {:?}",
        proxy.seen()
    );

    // Out of retries: the 500 is reported.
    let stingy = Client::new(
        ClientOptions {
            retries: 1,
            backoff: Duration::from_millis(1),
            ..ClientOptions::default()
        },
        None,
    )
    .unwrap();
    stingy.list_tags(&r).await.unwrap();
    proxy.behaviour.fail_next.store(5, Ordering::SeqCst);
    let err = stingy.resolve_manifest(&r).await.unwrap_err();
    assert!(
        matches!(err, Error::RegistryStatus { status: 500, .. }),
        "{err}"
    );
    proxy.behaviour.fail_next.store(0, Ordering::SeqCst);

    // A 404 is final: asked once.
    let missing = r.with_tag("missing").unwrap();
    let before = proxy.seen().len();
    assert!(matches!(
        c.resolve_manifest(&missing).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(proxy.seen().len() - before, 1);
}

#[tokio::test]
async fn anonymous_bearer_token_flow() {
    let Some((reg, img)) = setup() else { return };
    let proxy = Proxy::start(
        reg.addr,
        Behaviour {
            bearer_token: Some("tok-123".into()),
            ..Behaviour::default()
        },
    )
    .await;
    let c = client();
    let r = Reference::parse(&format!("{}/tokens/busybox:1", proxy.host())).unwrap();
    let digest = push(&c, &r, &img).await;
    assert_eq!(c.resolve_manifest(&r).await.unwrap().digest, digest);
    let reqs = proxy.behaviour.token_requests.lock().unwrap().clone();
    assert!(
        reqs.iter().any(|q| q.contains("service=berth-test")
            && q.contains("scope=repository%3Atokens%2Fbusybox%3Apull%2Cpush")),
        "{reqs:?}"
    );
    assert!(
        reqs.iter().any(
            |q| q.contains("scope=repository%3Atokens%2Fbusybox%3Apull") && !q.contains("push")
        ),
        "{reqs:?}"
    );
}

#[tokio::test]
async fn docker_hub_names_pull_through_a_mirror() {
    let Some((reg, img)) = setup() else { return };
    let c = client();
    let direct = Reference::parse(&format!("{}/library/bbmirror:1", reg.host())).unwrap();
    let digest = push(&c, &direct, &img).await;
    let opts = ClientOptions {
        mirrors: vec![format!("http://{}", reg.host())],
        ..ClientOptions::default()
    };
    let mirrored = Client::new(opts, None).unwrap();
    let r = Reference::parse("bbmirror:1").unwrap();
    let resolved = mirrored.resolve_image(&r, &Platform::host()).await.unwrap();
    assert_eq!(resolved.digest, digest);
    let cfg = mirrored
        .fetch_blob_bytes(&r, &img.config_digest, None)
        .await
        .unwrap();
    assert_eq!(cfg, img.config);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulled_layer_streams_into_apply_with_its_diff_id() {
    let Some((reg, img)) = setup() else { return };
    let c = client();
    let r = Reference::parse(&format!("{}/stream/busybox:1", reg.host())).unwrap();
    push(&c, &r, &img).await;
    let resolved = c.resolve_image(&r, &Platform::host()).await.unwrap();
    let config = c
        .fetch_blob_bytes(&r, &img.config_digest, None)
        .await
        .unwrap();
    let config = manifest::parse_config(&config).unwrap();
    let layer = &resolved.manifest.layers()[0];
    let d = Digest::parse(layer.digest().as_ref()).unwrap();
    let blob = c.fetch_blob(&r, &d, Some(layer.size())).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = berth_image::layer::ApplyOptions {
        chown: false,
        ..Default::default()
    };
    let info = berth_image::layer::apply_async(blob, dir.path().to_path_buf(), opts)
        .await
        .unwrap();
    assert_eq!(info.diff_id.to_string(), config.rootfs().diff_ids()[0]);
    assert!(dir.path().join("bin/busybox").is_file());

    // A corrupted blob fails the apply itself, not just a later check.
    let data = reg.blob_data_path(img.layer_digest.hex());
    let mut bytes = fs_err::read(&data).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    fs_err::write(&data, &bytes).unwrap();
    let blob = c.fetch_blob(&r, &d, Some(layer.size())).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = berth_image::layer::ApplyOptions {
        chown: false,
        ..Default::default()
    };
    let err = berth_image::layer::apply_async(blob, dir.path().to_path_buf(), opts)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains(&img.layer_digest.to_string()),
        "{err}"
    );
}
