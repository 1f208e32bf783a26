//! The service keys beyond the basics (limits, namespaces, sysctls, devices, logging,
//! `volumes_from`) as engine options, with Compose's `service:NAME` references turned
//! into the container names of this project.

use berth_engine::containers::RunOptions;
use berth_engine::containers::blkio::{ThrottleDevice, WeightDevice};
use berth_engine::containers::kernel_opts::KernelOptions;

use crate::model::Service;
use crate::plan::Plan;

/// `service:NAME` → `container:<NAME's first container>`; other values unchanged.
fn service_ref(plan: &Plan, value: &str) -> String {
    match value.strip_prefix("service:") {
        Some(svc) => format!("container:{}", first_container(plan, svc)),
        None => value.to_owned(),
    }
}

fn first_container(plan: &Plan, svc: &str) -> String {
    plan.service(svc).map_or_else(
        || format!("{}-{svc}-1", plan.project),
        |sp| plan.container_name(sp, 1),
    )
}

/// Adds the service's limits, namespaces, sysctls, devices, logging and
/// `volumes_from` to `o` (made from the basic keys; `deploy` limits win over the
/// legacy `mem_limit`/`cpus`/`pids_limit` where both are set).
pub(super) fn apply(plan: &Plan, s: &Service, o: &mut RunOptions) {
    let bytes =
        |b: Option<crate::model::ByteSize>| b.map(|b| i64::try_from(b.0).unwrap_or(i64::MAX));
    if o.memory.is_none() {
        o.memory = bytes(s.mem_limit);
    }
    if o.nano_cpus.is_none() {
        #[allow(clippy::cast_possible_truncation)]
        {
            o.nano_cpus = s.cpus.filter(|c| *c > 0.0).map(|c| (c * 1e9) as i64);
        }
    }
    if o.pids_limit.is_none() {
        o.pids_limit = s.pids_limit;
    }
    o.memory_swap = s.memswap_limit;
    o.cpu_shares = s.cpu_shares;
    o.cpuset_cpus.clone_from(&s.cpuset);
    o.ulimits = s
        .ulimits
        .iter()
        .map(|(k, u)| format!("{k}={}:{}", u.soft, u.hard))
        .collect();
    o.devices.clone_from(&s.devices);
    o.group_add.clone_from(&s.group_add);
    o.security_opt.clone_from(&s.security_opt);
    o.dns_search.clone_from(&s.dns_search);
    o.dns_options.clone_from(&s.dns_opt);
    o.mac_address.clone_from(&s.mac_address);
    if let Some(l) = &s.logging {
        o.log_driver.clone_from(&l.driver);
        o.log_opts = l.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
    }
    o.volumes_from = s
        .volumes_from
        .iter()
        .map(|v| match v.strip_prefix("container:") {
            Some(c) => c.to_owned(),
            None => {
                let (svc, mode) = v
                    .split_once(':')
                    .map_or((v.as_str(), None), |(a, b)| (a, Some(b)));
                let name = first_container(plan, svc);
                mode.map_or(name.clone(), |m| format!("{name}:{m}"))
            }
        })
        .collect();
    // On the project's (user-defined) networks a link is an extra name for the other
    // container; its alias defaults to the service's name.
    o.links = s
        .links
        .iter()
        .map(|l| {
            let (svc, alias) = l.split_once(':').unwrap_or((l, l));
            format!("{}:{alias}", first_container(plan, svc))
        })
        .chain(s.external_links.iter().cloned())
        .collect();
    let reservation = s
        .deploy
        .as_ref()
        .and_then(|d| d.resources.as_ref())
        .and_then(|r| r.reservations.as_ref())
        .and_then(|r| r.memory);
    o.kernel = KernelOptions {
        shm_size: bytes(s.shm_size),
        sysctls: s.sysctls.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        pid: s.pid.as_deref().map(|p| service_ref(plan, p)),
        ipc: s.ipc.as_deref().map(|p| service_ref(plan, p)),
        uts: s.uts.clone(),
        cgroupns: s.cgroup.clone(),
        cgroup_parent: s.cgroup_parent.clone(),
        oom_kill_disable: s.oom_kill_disable,
        oom_score_adj: s.oom_score_adj,
        memory_reservation: bytes(s.mem_reservation.or(reservation)),
        memory_swappiness: s.mem_swappiness,
        cpu_period: s.cpu_period,
        cpu_quota: s.cpu_quota,
        cpuset_mems: None,
        blkio_weight: None,
        device_cgroup_rules: s.device_cgroup_rules.clone(),
        domainname: s.domainname.clone(),
        annotations: s
            .annotations
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        cpu_rt_period: s.cpu_rt_period,
        cpu_rt_runtime: s.cpu_rt_runtime,
        ..KernelOptions::default()
    };
    if let Some(b) = &s.blkio_config {
        let k = &mut o.kernel;
        k.blkio_weight = b.weight;
        k.blkio_weight_device = b
            .weight_device
            .iter()
            .map(|w| WeightDevice {
                path: w.path.clone(),
                weight: w.weight,
            })
            .collect();
        let rates = |list: &[crate::model::tuning::BlkioRate]| {
            list.iter()
                .map(|r| ThrottleDevice {
                    path: r.path.clone(),
                    rate: r.rate.0,
                })
                .collect()
        };
        k.device_read_bps = rates(&b.device_read_bps);
        k.device_read_iops = rates(&b.device_read_iops);
        k.device_write_bps = rates(&b.device_write_bps);
        k.device_write_iops = rates(&b.device_write_iops);
    }
    o.host.runtime.clone_from(&s.runtime);
    o.host.storage_opt = s
        .storage_opt
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    #[test]
    fn tuning_keys_become_engine_options() {
        let yaml = "services:
  db:
    image: busybox
    mem_limit: 512m
    memswap_limit: -1
    mem_reservation: 256m
    cpus: 1.5
    shm_size: 256m
    sysctls: {net.core.somaxconn: 1024}
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
    oom_score_adj: -500
    logging: {driver: json-file, options: {max-size: 10m}}
    security_opt: [no-new-privileges]
  app:
    image: busybox
    pid: service:db
    ipc: shareable
    volumes_from: [db:ro]
";
        let p = super::super::spec::tests::project(yaml);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        let plan = crate::plan::plan(&p, &Default::default()).unwrap();
        let db = plan.service("db").unwrap();
        let app = plan.service("app").unwrap();
        // volumes_from and pid service:db make db a dependency of app.
        assert!(app.depends_on.iter().any(|(d, _)| d == "db"));
        let labels = BTreeMap::new();
        let o = super::super::spec::run_options(&p, &plan, db, "shop-db-1", &labels);
        assert_eq!(o.memory, Some(512 * 1024 * 1024));
        assert_eq!(o.memory_swap, Some(-1));
        assert_eq!(o.nano_cpus, Some(1_500_000_000));
        assert_eq!(o.kernel.memory_reservation, Some(256 * 1024 * 1024));
        assert_eq!(o.kernel.shm_size, Some(256 * 1024 * 1024));
        assert_eq!(o.kernel.sysctls, vec!["net.core.somaxconn=1024"]);
        assert_eq!(o.ulimits, vec!["nofile=1024:2048", "nproc=512:512"]);
        assert_eq!(o.kernel.oom_score_adj, Some(-500));
        assert_eq!(o.log_driver.as_deref(), Some("json-file"));
        assert_eq!(o.log_opts, vec!["max-size=10m"]);
        assert_eq!(o.security_opt, vec!["no-new-privileges"]);
        let o = super::super::spec::run_options(&p, &plan, app, "shop-app-1", &labels);
        assert_eq!(o.kernel.pid.as_deref(), Some("container:shop-db-1"));
        assert_eq!(o.kernel.ipc.as_deref(), Some("shareable"));
        assert_eq!(o.volumes_from, vec!["shop-db-1:ro"]);
    }

    #[test]
    fn blkio_realtime_runtime_storage_and_links_become_engine_options() {
        let yaml = "services:
  db:
    image: busybox
    blkio_config:
      weight: 300
      weight_device: [{path: /dev/sda, weight: 400}]
      device_write_bps: [{path: /dev/sda, rate: 12mb}]
      device_read_iops: [{path: /dev/sda, rate: 120}]
    cpu_rt_period: 1400us
    cpu_rt_runtime: 400
    runtime: runc
    storage_opt: {Size: 1G}
  app:
    image: busybox
    links: [\"db:database\"]
    external_links: [legacy]
";
        let p = super::super::spec::tests::project(yaml);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        let plan = crate::plan::plan(&p, &Default::default()).unwrap();
        let labels = BTreeMap::new();
        let db = plan.service("db").unwrap();
        let o = super::super::spec::run_options(&p, &plan, db, "shop-db-1", &labels);
        let k = &o.kernel;
        assert_eq!(k.blkio_weight, Some(300));
        assert_eq!(k.blkio_weight_device[0].weight, 400);
        assert_eq!(k.device_write_bps[0].rate, 12 * 1024 * 1024);
        assert_eq!(k.device_read_iops[0].rate, 120);
        assert_eq!((k.cpu_rt_period, k.cpu_rt_runtime), (Some(1400), Some(400)));
        assert_eq!(o.host.runtime.as_deref(), Some("runc"));
        assert_eq!(o.host.storage_opt["size"], "1G");
        let app = plan.service("app").unwrap();
        // links make db a dependency, and name the container with the alias.
        assert!(app.depends_on.iter().any(|(d, _)| d == "db"));
        let o = super::super::spec::run_options(&p, &plan, app, "shop-app-1", &labels);
        assert_eq!(o.links, vec!["shop-db-1:database", "legacy"]);
    }
}
