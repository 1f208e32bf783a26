//! Pure planning: which services run in which order, the names and labels of every
//! container, network and volume, and — given the containers that exist — what must be
//! created, recreated, started, scaled or left alone. The engine executes the plan.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::load::Project;
use crate::model::{Condition, Dependency, Service};

/// `com.docker.compose.project`
pub const LABEL_PROJECT: &str = "com.docker.compose.project";
/// `com.docker.compose.service`
pub const LABEL_SERVICE: &str = "com.docker.compose.service";
/// `com.docker.compose.container-number`
pub const LABEL_NUMBER: &str = "com.docker.compose.container-number";
/// `com.docker.compose.config-hash`
pub const LABEL_CONFIG_HASH: &str = "com.docker.compose.config-hash";
/// `com.docker.compose.oneoff`
pub const LABEL_ONEOFF: &str = "com.docker.compose.oneoff";
/// `com.docker.compose.project.config_files`
pub const LABEL_CONFIG_FILES: &str = "com.docker.compose.project.config_files";
/// `com.docker.compose.project.working_dir`
pub const LABEL_WORKING_DIR: &str = "com.docker.compose.project.working_dir";
/// `com.docker.compose.version`
pub const LABEL_VERSION: &str = "com.docker.compose.version";
/// `com.docker.compose.depends_on`
pub const LABEL_DEPENDS_ON: &str = "com.docker.compose.depends_on";
/// `com.docker.compose.network`
pub const LABEL_NETWORK: &str = "com.docker.compose.network";
/// `com.docker.compose.volume`
pub const LABEL_VOLUME: &str = "com.docker.compose.volume";

/// The version berth writes in `com.docker.compose.version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What `up`/`create`/`start` was asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Services named on the command line; empty means all active services.
    pub services: Vec<String>,
    /// `--no-deps`: do not add the named services' dependencies.
    pub no_deps: bool,
    /// `--scale svc=N`.
    pub scale: BTreeMap<String, u32>,
}

/// A network or volume the project uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePlan {
    /// Key in the Compose file (`default`, `data`).
    pub key: String,
    /// Engine-side name (`project_default`, or the external name).
    pub name: String,
    /// Managed outside the project: must exist, is never created or removed.
    pub external: bool,
    /// Labels to create it with (empty for external ones).
    pub labels: BTreeMap<String, String>,
}

/// One service of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePlan {
    /// Service name.
    pub name: String,
    /// The normalized configuration.
    pub service: Service,
    /// sha256 of the configuration that decides whether containers must be recreated.
    pub config_hash: String,
    /// Containers wanted.
    pub replicas: u32,
    /// Dependencies inside the plan, with their conditions.
    pub depends_on: Vec<(String, Dependency)>,
}

/// The ordered plan for a project.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Project name.
    pub project: String,
    /// Services in start order: each after all its dependencies.
    pub services: Vec<ServicePlan>,
    /// Networks used by the planned services.
    pub networks: Vec<ResourcePlan>,
    /// Named volumes used by the planned services.
    pub volumes: Vec<ResourcePlan>,
    labels: BTreeMap<String, String>,
}

/// sha256 (hex) of a service's configuration, leaving out what does not change a container:
/// how the image is built or pulled, the replica count and the dependency list.
pub fn config_hash(service: &Service) -> String {
    let mut s = service.clone();
    s.build = None;
    s.pull_policy = None;
    s.scale = None;
    s.depends_on.clear();
    if let Some(d) = &mut s.deploy {
        d.replicas = None;
    }
    // Serializing a model made of structs and BTreeMaps is deterministic and cannot fail.
    let json = serde_json::to_vec(&s).unwrap_or_default();
    hex::encode(Sha256::digest(json))
}

/// `container_name`, else `project-service-N`.
pub fn container_name(project: &str, service_name: &str, service: &Service, number: u32) -> String {
    service
        .container_name
        .clone()
        .unwrap_or_else(|| format!("{project}-{service_name}-{number}"))
}

/// Orders and sizes the services the options select.
pub fn plan(project: &Project, opts: &PlanOptions) -> Result<Plan> {
    let services = &project.model.services;
    let no_such = |name: &str| Error::NoSuchService {
        service: name.to_string(),
        known: services.keys().cloned().collect::<Vec<_>>().join(", "),
    };
    let mut selected: BTreeSet<String> = BTreeSet::new();
    if opts.services.is_empty() {
        selected.extend(project.active_services().map(|(n, _)| n.clone()));
    } else {
        let mut todo: Vec<String> = Vec::new();
        for name in &opts.services {
            if !services.contains_key(name) {
                return Err(no_such(name));
            }
            todo.push(name.clone());
        }
        while let Some(name) = todo.pop() {
            if !selected.insert(name.clone()) || opts.no_deps {
                continue;
            }
            if let Some(s) = services.get(&name) {
                todo.extend(
                    s.depends_on
                        .keys()
                        .filter(|d| services.contains_key(*d))
                        .cloned(),
                );
            }
        }
    }
    for name in opts.scale.keys() {
        if !services.contains_key(name) {
            return Err(no_such(name));
        }
    }

    // Kahn's algorithm with a sorted ready set: a stable order for a given project.
    let mut pending: BTreeMap<&str, BTreeSet<&str>> = selected
        .iter()
        .map(|name| {
            let deps = services[name]
                .depends_on
                .keys()
                .map(String::as_str)
                .filter(|d| selected.contains(*d))
                .collect();
            (name.as_str(), deps)
        })
        .collect();
    let mut order: Vec<&str> = Vec::new();
    while !pending.is_empty() {
        let ready: Vec<&str> = pending
            .iter()
            .filter(|(_, deps)| deps.is_empty())
            .map(|(n, _)| *n)
            .collect();
        let Some(&next) = ready.first() else {
            // Validation rejects cycles; reaching here means the model was built by hand.
            let name = pending.keys().next().copied().unwrap_or_default();
            return Err(Error::Invalid {
                file: String::new(),
                path: format!("services.{name}.depends_on"),
                message: "dependency cycle".to_string(),
            });
        };
        pending.remove(next);
        for deps in pending.values_mut() {
            deps.remove(next);
        }
        order.push(next);
    }

    let mut labels = BTreeMap::new();
    labels.insert(LABEL_PROJECT.to_string(), project.name.clone());
    labels.insert(LABEL_VERSION.to_string(), VERSION.to_string());
    let mut plan = Plan {
        project: project.name.clone(),
        services: Vec::new(),
        networks: Vec::new(),
        volumes: Vec::new(),
        labels: labels.clone(),
    };
    let mut networks = BTreeSet::new();
    let mut volumes = BTreeSet::new();
    for name in order {
        let service = services[name].clone();
        networks.extend(service.networks.keys().cloned());
        volumes.extend(
            service
                .volumes
                .iter()
                .filter(|m| m.kind == crate::model::MountType::Volume)
                .filter_map(|m| m.source.clone()),
        );
        let depends_on = service
            .depends_on
            .iter()
            .filter(|(d, _)| selected.contains(*d))
            .map(|(d, dep)| (d.clone(), dep.clone()))
            .collect();
        plan.services.push(ServicePlan {
            name: name.to_string(),
            config_hash: config_hash(&service),
            replicas: opts
                .scale
                .get(name)
                .copied()
                .unwrap_or_else(|| service.replicas()),
            depends_on,
            service,
        });
    }
    for key in networks {
        if let Some(n) = project.model.networks.get(&key) {
            let external = n.external.is_external();
            plan.networks.push(resource(
                &key,
                n.name.clone(),
                external,
                LABEL_NETWORK,
                &labels,
                &n.labels,
            ));
        }
    }
    for key in volumes {
        if let Some(v) = project.model.volumes.get(&key) {
            let external = v.external.is_external();
            plan.volumes.push(resource(
                &key,
                v.name.clone(),
                external,
                LABEL_VOLUME,
                &labels,
                &v.labels,
            ));
        }
    }
    plan.labels.insert(
        LABEL_CONFIG_FILES.to_string(),
        project
            .config_files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(","),
    );
    plan.labels.insert(
        LABEL_WORKING_DIR.to_string(),
        project.working_dir.display().to_string(),
    );
    Ok(plan)
}

fn resource(
    key: &str,
    name: Option<String>,
    external: bool,
    kind_label: &str,
    base: &BTreeMap<String, String>,
    own: &BTreeMap<String, String>,
) -> ResourcePlan {
    let mut labels = BTreeMap::new();
    if !external {
        labels.clone_from(own);
        labels.extend(base.clone());
        labels.insert(kind_label.to_string(), key.to_string());
    }
    ResourcePlan {
        key: key.to_string(),
        name: name.unwrap_or_else(|| key.to_string()),
        external,
        labels,
    }
}

impl Plan {
    /// Services in stop order: dependants before their dependencies.
    pub fn stop_order(&self) -> Vec<&str> {
        self.services
            .iter()
            .rev()
            .map(|s| s.name.as_str())
            .collect()
    }

    /// Services grouped by dependency level, in start order: level 0 depends on no planned
    /// service, level n only on services of lower levels. Services of one level are
    /// independent of each other, so they start (and, in reverse, stop) at the same time,
    /// as Docker Compose does.
    pub fn levels(&self) -> Vec<Vec<&str>> {
        let mut level: BTreeMap<&str, usize> = BTreeMap::new();
        // `services` is in start order, so every dependency has its level already.
        for s in &self.services {
            let l = s
                .depends_on
                .iter()
                .filter_map(|(d, _)| level.get(d.as_str()))
                .map(|l| l + 1)
                .max()
                .unwrap_or(0);
            level.insert(s.name.as_str(), l);
        }
        let mut out: Vec<Vec<&str>> = Vec::new();
        for s in &self.services {
            let l = level[s.name.as_str()];
            if out.len() <= l {
                out.resize_with(l + 1, Vec::new);
            }
            out[l].push(s.name.as_str());
        }
        out
    }

    /// A planned service by name.
    pub fn service(&self, name: &str) -> Option<&ServicePlan> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The labels of container `number` of `service`: the user's labels, then the Compose
    /// labels (which win).
    pub fn container_labels(
        &self,
        service: &ServicePlan,
        number: u32,
        oneoff: bool,
    ) -> BTreeMap<String, String> {
        let mut labels = service.service.labels.clone();
        labels.extend(self.labels.clone());
        labels.insert(LABEL_SERVICE.to_string(), service.name.clone());
        labels.insert(LABEL_NUMBER.to_string(), number.to_string());
        labels.insert(LABEL_CONFIG_HASH.to_string(), service.config_hash.clone());
        labels.insert(
            LABEL_ONEOFF.to_string(),
            if oneoff { "True" } else { "False" }.to_string(),
        );
        let deps = service
            .depends_on
            .iter()
            .map(|(d, dep)| format!("{d}:{}:{}", dep.condition.as_str(), dep.restart))
            .collect::<Vec<_>>()
            .join(",");
        labels.insert(LABEL_DEPENDS_ON.to_string(), deps);
        labels
    }

    /// The name of container `number` of `service`.
    pub fn container_name(&self, service: &ServicePlan, number: u32) -> String {
        container_name(&self.project, &service.name, &service.service, number)
    }

    /// Dependencies of `service` that gate its start with `condition`.
    pub fn waits_for(&self, service: &str, condition: Condition) -> Vec<&str> {
        self.service(service)
            .map(|s| {
                s.depends_on
                    .iter()
                    .filter(|(_, d)| d.condition == condition)
                    .map(|(n, _)| n.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }
}
