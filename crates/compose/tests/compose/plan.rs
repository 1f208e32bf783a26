//! Planning: order, names, labels, and convergence decisions.

use std::collections::{BTreeMap, BTreeSet};

use berth_compose::converge::{
    Change, ContainerAction, ConvergeOptions, ExistingContainer, converge,
};
use berth_compose::model::Condition;
use berth_compose::plan::{self, Plan, PlanOptions, config_hash};

use crate::common::{project, try_project};

const APP: &str = "services:
  web:
    image: nginx
    depends_on:
      api:
        condition: service_healthy
        restart: true
    ports: [\"8080:80\"]
  api:
    build: ./api
    depends_on: [db, cache]
    environment: {DB: db}
  db:
    image: postgres
    volumes: [data:/var/lib/postgresql/data]
  cache:
    image: redis
    deploy:
      replicas: 2
  docs:
    image: docs
    profiles: [docs]
volumes:
  data:
  ext:
    external: true
";

fn app_plan(opts: &PlanOptions) -> Plan {
    plan::plan(&project(APP), opts).unwrap()
}

fn names(plan: &Plan) -> Vec<&str> {
    plan.services.iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn start_and_stop_order() {
    let p = app_plan(&PlanOptions::default());
    assert_eq!(names(&p), vec!["cache", "db", "api", "web"]);
    assert_eq!(p.stop_order(), vec!["web", "api", "db", "cache"]);
    // Independent services share a level: they start (and stop) at the same time.
    assert_eq!(
        p.levels(),
        vec![vec!["cache", "db"], vec!["api"], vec!["web"]]
    );
    assert_eq!(p.waits_for("web", Condition::ServiceHealthy), vec!["api"]);
    assert_eq!(
        p.waits_for("api", Condition::ServiceStarted),
        vec!["cache", "db"]
    );
}

#[test]
fn levels_of_a_diamond_and_of_a_partial_plan() {
    let p = plan::plan(
        &project(
            "services:
  a: {image: x, depends_on: [b, c]}
  b: {image: x, depends_on: [d]}
  c: {image: x}
  d: {image: x}
  e: {image: x}
",
        ),
        &PlanOptions::default(),
    )
    .unwrap();
    assert_eq!(p.levels(), vec![vec!["c", "d", "e"], vec!["b"], vec!["a"]]);
    // With --no-deps, a dependency outside the plan does not lift a service's level.
    let p = plan::plan(
        &project("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x}\n"),
        &PlanOptions {
            services: vec!["a".into()],
            no_deps: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(p.levels(), vec![vec!["a"]]);
}

#[test]
fn selection_adds_dependencies_unless_no_deps() {
    let p = app_plan(&PlanOptions {
        services: vec!["api".into()],
        ..PlanOptions::default()
    });
    assert_eq!(names(&p), vec!["cache", "db", "api"]);
    let p = app_plan(&PlanOptions {
        services: vec!["web".into()],
        no_deps: true,
        ..PlanOptions::default()
    });
    assert_eq!(names(&p), vec!["web"]);
    assert!(p.services[0].depends_on.is_empty());
    // A service named explicitly is planned even when its profile is off.
    let p = app_plan(&PlanOptions {
        services: vec!["docs".into()],
        ..PlanOptions::default()
    });
    assert_eq!(names(&p), vec!["docs"]);
    let err = plan::plan(
        &project(APP),
        &PlanOptions {
            services: vec!["nope".into()],
            ..PlanOptions::default()
        },
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no such service: nope\nhint: defined services: api, cache, db, docs, web"
    );
}

#[test]
fn names_and_labels() {
    let p = app_plan(&PlanOptions {
        scale: BTreeMap::from([("web".to_string(), 3)]),
        ..PlanOptions::default()
    });
    let web = p.service("web").unwrap();
    assert_eq!(web.replicas, 3);
    assert_eq!(p.service("cache").unwrap().replicas, 2);
    assert_eq!(p.container_name(web, 2), "demo-web-2");
    let labels = p.container_labels(web, 2, false);
    let want: BTreeMap<String, String> = [
        ("com.docker.compose.config-hash", web.config_hash.as_str()),
        ("com.docker.compose.container-number", "2"),
        ("com.docker.compose.depends_on", "api:service_healthy:true"),
        ("com.docker.compose.oneoff", "False"),
        ("com.docker.compose.project", "demo"),
        (
            "com.docker.compose.project.config_files",
            "/srv/demo/compose.yaml",
        ),
        ("com.docker.compose.project.working_dir", "/srv/demo"),
        ("com.docker.compose.service", "web"),
        ("com.docker.compose.version", plan::VERSION),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(labels, want);
    assert_eq!(web.config_hash.len(), 64);

    let nets: Vec<(&str, &str)> = p
        .networks
        .iter()
        .map(|n| (n.key.as_str(), n.name.as_str()))
        .collect();
    assert_eq!(nets, vec![("default", "demo_default")]);
    assert_eq!(
        p.networks[0].labels["com.docker.compose.network"],
        "default"
    );
    assert_eq!(p.networks[0].labels["com.docker.compose.project"], "demo");
    let vols: Vec<(&str, &str, bool)> = p
        .volumes
        .iter()
        .map(|v| (v.key.as_str(), v.name.as_str(), v.external))
        .collect();
    assert_eq!(vols, vec![("data", "demo_data", false)]);
    assert_eq!(p.volumes[0].labels["com.docker.compose.volume"], "data");
}

#[test]
fn fixed_container_name_and_external_volume() {
    let p = plan::plan(
        &project("services:\n  s:\n    image: x\n    container_name: fixed\n    volumes: [ext:/e]\nvolumes:\n  ext:\n    external: true\n"),
        &PlanOptions::default(),
    )
    .unwrap();
    assert_eq!(p.container_name(&p.services[0], 1), "fixed");
    assert_eq!(p.volumes[0].name, "ext");
    assert!(p.volumes[0].external && p.volumes[0].labels.is_empty());
}

#[test]
fn config_hash_ignores_scale_build_and_pull_policy() {
    let base = project("services:\n  s:\n    image: x\n    environment: {A: '1'}\n");
    let scaled = project(
        "services:\n  s:\n    image: x\n    environment: {A: '1'}\n    scale: 4\n    pull_policy: always\n    build: .\n",
    );
    let changed = project("services:\n  s:\n    image: x\n    environment: {A: '2'}\n");
    let h = |p: &berth_compose::load::Project| config_hash(&p.model.services["s"]);
    assert_eq!(h(&base), h(&scaled));
    assert_ne!(h(&base), h(&changed));
    // Same config, same hash (deterministic).
    assert_eq!(
        h(&base),
        h(&project(
            "services:\n  s:\n    environment: [A=1]\n    image: x\n"
        ))
    );
}

fn existing(plan: &Plan, service: &str, number: u32, running: bool) -> ExistingContainer {
    let sp = plan.service(service).unwrap();
    ExistingContainer {
        name: plan.container_name(sp, number),
        labels: plan.container_labels(sp, number, false),
        running,
    }
}

fn all_services() -> BTreeSet<String> {
    ["web", "api", "db", "cache", "docs"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn changes(c: &berth_compose::converge::Convergence) -> Vec<(&str, Change)> {
    c.services
        .iter()
        .map(|s| (s.service.as_str(), s.change))
        .collect()
}

#[test]
fn fresh_project_creates_everything() {
    let p = app_plan(&PlanOptions::default());
    let c = converge(&p, &[], &all_services(), ConvergeOptions::default());
    assert_eq!(
        changes(&c),
        vec![
            ("cache", Change::Create),
            ("db", Change::Create),
            ("api", Change::Create),
            ("web", Change::Create)
        ]
    );
    assert_eq!(
        c.services[0].actions,
        vec![
            ContainerAction::Create {
                number: 1,
                name: "demo-cache-1".into()
            },
            ContainerAction::Create {
                number: 2,
                name: "demo-cache-2".into()
            },
        ]
    );
}

#[test]
fn only_changed_services_are_recreated() {
    let old = app_plan(&PlanOptions::default());
    let mut current = vec![
        existing(&old, "cache", 1, true),
        existing(&old, "cache", 2, true),
        existing(&old, "db", 1, false),
        existing(&old, "api", 1, true),
        existing(&old, "web", 1, true),
        // Another project's container and a one-off container are ignored.
        ExistingContainer {
            name: "other-web-1".into(),
            labels: BTreeMap::from([
                ("com.docker.compose.project".into(), "other".into()),
                ("com.docker.compose.service".into(), "web".into()),
            ]),
            running: true,
        },
    ];
    let mut oneoff = existing(&old, "api", 7, false);
    oneoff
        .labels
        .insert("com.docker.compose.oneoff".into(), "True".into());
    current.push(oneoff);

    let changed = project(&APP.replace("{DB: db}", "{DB: db2}"));
    let new = plan::plan(&changed, &PlanOptions::default()).unwrap();
    let c = converge(&new, &current, &all_services(), ConvergeOptions::default());
    assert_eq!(
        changes(&c),
        vec![
            ("cache", Change::Unchanged),
            ("db", Change::Start),
            ("api", Change::Recreate),
            ("web", Change::Restart)
        ]
    );
    assert_eq!(
        c.services[2].actions,
        vec![ContainerAction::Recreate {
            number: 1,
            existing: "demo-api-1".into(),
            name: "demo-api-1".into()
        }]
    );
    assert_eq!(
        c.services[3].actions,
        vec![ContainerAction::Restart {
            existing: "demo-web-1".into()
        }]
    );
    assert!(c.orphans.is_empty());

    // --no-recreate keeps the stale container; --force-recreate replaces even fresh ones.
    let c = converge(
        &new,
        &current,
        &all_services(),
        ConvergeOptions {
            no_recreate: true,
            ..ConvergeOptions::default()
        },
    );
    assert_eq!(c.services[2].change, Change::Unchanged);
    let c = converge(
        &old,
        &current,
        &all_services(),
        ConvergeOptions {
            force_recreate: true,
            ..ConvergeOptions::default()
        },
    );
    assert!(
        c.services.iter().all(|s| s.change == Change::Recreate),
        "{c:?}"
    );
}

#[test]
fn scaling_up_and_down() {
    let p = app_plan(&PlanOptions::default());
    let current = vec![
        existing(&p, "cache", 1, true),
        existing(&p, "cache", 2, true),
        existing(&p, "web", 2, true),
    ];
    let up = app_plan(&PlanOptions {
        scale: BTreeMap::from([("cache".to_string(), 3), ("web".to_string(), 2)]),
        ..PlanOptions::default()
    });
    let c = converge(&up, &current, &all_services(), ConvergeOptions::default());
    let cache = &c.services[0];
    assert_eq!(cache.change, Change::ScaleUp);
    assert_eq!(
        cache.actions,
        vec![
            ContainerAction::Keep {
                existing: "demo-cache-1".into()
            },
            ContainerAction::Keep {
                existing: "demo-cache-2".into()
            },
            ContainerAction::Create {
                number: 3,
                name: "demo-cache-3".into()
            },
        ]
    );
    // web-2 exists; the missing one takes the lowest free number.
    let web = c.services.iter().find(|s| s.service == "web").unwrap();
    assert_eq!(
        web.actions,
        vec![
            ContainerAction::Keep {
                existing: "demo-web-2".into()
            },
            ContainerAction::Create {
                number: 1,
                name: "demo-web-1".into()
            },
        ]
    );

    let down = app_plan(&PlanOptions {
        scale: BTreeMap::from([("cache".to_string(), 1)]),
        ..PlanOptions::default()
    });
    let c = converge(&down, &current, &all_services(), ConvergeOptions::default());
    assert_eq!(c.services[0].change, Change::ScaleDown);
    assert_eq!(
        c.services[0].actions,
        vec![
            ContainerAction::Keep {
                existing: "demo-cache-1".into()
            },
            ContainerAction::Remove {
                existing: "demo-cache-2".into()
            },
        ]
    );
}

#[test]
fn orphans_are_containers_of_removed_services() {
    let p = app_plan(&PlanOptions::default());
    let mut gone = existing(&p, "web", 1, true);
    gone.name = "demo-old-1".into();
    gone.labels
        .insert("com.docker.compose.service".into(), "old".into());
    let docs = ExistingContainer {
        name: "demo-docs-1".into(),
        labels: BTreeMap::from([
            ("com.docker.compose.project".into(), "demo".into()),
            ("com.docker.compose.service".into(), "docs".into()),
        ]),
        running: true,
    };
    let c = converge(
        &p,
        &[gone, docs],
        &all_services(),
        ConvergeOptions::default(),
    );
    assert_eq!(c.orphans, vec!["demo-old-1".to_string()]);
}

#[test]
fn profiles_select_services() {
    let p = try_project(APP, &[]).unwrap();
    assert!(!p.is_active("docs"));
    let mut with_docs = p.clone();
    with_docs.profiles = vec!["docs".into()];
    let plan = plan::plan(&with_docs, &PlanOptions::default()).unwrap();
    assert!(plan.service("docs").is_some());
}
