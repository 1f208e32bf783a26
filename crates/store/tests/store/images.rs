//! Images: tags, filters, rmi, prune, snapshot reference counting.

use berth_store::{ContainerStatus, Error, ImageFilter, LabelFilter, NewContainer, NewImage};

use crate::common::{hex_id, image, layer, simple_image, store};

const ALPINE: &str = "docker.io/library/alpine:latest";

#[test]
fn tag_moves_atomically_and_old_image_becomes_dangling() {
    let t = store();
    let a = simple_image(&t.store, "a", 1);
    let b = simple_image(&t.store, "b", 2);
    assert_eq!(t.store.tag_image(&a, ALPINE).unwrap(), None);
    assert_eq!(t.store.resolve_image(ALPINE).unwrap(), a);
    assert_eq!(t.store.tag_image(&b, ALPINE).unwrap(), Some(a.clone()));
    assert_eq!(t.store.resolve_image(ALPINE).unwrap(), b);
    let dangling = t
        .store
        .list_images(&ImageFilter {
            dangling: Some(true),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(dangling.iter().map(|i| &i.id).collect::<Vec<_>>(), vec![&a]);
    assert!(dangling[0].tags.is_empty());
    assert_eq!(
        t.store.get_image(ALPINE).unwrap().tags,
        vec![ALPINE.to_owned()]
    );
}

#[test]
fn resolve_by_id_prefix_and_digest() {
    let t = store();
    let a = simple_image(&t.store, "a", 1);
    let hex = a.strip_prefix("sha256:").unwrap();
    assert_eq!(t.store.resolve_image(&hex[..12]).unwrap(), a);
    assert_eq!(t.store.resolve_image(&a).unwrap(), a);
    assert!(matches!(
        t.store.resolve_image("nosuch:tag"),
        Err(Error::ImageNotFound(_))
    ));
    let img = t.store.get_image(&hex[..8]).unwrap();
    assert_eq!(img.config.as_deref(), Some(r#"{"seed":"a"}"#));
    assert_eq!(t.store.image_layers(&a).unwrap().len(), 1);
}

#[test]
fn list_filters_reference_label_before_since() {
    let t = store();
    let a = simple_image(&t.store, "a", 100);
    let b = simple_image(&t.store, "b", 200);
    let mut diffs = Vec::new();
    layer(&t.store, &mut diffs, "c-layer", |_| {});
    let c_cfg = r#"{"c":1}"#.to_owned();
    let c = berth_store::digest::sha256_digest(c_cfg.as_bytes());
    t.store
        .put_image(&NewImage {
            id: c.clone(),
            created: 300,
            os: "linux".into(),
            architecture: "amd64".into(),
            config: c_cfg,
            labels: [("tier".to_owned(), "web".to_owned())].into(),
            layers: vec![berth_store::NewImageLayer {
                diff_id: diffs[0].clone(),
                blob_digest: None,
                media_type: None,
                size: 1,
            }],
            ..Default::default()
        })
        .unwrap();
    t.store.tag_image(&a, ALPINE).unwrap();
    t.store
        .tag_image(&a, "docker.io/library/alpine:3.19")
        .unwrap();
    t.store
        .tag_image(&b, "docker.io/library/busybox:1")
        .unwrap();
    t.store.tag_image(&c, "localhost:5000/team/web:2").unwrap();

    let ids = |f: ImageFilter| -> Vec<String> {
        t.store
            .list_images(&f)
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect()
    };
    assert_eq!(
        ids(ImageFilter::default()),
        vec![c.clone(), b.clone(), a.clone()],
        "newest first"
    );
    let alp = t
        .store
        .list_images(&ImageFilter {
            references: vec!["alpine:3.*".into()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(alp.len(), 1);
    assert_eq!(
        alp[0].tags,
        vec!["docker.io/library/alpine:3.19".to_owned()],
        "only matching tags shown"
    );
    assert_eq!(
        ids(ImageFilter {
            references: vec!["busy*".into()],
            ..Default::default()
        }),
        vec![b.clone()]
    );
    assert_eq!(
        ids(ImageFilter {
            references: vec!["localhost:5000/*/web".into()],
            ..Default::default()
        }),
        vec![c.clone()]
    );
    assert_eq!(
        ids(ImageFilter {
            labels: vec![LabelFilter::parse("tier=web")],
            ..Default::default()
        }),
        vec![c.clone()]
    );
    assert_eq!(
        ids(ImageFilter {
            labels: vec![LabelFilter::parse("tier")],
            ..Default::default()
        }),
        vec![c.clone()]
    );
    assert!(
        ids(ImageFilter {
            labels: vec![LabelFilter::parse("tier=db")],
            ..Default::default()
        })
        .is_empty()
    );
    assert!(matches!(
        t.store.list_images(&ImageFilter {
            before: Some("docker.io/library/nope:1".into()),
            ..Default::default()
        }),
        Err(Error::ImageNotFound(_))
    ));
}

#[test]
fn before_since_resolve_references() {
    let t = store();
    let a = simple_image(&t.store, "a", 100);
    let b = simple_image(&t.store, "b", 200);
    let c = simple_image(&t.store, "c", 300);
    t.store.tag_image(&b, "docker.io/library/b:1").unwrap();
    let ids = |f: ImageFilter| -> Vec<String> {
        t.store
            .list_images(&f)
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect()
    };
    assert_eq!(
        ids(ImageFilter {
            before: Some("docker.io/library/b:1".into()),
            ..Default::default()
        }),
        vec![a]
    );
    assert_eq!(
        ids(ImageFilter {
            since: Some(b.clone()),
            ..Default::default()
        }),
        vec![c]
    );
}

fn container_for(t: &crate::common::TestStore, image: &str, n: usize) -> String {
    let id = hex_id("c0", n);
    t.store
        .create_container(&NewContainer {
            id: id.clone(),
            name: format!("user{n}"),
            image_id: Some(image.to_owned()),
            image_ref: "alpine".into(),
            config: "{}".into(),
            ..Default::default()
        })
        .unwrap();
    id
}

#[test]
fn rmi_refuses_image_used_by_container_unless_forced() {
    let t = store();
    let a = simple_image(&t.store, "a", 1);
    t.store.tag_image(&a, ALPINE).unwrap();
    let cid = container_for(&t, &a, 1);
    let err = t.store.remove_image(ALPINE, false).unwrap_err();
    match &err {
        Error::ImageInUse { containers, .. } => assert_eq!(containers, &vec![cid[..12].to_owned()]),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains(&cid[..12]));
    assert!(err.to_string().contains("\nhint: "));
    // Nothing changed.
    assert_eq!(t.store.resolve_image(ALPINE).unwrap(), a);
    assert!(matches!(
        t.store.remove_image(&a, false),
        Err(Error::ImageInUse { .. })
    ));
    // Forced: untagged, but the image and its snapshot stay for the container.
    let rep = t.store.remove_image(ALPINE, true).unwrap();
    assert_eq!(rep.untagged, vec![ALPINE.to_owned()]);
    assert!(rep.deleted.is_empty());
    let layers = t.store.container_layers(&cid).unwrap();
    assert!(t.store.has_snapshot(&layers[0]).unwrap());
    // Container gone: the image can go, and takes its snapshot with it.
    t.store.remove_container(&cid).unwrap();
    let rep = t.store.remove_image(&a, false).unwrap();
    assert_eq!(rep.deleted, vec![a.clone()]);
    assert_eq!(rep.removed_snapshots, layers);
    assert!(!t.store.has_snapshot(&layers[0]).unwrap());
    let hex = layers[0].strip_prefix("sha256:").unwrap();
    assert!(!t.store.root().join("snapshots").join(hex).exists());
}

#[test]
fn rmi_of_one_tag_only_untags() {
    let t = store();
    let a = simple_image(&t.store, "a", 1);
    t.store.tag_image(&a, ALPINE).unwrap();
    t.store.tag_image(&a, "docker.io/library/alpine:3").unwrap();
    let rep = t.store.remove_image(ALPINE, false).unwrap();
    assert_eq!(rep.untagged, vec![ALPINE.to_owned()]);
    assert!(rep.deleted.is_empty());
    t.store.tag_image(&a, ALPINE).unwrap();
    assert!(
        matches!(t.store.remove_image(&a, false), Err(Error::ImageHasTags { tags, .. }) if tags.len() == 2)
    );
    let rep = t.store.remove_image(&a, true).unwrap();
    assert_eq!(rep.untagged.len(), 2);
    assert_eq!(rep.deleted, vec![a]);
}

#[test]
fn shared_base_layer_survives_removal_of_one_image() {
    let t = store();
    let mut base = Vec::new();
    let base_chain = layer(&t.store, &mut base, "base", |_| {});
    let mut d1 = base.clone();
    layer(&t.store, &mut d1, "one", |_| {});
    let mut d2 = base.clone();
    layer(&t.store, &mut d2, "two", |_| {});
    let i1 = image(&t.store, &d1, "i1", 1);
    let i2 = image(&t.store, &d2, "i2", 2);
    let err = t.store.remove_snapshot(&base_chain).unwrap_err();
    assert!(matches!(err, Error::SnapshotInUse { .. }), "{err}");
    let rep = t.store.remove_image(&i1, false).unwrap();
    assert_eq!(rep.removed_snapshots.len(), 1, "only i1's top layer");
    assert!(t.store.has_snapshot(&base_chain).unwrap());
    let rep = t.store.remove_image(&i2, false).unwrap();
    assert_eq!(rep.removed_snapshots.len(), 2);
    assert!(!t.store.has_snapshot(&base_chain).unwrap());
}

#[test]
fn prune_dangling_then_all_unused() {
    let t = store();
    let tagged = simple_image(&t.store, "tagged", 1);
    let dangling = simple_image(&t.store, "dangling", 2);
    let used = simple_image(&t.store, "used", 3);
    t.store.tag_image(&tagged, ALPINE).unwrap();
    let cid = container_for(&t, &used, 1);
    t.store
        .update_container_state(&cid, |s| {
            s.status = ContainerStatus::Exited;
            Ok(())
        })
        .unwrap();
    let rep = t.store.prune_images(false).unwrap();
    assert_eq!(rep.deleted, vec![dangling.clone()]);
    assert_eq!(rep.removed_snapshots.len(), 1);
    assert!(rep.reclaimed >= 10);
    let left: Vec<String> = t
        .store
        .list_images(&ImageFilter::default())
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(left, vec![used.clone(), tagged.clone()]);
    let rep = t.store.prune_images(true).unwrap();
    assert_eq!(rep.deleted, vec![tagged]);
    assert_eq!(rep.untagged, vec![ALPINE.to_owned()]);
    let left: Vec<String> = t
        .store
        .list_images(&ImageFilter::default())
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(left, vec![used]);
}

#[test]
fn image_needs_committed_snapshots() {
    let t = store();
    let diff = berth_store::digest::sha256_digest(b"never unpacked");
    let err = t
        .store
        .put_image(&NewImage {
            id: berth_store::digest::sha256_digest(b"cfg"),
            os: "linux".into(),
            architecture: "amd64".into(),
            config: "{}".into(),
            layers: vec![berth_store::NewImageLayer {
                diff_id: diff.clone(),
                blob_digest: None,
                media_type: None,
                size: 0,
            }],
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(err, Error::SnapshotNotFound(c) if c == diff));
    assert!(
        t.store
            .list_images(&ImageFilter::default())
            .unwrap()
            .is_empty()
    );
}
