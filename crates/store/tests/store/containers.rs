//! Containers, volumes, networks: uniqueness, lookup, filters, state.

use std::sync::{Arc, Mutex};

use berth_store::{
    ContainerFilter, ContainerStatus, Error, LabelFilter, NetworkFilter, NewContainer, NewNetwork,
    NewVolume, VolumeFilter,
};

use crate::common::{hex_id, simple_image, store};

fn new(id: &str, name: &str) -> NewContainer {
    NewContainer {
        id: id.to_owned(),
        name: name.to_owned(),
        image_ref: "alpine".into(),
        config: r#"{"Cmd":["sh"]}"#.into(),
        ..Default::default()
    }
}

#[test]
fn name_conflict_names_the_holder_and_changes_nothing() {
    let t = store();
    let first = hex_id("3f2a", 1);
    t.store.create_container(&new(&first, "/web")).unwrap();
    let err = t
        .store
        .create_container(&new(&hex_id("3f2b", 2), "web"))
        .unwrap_err();
    assert!(
        matches!(&err, Error::ContainerNameInUse { name, id } if name == "web" && id == &first)
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "the container name \"/web\" is already in use by container {first}"
        )),
        "{msg}"
    );
    assert_eq!(
        t.store
            .list_containers(&ContainerFilter::default())
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        t.store.create_container(&new(&first, "other")),
        Err(Error::ContainerIdInUse(_))
    ));
    assert!(matches!(
        t.store.create_container(&new(&hex_id("1", 3), "a")),
        Err(Error::InvalidName { .. })
    ));
    assert!(matches!(
        t.store.create_container(&new("xyz", "okname")),
        Err(Error::InvalidId { .. })
    ));
}

#[test]
fn lookup_by_id_name_and_prefix() {
    let t = store();
    let a = hex_id("abc1", 1);
    let b = hex_id("abc2", 2);
    t.store.create_container(&new(&a, "alpha")).unwrap();
    t.store.create_container(&new(&b, "beta")).unwrap();
    assert_eq!(t.store.resolve_container(&a).unwrap(), a);
    assert_eq!(t.store.resolve_container("alpha").unwrap(), a);
    assert_eq!(t.store.resolve_container("/beta").unwrap(), b);
    assert_eq!(t.store.resolve_container("abc1").unwrap(), a);
    let err = t.store.resolve_container("abc").unwrap_err();
    match &err {
        Error::Ambiguous {
            prefix, matches, ..
        } => {
            assert_eq!(prefix, "abc");
            assert_eq!(matches, &vec![a[..12].to_owned(), b[..12].to_owned()]);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("ambiguous"));
    assert!(matches!(
        t.store.resolve_container("abd"),
        Err(Error::ContainerNotFound(_))
    ));
    assert!(
        matches!(t.store.get_container("gamma"), Err(Error::ContainerNotFound(n)) if n == "gamma")
    );
    let rec = t.store.get_container("alpha").unwrap();
    assert_eq!(rec.config.as_deref(), Some(r#"{"Cmd":["sh"]}"#));
    t.store.rename_container("alpha", "gamma").unwrap();
    assert_eq!(t.store.resolve_container("gamma").unwrap(), a);
    assert!(matches!(
        t.store.rename_container("gamma", "beta"),
        Err(Error::ContainerNameInUse { .. })
    ));
}

#[test]
fn state_updates_are_atomic_and_filterable() {
    let t = store();
    let img = simple_image(&t.store, "img", 1);
    for n in 0..4 {
        let mut c = new(&hex_id("c", n), &format!("c{n}"));
        c.created = Some(n as i64);
        c.image_id = Some(img.clone());
        if n % 2 == 0 {
            c.labels.insert("tier".into(), "web".into());
        }
        t.store.create_container(&c).unwrap();
    }
    t.store
        .update_container_state("c1", |s| {
            s.status = ContainerStatus::Running;
            s.pid = Some(1234);
            Ok(())
        })
        .unwrap();
    t.store
        .update_container_state("c2", |s| {
            s.status = ContainerStatus::Exited;
            s.exit_code = Some(3);
            Ok(())
        })
        .unwrap();
    // A failing update changes nothing.
    let err = t.store.update_container_state("c1", |s| {
        s.status = ContainerStatus::Dead;
        Err(Error::ContainerNotFound("simulated".into()))
    });
    assert!(err.is_err());
    assert_eq!(
        t.store.get_container("c1").unwrap().state.status,
        ContainerStatus::Running
    );

    let names = |f: ContainerFilter| -> Vec<String> {
        t.store
            .list_containers(&f)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect()
    };
    assert_eq!(
        names(ContainerFilter::default()),
        vec!["c3", "c2", "c1", "c0"]
    );
    assert_eq!(
        names(ContainerFilter {
            statuses: vec![ContainerStatus::Running],
            ..Default::default()
        }),
        vec!["c1"]
    );
    assert_eq!(
        names(ContainerFilter {
            exit_codes: vec![3],
            ..Default::default()
        }),
        vec!["c2"]
    );
    assert_eq!(
        names(ContainerFilter {
            labels: vec![LabelFilter::parse("tier=web")],
            ..Default::default()
        }),
        vec!["c2", "c0"]
    );
    assert_eq!(
        names(ContainerFilter {
            names: vec!["2".into(), "3".into()],
            ..Default::default()
        }),
        vec!["c3", "c2"]
    );
    assert_eq!(
        names(ContainerFilter {
            ids: vec![hex_id("c", 1)[..9].to_owned()],
            ..Default::default()
        }),
        vec!["c1"]
    );
    assert_eq!(
        names(ContainerFilter {
            image_ids: vec![img.clone()],
            limit: Some(2),
            ..Default::default()
        }),
        vec!["c3", "c2"]
    );
    let listed = t
        .store
        .list_containers(&ContainerFilter::default())
        .unwrap();
    assert!(
        listed.iter().all(|c| c.config.is_none()),
        "listing skips config"
    );
    assert_eq!(listed[2].state.pid, Some(1234));
}

#[test]
fn listing_1000_containers_is_one_query() {
    let t = store();
    for n in 0..1000 {
        let mut c = new(&hex_id("d", n), &format!("ctr{n}"));
        c.labels.insert("n".into(), n.to_string());
        t.store.create_container(&c).unwrap();
    }
    let statements = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = statements.clone();
    t.store
        .trace_sql(Some(Box::new(move |sql| {
            sink.lock().unwrap().push(sql.to_owned())
        })))
        .unwrap();
    let start = std::time::Instant::now();
    let all = t
        .store
        .list_containers(&ContainerFilter::default())
        .unwrap();
    let elapsed = start.elapsed();
    t.store.trace_sql(None).unwrap();
    assert_eq!(all.len(), 1000);
    let statements = statements.lock().unwrap();
    assert_eq!(statements.len(), 1, "statements run: {statements:?}");
    assert!(statements[0].starts_with("SELECT"));
    eprintln!("listing 1000 containers took {elapsed:?} (debug build)");
}

#[test]
fn volumes_in_use_cannot_be_removed_and_data_survives_container() {
    let t = store();
    let vol = t
        .store
        .create_volume(&NewVolume {
            name: Some("data".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(vol.driver, "local");
    assert_eq!(vol.mountpoint, t.store.root().join("volumes/data/_data"));
    fs_err::write(vol.mountpoint.join("keep"), "x").unwrap();
    // Creating again returns the same volume (Docker does the same).
    assert_eq!(
        t.store
            .create_volume(&NewVolume {
                name: Some("data".into()),
                ..Default::default()
            })
            .unwrap(),
        vol
    );
    let anon = t
        .store
        .create_volume(&NewVolume {
            anonymous: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(anon.name.len(), 64);
    let id = hex_id("e", 1);
    let mut c = new(&id, "user");
    c.volumes = vec!["data".into(), anon.name.clone()];
    t.store.create_container(&c).unwrap();
    let err = t.store.remove_volume("data").unwrap_err();
    assert!(
        matches!(&err, Error::VolumeInUse { containers, .. } if containers == &vec![id[..12].to_owned()])
    );
    let mut expected = vec![("data".to_owned(), false), (anon.name.clone(), true)];
    expected.sort();
    assert_eq!(
        t.store.container_volumes(&id).unwrap(),
        expected,
        "sorted by name"
    );
    let dangling = VolumeFilter {
        dangling: Some(true),
        ..Default::default()
    };
    assert!(t.store.list_volumes(&dangling).unwrap().is_empty());
    t.store.remove_container(&id).unwrap();
    assert_eq!(
        fs_err::read_to_string(vol.mountpoint.join("keep")).unwrap(),
        "x"
    );
    fs_err::write(anon.mountpoint.join("blob"), vec![1u8; 3000]).unwrap();
    // The report counts the bytes the pruned volume held.
    assert_eq!(
        t.store.prune_volumes(false).unwrap(),
        vec![(anon.name.clone(), 3000)]
    );
    assert_eq!(t.store.list_volumes(&dangling).unwrap().len(), 1);
    t.store.remove_volume("data").unwrap();
    assert!(!t.store.root().join("volumes/data").exists());
    assert!(matches!(
        t.store.remove_volume("data"),
        Err(Error::VolumeNotFound(_))
    ));
    let missing = NewContainer {
        volumes: vec!["nope".into()],
        ..new(&hex_id("e", 2), "other")
    };
    assert!(matches!(
        t.store.create_container(&missing),
        Err(Error::VolumeNotFound(_))
    ));
    assert!(
        t.store
            .list_containers(&ContainerFilter::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn networks_are_unique_by_name() {
    let t = store();
    let net = NewNetwork {
        id: hex_id("aa", 1),
        name: "app-net".into(),
        driver: "bridge".into(),
        subnet: Some("172.20.0.0/16".into()),
        gateway: Some("172.20.0.1".into()),
        labels: [("com.docker.compose.project".to_owned(), "demo".to_owned())].into(),
        ..Default::default()
    };
    let rec = t.store.create_network(&net).unwrap();
    assert_eq!(rec.subnet.as_deref(), Some("172.20.0.0/16"));
    let dup = NewNetwork {
        id: hex_id("bb", 2),
        ..net.clone()
    };
    assert!(
        matches!(t.store.create_network(&dup), Err(Error::NetworkNameInUse { id, .. }) if id == net.id)
    );
    assert_eq!(t.store.get_network("app-net").unwrap().id, net.id);
    assert_eq!(t.store.get_network("aa0000").unwrap().id, net.id);
    let by_label = NetworkFilter {
        labels: vec![LabelFilter::parse("com.docker.compose.project=demo")],
        ..Default::default()
    };
    assert_eq!(t.store.list_networks(&by_label).unwrap().len(), 1);
    assert_eq!(t.store.remove_network("app-net").unwrap(), net.id);
    assert!(matches!(
        t.store.get_network("app-net"),
        Err(Error::NetworkNotFound(_))
    ));
}

#[test]
fn state_update_that_changes_nothing_writes_nothing() {
    let t = store();
    t.store
        .create_container(&new(&hex_id("5e", 1), "c1"))
        .unwrap();
    let statements = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = statements.clone();
    t.store
        .trace_sql(Some(Box::new(move |sql| {
            sink.lock().unwrap().push(sql.to_owned())
        })))
        .unwrap();
    let same = t.store.update_container_state("c1", |_| Ok(())).unwrap();
    assert_eq!(same.status, ContainerStatus::Created);
    let updates = |s: &[String]| s.iter().filter(|q| q.starts_with("UPDATE")).count();
    assert_eq!(updates(&statements.lock().unwrap()), 0);
    t.store
        .update_container_state("c1", |s| {
            s.status = ContainerStatus::Running;
            Ok(())
        })
        .unwrap();
    t.store.trace_sql(None).unwrap();
    assert_eq!(updates(&statements.lock().unwrap()), 1);
    assert_eq!(
        t.store.get_container("c1").unwrap().state.status,
        ContainerStatus::Running
    );
}

#[test]
fn closing_keeps_the_wal_and_reopening_sees_every_commit() {
    let t = store();
    t.store
        .create_container(&new(&hex_id("5f", 1), "c1"))
        .unwrap();
    t.store
        .update_container_state("c1", |s| {
            s.status = ContainerStatus::Exited;
            s.exit_code = Some(7);
            Ok(())
        })
        .unwrap();
    let root = t.store.root().to_owned();
    let dir = t.dir;
    drop(t.store);
    // No checkpoint on close: the next process reads the WAL as it is.
    assert!(root.join("berth.db-wal").exists());
    let again = berth_store::Store::open(&root).unwrap();
    let c = again.get_container("c1").unwrap();
    assert_eq!(c.state.status, ContainerStatus::Exited);
    assert_eq!(c.state.exit_code, Some(7));
    drop(again);
    drop(dir);
}

#[test]
fn released_memory_closes_the_connection_and_the_next_call_reopens_it() {
    let t = store();
    let id = hex_id("77aa", 1);
    t.store.create_container(&new(&id, "/keep")).unwrap();
    t.store.release_memory();
    // A read and a write after the close both work, on a reopened connection.
    assert_eq!(t.store.get_container("keep").unwrap().id, id);
    t.store
        .update_container_state(&id, |s| {
            s.status = ContainerStatus::Running;
            Ok(())
        })
        .unwrap();
    t.store.release_memory();
    t.store.release_memory();
    assert_eq!(
        t.store.get_container(&id).unwrap().state.status,
        ContainerStatus::Running
    );
}

#[test]
fn a_listing_can_keep_only_some_state_keys() {
    let t = store();
    let id = hex_id("88bb", 1);
    t.store.create_container(&new(&id, "/lean")).unwrap();
    t.store
        .update_container_state(&id, |s| {
            s.exit_code = Some(3);
            s.extra
                .insert("ports".into(), serde_json::json!([{"HostPort": "80"}]));
            s.extra
                .insert("networks".into(), serde_json::json!([{"NetworkName": "x"}]));
            s.extra.insert("gone".into(), serde_json::Value::Null);
            Ok(())
        })
        .unwrap();
    let all = t
        .store
        .list_containers(&ContainerFilter::default())
        .unwrap();
    assert_eq!(all[0].state.extra.len(), 3, "{:?}", all[0].state.extra);
    let lean = t
        .store
        .list_containers(&ContainerFilter {
            state_keys: Some(vec!["ports".into(), "health".into()]),
            ..Default::default()
        })
        .unwrap();
    let st = &lean[0].state;
    assert_eq!(st.exit_code, Some(3));
    assert_eq!(st.extra.keys().collect::<Vec<_>>(), ["ports"]);
    assert_eq!(st.extra["ports"], all[0].state.extra["ports"]);
}

#[test]
fn a_listing_can_leave_out_configs_containing_a_text() {
    let t = store();
    let (plain, linked) = (hex_id("99cc", 1), hex_id("99cc", 2));
    t.store.create_container(&new(&plain, "/plain")).unwrap();
    let mut n = new(&linked, "/linked");
    n.config = r#"{"links":["db:sql"]}"#.into();
    t.store.create_container(&n).unwrap();
    let listed = |lacks: &str| -> Vec<String> {
        t.store
            .list_containers(&ContainerFilter {
                include_config: true,
                config_lacks: Some(lacks.into()),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect()
    };
    assert_eq!(listed(r#""Cmd""#), ["linked"]);
    assert_eq!(listed(r#""links""#), ["plain"]);
    assert_eq!(listed("nowhere").len(), 2);
}
