//! A service's configuration as the engine's [`RunOptions`]: the `berth run` flags that
//! `docker compose` would pass for container `number` of the service.

use std::collections::BTreeSet;

use berth_engine::containers::{Healthcheck as EngineHealth, RunOptions};

use crate::load::Project;
use crate::model::{Healthcheck, Mount, MountType, Port, Service};
use crate::plan::{Plan, ServicePlan};

fn nanos(d: Option<crate::model::Duration>) -> i64 {
    d.map_or(0, |d| i64::try_from(d.0.as_nanos()).unwrap_or(i64::MAX))
}

/// Compose's `healthcheck:` in Docker's engine shape.
pub fn healthcheck(h: &Healthcheck) -> EngineHealth {
    let test = if h.disable {
        vec!["NONE".to_string()]
    } else {
        h.test.clone().unwrap_or_default()
    };
    EngineHealth {
        test,
        interval: nanos(h.interval),
        timeout: nanos(h.timeout),
        start_period: nanos(h.start_period),
        start_interval: nanos(h.start_interval),
        retries: h.retries.map_or(0, i64::from),
    }
}

/// The engine-side name of a volume key (`data` → `shop_data`); unknown keys pass through.
fn volume_name(project: &Project, key: &str) -> String {
    project
        .model
        .volumes
        .get(key)
        .and_then(|v| v.name.clone())
        .unwrap_or_else(|| key.to_string())
}

/// The engine-side name of a network key (`default` → `shop_default`).
pub(crate) fn network_name(project: &Project, key: &str) -> String {
    project
        .model
        .networks
        .get(key)
        .and_then(|n| n.name.clone())
        .unwrap_or_else(|| format!("{}_{key}", project.name))
}

/// One mount as a `--mount` value.
fn mount(project: &Project, m: &Mount) -> Option<String> {
    let mut parts = Vec::new();
    match m.kind {
        MountType::Volume => {
            parts.push("type=volume".to_string());
            if let Some(src) = &m.source {
                parts.push(format!("source={}", volume_name(project, src)));
            }
        }
        MountType::Bind => {
            parts.push("type=bind".to_string());
            parts.push(format!("source={}", m.source.clone().unwrap_or_default()));
        }
        MountType::Tmpfs => {
            parts.push("type=tmpfs".to_string());
            if let Some(size) = m.tmpfs.as_ref().and_then(|t| t.size) {
                parts.push(format!("tmpfs-size={}", size.0));
            }
            if let Some(mode) = m.tmpfs.as_ref().and_then(|t| t.mode) {
                parts.push(format!("tmpfs-mode={mode:o}"));
            }
        }
        // The engine refuses these kinds; pass them so that its error names them.
        MountType::Npipe | MountType::Cluster | MountType::Image => {
            parts.push(format!("type={:?}", m.kind).to_lowercase());
        }
    }
    parts.push(format!("target={}", m.target));
    if m.read_only {
        parts.push("readonly".to_string());
    }
    Some(parts.join(","))
}

/// Mounts the anonymous volumes of a replaced container, `(target, volume)`, where the new
/// container would get an anonymous volume again: its own anonymous `volumes:` entries
/// take the old volume's name, and targets no mount covers (an image's `VOLUME`) get a
/// volume mount. A target the new configuration binds, names or mounts a tmpfs on keeps
/// its new source.
pub fn inherit_volumes(o: &mut RunOptions, inherit: &[(String, String)]) {
    let target_of = |m: &str| {
        m.split(',')
            .find_map(|kv| {
                kv.strip_prefix("target=")
                    .or_else(|| kv.strip_prefix("dst="))
            })
            .map(str::to_string)
    };
    let mut covered: BTreeSet<String> = BTreeSet::new();
    for m in &mut o.mounts {
        let Some(target) = target_of(m) else { continue };
        let anonymous = m.split(',').any(|kv| kv == "type=volume")
            && !m
                .split(',')
                .any(|kv| kv.starts_with("source=") || kv.starts_with("src="));
        if anonymous && let Some((_, name)) = inherit.iter().find(|(t, _)| *t == target) {
            *m = format!("source={name},{m}");
        }
        covered.insert(target);
    }
    covered.extend(
        o.tmpfs
            .iter()
            .map(|t| t.split(':').next().unwrap_or(t).to_string()),
    );
    covered.extend(o.volumes.iter().filter_map(|v| {
        let mut parts = v.split(':');
        let first = parts.next()?;
        Some(parts.next().unwrap_or(first).to_string())
    }));
    for (target, name) in inherit {
        if !covered.contains(target) {
            o.mounts
                .push(format!("type=volume,source={name},target={target}"));
        }
    }
}

/// One port as a `-p` value (`[ip:][published:]target/proto`).
fn publish(p: &Port) -> Option<String> {
    let proto = p.protocol.as_deref().unwrap_or("tcp");
    let target = format!("{}/{proto}", p.target);
    // An IPv6 host address goes in brackets, as `-p` writes it (`[::1]:8080:80`).
    let host_ip = p.host_ip.as_ref().map(|ip| match ip.contains(':') {
        true if !ip.starts_with('[') => format!("[{ip}]"),
        _ => ip.clone(),
    });
    Some(match (&host_ip, &p.published) {
        (Some(ip), Some(published)) => format!("{ip}:{published}:{target}"),
        (Some(ip), None) => format!("{ip}::{target}"),
        (None, Some(published)) => format!("{published}:{target}"),
        (None, None) => target,
    })
}

fn network_mode(plan: &Plan, s: &Service) -> Option<String> {
    let mode = s.network_mode.as_deref()?;
    Some(match mode.strip_prefix("service:") {
        Some(svc) => {
            let sp = plan.service(svc);
            let name = sp.map_or_else(
                || format!("{}-{svc}-1", plan.project),
                |sp| plan.container_name(sp, 1),
            );
            format!("container:{name}")
        }
        None => mode.to_string(),
    })
}

/// The networks the service joins, in the order they are connected: highest `priority`
/// first, then by key. The first one is given at create time, the others connected after.
pub fn networks(project: &Project, sp: &ServicePlan) -> Vec<(String, Vec<String>, Option<String>)> {
    let mut nets: Vec<_> = sp.service.networks.iter().collect();
    nets.sort_by_key(|(key, n)| {
        (
            std::cmp::Reverse(n.as_ref().and_then(|n| n.priority).unwrap_or(0)),
            (*key).clone(),
        )
    });
    nets.into_iter()
        .map(|(key, n)| {
            let mut aliases = vec![sp.name.clone()];
            if let Some(n) = n {
                aliases.extend(n.aliases.iter().cloned());
            }
            let ip = n.as_ref().and_then(|n| n.ipv4_address.clone());
            (network_name(project, key), aliases, ip)
        })
        .collect()
}

/// The engine options of container `name` of service `sp`.
pub fn run_options(
    project: &Project,
    plan: &Plan,
    sp: &ServicePlan,
    name: &str,
    labels: &std::collections::BTreeMap<String, String>,
) -> RunOptions {
    let s = &sp.service;
    let mut o = RunOptions {
        name: Some(name.to_string()),
        interactive: s.stdin_open.unwrap_or(false),
        tty: s.tty.unwrap_or(false),
        init: s.init.unwrap_or(false),
        user: s.user.clone(),
        workdir: s.working_dir.clone(),
        hostname: s.hostname.clone(),
        read_only: s.read_only.unwrap_or(false),
        tmpfs: s.tmpfs.clone(),
        cap_add: s.cap_add.clone(),
        cap_drop: s.cap_drop.clone(),
        privileged: s.privileged,
        restart: s.restart.clone(),
        stop_signal: s.stop_signal.clone(),
        stop_timeout: s
            .stop_grace_period
            .map(|d| i64::try_from(d.0.as_secs()).unwrap_or(i64::MAX)),
        expose: s.expose.clone(),
        dns: s.dns.clone(),
        healthcheck: s.healthcheck.as_ref().map(healthcheck),
        ..Default::default()
    };
    o.env = s
        .environment
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
    o.labels = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    // `--entrypoint` takes one word; the rest of a list entrypoint leads the command, which
    // is exactly what the kernel sees either way.
    match &s.entrypoint {
        Some(ep) => {
            o.entrypoint = Some(ep.first().cloned().unwrap_or_default());
            o.cmd = ep.iter().skip(1).cloned().collect();
            o.cmd.extend(s.command.clone().unwrap_or_default());
        }
        None => o.cmd = s.command.clone().unwrap_or_default(),
    }
    if let Some(limits) = s
        .deploy
        .as_ref()
        .and_then(|d| d.resources.as_ref())
        .and_then(|r| r.limits.as_ref())
    {
        o.memory = limits
            .memory
            .map(|m| i64::try_from(m.0).unwrap_or(i64::MAX));
        o.nano_cpus = limits.cpus.map(|c| (c * 1e9) as i64);
        o.pids_limit = limits.pids;
    }
    super::kernel::apply(plan, s, &mut o);
    o.mounts = s.volumes.iter().filter_map(|m| mount(project, m)).collect();
    o.publish = s.ports.iter().filter_map(publish).collect();
    o.add_hosts = s
        .extra_hosts
        .iter()
        .map(|h| match h.split_once('=') {
            Some((host, ip)) => format!("{host}:{ip}"),
            None => h.clone(),
        })
        .collect();
    match network_mode(plan, s) {
        Some(mode) => o.network = Some(mode),
        None => {
            if let Some((net, aliases, ip)) = networks(project, sp).into_iter().next() {
                o.network = Some(net);
                o.network_aliases = aliases;
                o.ip = ip;
            }
        }
    }
    o
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::find::ProjectSources;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    /// A project loaded from one `compose.yaml` text under /srv/shop.
    pub(in crate::run) fn project(yaml: &str) -> Project {
        let sources = ProjectSources {
            files: vec![PathBuf::from("/srv/shop/compose.yaml")],
            project_dir: PathBuf::from("/srv/shop"),
            environment: BTreeMap::new(),
            profiles: Vec::new(),
            name_override: None,
        };
        crate::load::load_texts(&sources, &[("compose.yaml".into(), yaml.into())]).unwrap()
    }

    #[test]
    fn service_becomes_engine_flags() {
        let p = project(
            "services:
  api:
    image: busybox
    entrypoint: [sh, -c]
    command: [\"echo hi\"]
    environment: {A: \"1\"}
    ports: [\"127.0.0.1:8080:80\", \"[::1]:8081:81\"]
    volumes: [\"data:/data:ro\", \"./src:/src\"]
    networks:
      back: {aliases: [backend]}
    healthcheck: {test: \"true\", interval: 2s, retries: 5}
    deploy: {resources: {limits: {memory: 64m, cpus: '0.5'}}}
networks: {back: {}}
volumes: {data: {}}
",
        );
        let plan = crate::plan::plan(&p, &Default::default()).unwrap();
        let sp = &plan.services[0];
        let labels = plan.container_labels(sp, 1, false);
        let o = run_options(&p, &plan, sp, "shop-api-1", &labels);
        assert_eq!(o.name.as_deref(), Some("shop-api-1"));
        assert_eq!(o.entrypoint.as_deref(), Some("sh"));
        assert_eq!(o.cmd, vec!["-c", "echo hi"]);
        assert_eq!(o.env, vec!["A=1"]);
        assert_eq!(
            o.publish,
            vec!["127.0.0.1:8080:80/tcp", "[::1]:8081:81/tcp"],
            "an IPv6 host address in brackets, as -p takes it"
        );
        assert_eq!(
            o.mounts,
            vec![
                "type=volume,source=shop_data,target=/data,readonly",
                "type=bind,source=/srv/shop/src,target=/src"
            ]
        );
        assert_eq!(o.network.as_deref(), Some("shop_back"));
        assert_eq!(o.network_aliases, vec!["api", "backend"]);
        assert_eq!(o.memory, Some(64 * 1024 * 1024));
        assert_eq!(o.nano_cpus, Some(500_000_000));
        let h = o.healthcheck.unwrap();
        assert_eq!(h.test, vec!["CMD-SHELL", "true"]);
        assert_eq!(h.interval, 2_000_000_000);
        assert_eq!(h.retries, 5);
        assert!(
            o.labels
                .contains(&"com.docker.compose.service=api".to_string())
        );
    }

    #[test]
    fn disabled_healthcheck_is_none() {
        let h = healthcheck(&Healthcheck {
            disable: true,
            ..Default::default()
        });
        assert_eq!(h.test, vec!["NONE"]);
    }

    #[test]
    fn replaced_containers_anonymous_volumes_are_inherited() {
        let mut o = RunOptions {
            mounts: vec![
                "type=volume,target=/cache".into(),
                "type=bind,source=/srv,target=/srv".into(),
            ],
            tmpfs: vec!["/run:size=1m".into()],
            ..Default::default()
        };
        let inherit = [
            ("/cache".to_string(), "aaa".to_string()),
            ("/srv".to_string(), "bbb".to_string()),
            ("/run".to_string(), "ccc".to_string()),
            ("/var/lib/db".to_string(), "ddd".to_string()),
        ];
        inherit_volumes(&mut o, &inherit);
        assert_eq!(
            o.mounts,
            [
                "source=aaa,type=volume,target=/cache",
                "type=bind,source=/srv,target=/srv",
                "type=volume,source=ddd,target=/var/lib/db",
            ]
        );
    }
}
