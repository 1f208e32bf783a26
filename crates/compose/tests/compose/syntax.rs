//! Each key in its short and long syntaxes reads into the same normalized model.

use std::collections::BTreeMap;

use berth_compose::load::parse_file;
use berth_compose::model::{
    ByteSize, ComposeFile, Condition, Duration, External, MountType, Service, ServiceNetwork,
};

use crate::common::project;

fn service(yaml: &str) -> Service {
    let text = format!("services:\n  s:\n{}", indent(yaml));
    let env = BTreeMap::from([("FROM_ENV".to_string(), "env-value".to_string())]);
    let mut warnings = Vec::new();
    let mut model: ComposeFile =
        parse_file(&text, "compose.yaml", &env, &mut warnings).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(warnings, Vec::new(), "for {yaml}");
    model.services.remove("s").unwrap()
}

fn indent(yaml: &str) -> String {
    yaml.lines().map(|l| format!("    {l}\n")).collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn build_short_and_long() {
    let short = service("build: ./dir");
    assert_eq!(short.build.unwrap().context, "./dir");
    let long = service(
        "build:\n  context: ./dir\n  dockerfile: Dockerfile.prod\n  target: prod\n  args: {A: 1, B: null}\n  labels: [team=web]",
    );
    let b = long.build.unwrap();
    assert_eq!(b.dockerfile.as_deref(), Some("Dockerfile.prod"));
    assert_eq!(b.target.as_deref(), Some("prod"));
    assert_eq!(
        b.args,
        BTreeMap::from([("A".into(), Some("1".into())), ("B".into(), None)])
    );
    assert_eq!(b.labels, BTreeMap::from([("team".into(), "web".into())]));
    let list_args = service("build:\n  args:\n    - A=1\n    - B\n")
        .build
        .unwrap();
    assert_eq!(list_args.context, ".");
    assert_eq!(list_args.args, b.args);
}

#[test]
fn command_and_entrypoint() {
    assert_eq!(
        service("command: echo \"hello world\" 'x y'").command,
        Some(strings(&["echo", "hello world", "x y"]))
    );
    assert_eq!(
        service("command: [sh, -c, 'a b']").command,
        Some(strings(&["sh", "-c", "a b"]))
    );
    assert_eq!(
        service("entrypoint: /init --verbose").entrypoint,
        Some(strings(&["/init", "--verbose"]))
    );
    assert_eq!(
        service("entrypoint: [\"/init\"]").entrypoint,
        Some(strings(&["/init"]))
    );
    assert_eq!(service("command: []").command, Some(Vec::new()));
}

#[test]
fn environment_list_and_map() {
    let want = BTreeMap::from([
        ("A".to_string(), Some("1".to_string())),
        ("B".to_string(), Some("x=y".to_string())),
        ("C".to_string(), None),
        ("D".to_string(), Some(String::new())),
    ]);
    assert_eq!(
        service("environment: [A=1, B=x=y, C, D=]").environment,
        want
    );
    assert_eq!(
        service("environment: {A: 1, B: x=y, C: null, D: ''}").environment,
        want
    );
    assert_eq!(
        service("environment:\n  T: true\n  F: 1.5").environment,
        BTreeMap::from([
            ("F".into(), Some("1.5".into())),
            ("T".into(), Some("true".into()))
        ])
    );
}

#[test]
fn env_file_forms() {
    let one = service("env_file: a.env").env_file;
    assert_eq!((one[0].path.as_str(), one[0].required), ("a.env", true));
    let list = service("env_file: [a.env, b.env]").env_file;
    assert_eq!(list.len(), 2);
    let long = service("env_file:\n  - path: c.env\n    required: false").env_file;
    assert_eq!((long[0].path.as_str(), long[0].required), ("c.env", false));
}

#[test]
fn ports_and_expose() {
    let s = service(
        "ports:\n  - \"8080:80\"\n  - 9000\n  - target: 53\n    published: 5353\n    protocol: udp\nexpose: [\"3000\", 4000]",
    );
    assert_eq!(s.ports.len(), 3);
    assert_eq!(
        (s.ports[0].target, s.ports[0].published.as_deref()),
        (80, Some("8080"))
    );
    assert_eq!(
        (s.ports[1].target, s.ports[1].published.as_deref()),
        (9000, None)
    );
    assert_eq!(
        (
            s.ports[2].target,
            s.ports[2].published.as_deref(),
            s.ports[2].protocol.as_deref()
        ),
        (53, Some("5353"), Some("udp"))
    );
    assert_eq!(s.expose, strings(&["3000", "4000"]));
}

#[test]
fn volumes_short_and_long_agree() {
    let short = service("volumes: [\"data:/d:ro\", \"./src:/src\", \"/anon\"]").volumes;
    let long = service(
        "volumes:\n  - {type: volume, source: data, target: /d, read_only: true, volume: {}}\n  - {type: bind, source: ./src, target: /src, bind: {create_host_path: true}}\n  - {type: volume, target: /anon, volume: {}}",
    )
    .volumes;
    assert_eq!(short, long);
    let tmpfs =
        service("volumes:\n  - type: tmpfs\n    target: /t\n    tmpfs: {size: 1048576}").volumes;
    assert_eq!(tmpfs[0].kind, MountType::Tmpfs);
    assert_eq!(
        tmpfs[0].tmpfs.as_ref().unwrap().size,
        Some(ByteSize(1_048_576))
    );
}

#[test]
fn networks_list_and_map() {
    let list = service("networks: [front, back]").networks;
    assert_eq!(
        list,
        BTreeMap::from([("back".into(), None), ("front".into(), None)])
    );
    let map =
        service("networks:\n  front:\n    aliases: [web]\n    ipv4_address: 10.0.0.2\n  back:")
            .networks;
    assert_eq!(
        map["front"],
        Some(ServiceNetwork {
            aliases: strings(&["web"]),
            ipv4_address: Some("10.0.0.2".into()),
            ..ServiceNetwork::default()
        })
    );
    assert_eq!(map["back"], None);
}

#[test]
fn depends_on_list_and_map() {
    let list = service("depends_on: [db]").depends_on;
    assert_eq!(list["db"].condition, Condition::ServiceStarted);
    assert!(list["db"].required && !list["db"].restart);
    let map = service(
        "depends_on:\n  db: {condition: service_healthy, restart: true}\n  init:\n    condition: service_completed_successfully\n    required: false",
    )
    .depends_on;
    assert_eq!(map["db"].condition, Condition::ServiceHealthy);
    assert!(map["db"].restart);
    assert_eq!(
        map["init"].condition,
        Condition::ServiceCompletedSuccessfully
    );
    assert!(!map["init"].required);
}

#[test]
fn healthcheck_forms() {
    let h = service("healthcheck:\n  test: curl -f localhost\n  interval: 1m30s\n  timeout: 10s\n  start_period: 40s\n  start_interval: 5s\n  retries: \"3\"").healthcheck.unwrap();
    assert_eq!(h.test, Some(strings(&["CMD-SHELL", "curl -f localhost"])));
    assert_eq!(h.interval, Duration::parse("90s"));
    assert_eq!(h.timeout.unwrap().0.as_secs(), 10);
    assert_eq!(h.start_period.unwrap().0.as_secs(), 40);
    assert_eq!(h.start_interval.unwrap().0.as_secs(), 5);
    assert_eq!(h.retries, Some(3));
    let cmd = service("healthcheck:\n  test: [CMD, curl, -f, localhost]")
        .healthcheck
        .unwrap();
    assert_eq!(cmd.test, Some(strings(&["CMD", "curl", "-f", "localhost"])));
    let none = service("healthcheck:\n  test: [NONE]").healthcheck.unwrap();
    assert_eq!(none.test, Some(strings(&["NONE"])));
    assert!(
        service("healthcheck:\n  disable: true")
            .healthcheck
            .unwrap()
            .disable
    );
}

#[test]
fn scalar_keys() {
    let s = service(
        "image: nginx\nrestart: unless-stopped\nuser: 1000\nworking_dir: /app\nhostname: h\ninit: true\ntty: \"true\"\nstdin_open: false\nread_only: true\nstop_signal: SIGTERM\nstop_grace_period: 30s\ncontainer_name: c\npull_policy: missing\nplatform: linux/arm64\nscale: 2\nprofiles: [a, b]",
    );
    assert_eq!(s.image.as_deref(), Some("nginx"));
    assert_eq!(s.restart.as_deref(), Some("unless-stopped"));
    assert_eq!(s.user.as_deref(), Some("1000"));
    assert_eq!(s.working_dir.as_deref(), Some("/app"));
    assert_eq!(s.hostname.as_deref(), Some("h"));
    assert_eq!(
        (s.init, s.tty, s.stdin_open, s.read_only),
        (Some(true), Some(true), Some(false), Some(true))
    );
    assert_eq!(s.stop_signal.as_deref(), Some("SIGTERM"));
    assert_eq!(s.stop_grace_period.unwrap().0.as_secs(), 30);
    assert_eq!(s.container_name.as_deref(), Some("c"));
    assert_eq!(s.pull_policy.as_deref(), Some("missing"));
    assert_eq!(s.platform.as_deref(), Some("linux/arm64"));
    assert_eq!((s.scale, s.replicas()), (Some(2), 2));
    assert_eq!(s.profiles, strings(&["a", "b"]));
    assert_eq!(service("restart: no").restart.as_deref(), Some("no"));
    assert_eq!(
        service("restart: on-failure:5").restart.as_deref(),
        Some("on-failure:5")
    );
}

#[test]
fn list_or_string_keys() {
    assert_eq!(service("dns: 8.8.8.8").dns, strings(&["8.8.8.8"]));
    assert_eq!(
        service("dns: [8.8.8.8, 1.1.1.1]").dns,
        strings(&["8.8.8.8", "1.1.1.1"])
    );
    assert_eq!(service("tmpfs: /run").tmpfs, strings(&["/run"]));
    assert_eq!(
        service("tmpfs: [/run, /tmp]").tmpfs,
        strings(&["/run", "/tmp"])
    );
    assert_eq!(
        service("cap_add: [NET_ADMIN]\ncap_drop: [ALL]").cap_drop,
        strings(&["ALL"])
    );
    assert_eq!(
        service("labels: [a=1, b]").labels,
        BTreeMap::from([("a".into(), "1".into()), ("b".into(), String::new())])
    );
    assert_eq!(
        service("labels: {a: 1}").labels,
        BTreeMap::from([("a".into(), "1".into())])
    );
    assert_eq!(
        service("extra_hosts: [\"h:1.2.3.4\"]").extra_hosts,
        strings(&["h=1.2.3.4"])
    );
    assert_eq!(
        service("extra_hosts: {h: 1.2.3.4}").extra_hosts,
        strings(&["h=1.2.3.4"])
    );
}

#[test]
fn deploy_resources() {
    let d = service(
        "deploy:\n  replicas: 2\n  resources:\n    limits: {cpus: '0.5', memory: 512M, pids: 10}\n    reservations: {cpus: 1, memory: 1g}",
    )
    .deploy
    .unwrap();
    assert_eq!(d.replicas, Some(2));
    let r = d.resources.unwrap();
    let limits = r.limits.unwrap();
    assert_eq!(
        (limits.cpus, limits.memory, limits.pids),
        (Some(0.5), Some(ByteSize(536_870_912)), Some(10))
    );
    let res = r.reservations.unwrap();
    assert_eq!((res.cpus, res.memory), (Some(1.0), Some(ByteSize(1 << 30))));
}

#[test]
fn top_level_resources() {
    let p = project(
        "services:\n  s:\n    image: x\n    volumes: [v:/v, ext:/e]\n    networks: [n, default]\nnetworks:\n  n:\n    driver: bridge\n    internal: true\n    ipam:\n      config:\n        - subnet: 10.5.0.0/16\n          gateway: 10.5.0.1\n  outside: {external: true}\nvolumes:\n  v:\n    driver_opts: {type: tmpfs}\n    labels: {a: b}\n  ext:\n    external: true\n    name: real-name\n",
    );
    let m = &p.model;
    assert_eq!(m.networks["n"].name.as_deref(), Some("demo_n"));
    assert!(m.networks["n"].internal);
    assert_eq!(
        m.networks["n"].ipam.as_ref().unwrap().config[0]
            .subnet
            .as_deref(),
        Some("10.5.0.0/16")
    );
    assert_eq!(m.networks["default"].name.as_deref(), Some("demo_default"));
    assert_eq!(m.networks["outside"].name.as_deref(), Some("outside"));
    assert_eq!(m.volumes["v"].name.as_deref(), Some("demo_v"));
    assert_eq!(m.volumes["ext"].name.as_deref(), Some("real-name"));
    assert_eq!(m.volumes["ext"].external, External::Yes);
}

#[test]
fn unknown_keys_warn_with_their_path() {
    let mut warnings = Vec::new();
    parse_file(
        "services:\n  web:\n    image: x\n    imagee: y\n    ports:\n      - target: 80\n        publishd: 8080\n    x-meta: ok\nx-top: 1\nnetworks:\n  n:\n    drivr: bridge\n",
        "compose.yaml",
        &BTreeMap::new(),
        &mut warnings,
    )
    .unwrap();
    let texts: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        texts,
        vec![
            "compose.yaml: services.web.imagee: unknown key, ignored",
            "compose.yaml: services.web.ports[0].publishd: unknown key, ignored",
            "compose.yaml: networks.n.drivr: unknown key, ignored",
        ]
    );
}

#[test]
fn interpolation_applies_before_the_model() {
    let s = service("image: app:${FROM_ENV}\nports: [\"${PORT:-8080}:80\"]\nscale: ${N:-3}");
    assert_eq!(s.image.as_deref(), Some("app:env-value"));
    assert_eq!(s.ports[0].published.as_deref(), Some("8080"));
    assert_eq!(s.scale, Some(3));
}

#[test]
fn yaml_tags_warn() {
    let mut warnings = Vec::new();
    let model = parse_file(
        "services:\n  web:\n    image: x\n    ports: !reset []\n",
        "compose.override.yaml",
        &BTreeMap::new(),
        &mut warnings,
    )
    .unwrap();
    assert!(model.services["web"].ports.is_empty());
    assert_eq!(
        warnings[0].to_string(),
        "compose.override.yaml: services.web.ports: YAML tag !reset is not supported yet, the value is used as written"
    );
}
