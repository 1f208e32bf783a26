//! `up`: images, networks and volumes first, then the containers service by service in
//! `depends_on` order, each service waiting for the conditions of its dependencies.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Duration;

use berth_engine::networks::NetworkOptions;

use super::spec;
use super::{Compose, Kind, Reporter, is_running, parallel, progress, report};
use crate::converge::{ContainerAction, ConvergeOptions, ExistingContainer, converge};
use crate::error::{Error, Result};
use crate::plan::{self, Plan, PlanOptions, ServicePlan};

/// How long a dependant waits for a dependency when nothing else limits it.
const DEPENDENCY_LIMIT: Duration = Duration::from_secs(600);

/// The flags of `up`.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Services named on the command line (empty: all active ones).
    pub services: Vec<String>,
    /// `--no-deps`.
    pub no_deps: bool,
    /// `--scale svc=N`.
    pub scale: BTreeMap<String, u32>,
    /// `--force-recreate`.
    pub force_recreate: bool,
    /// `--no-recreate`.
    pub no_recreate: bool,
    /// `--build`.
    pub build: bool,
    /// `--no-build`.
    pub no_build: bool,
    /// `--remove-orphans`.
    pub remove_orphans: bool,
    /// `create`: make the containers but start none.
    pub no_start: bool,
    /// `--wait`: return once everything runs and is healthy.
    pub wait: bool,
    /// `--wait-timeout`.
    pub wait_timeout: Option<Duration>,
    /// `-t/--timeout` for stopping containers that are replaced.
    pub timeout: Option<i64>,
}

/// What `up` did besides its events.
#[derive(Debug, Clone, Default)]
pub struct UpReport {
    /// Containers of services no longer in the file, left alone (no `--remove-orphans`).
    pub orphans: Vec<String>,
    /// The services of the plan, in start order.
    pub services: Vec<String>,
}

impl Compose<'_> {
    /// Creates the plan's networks that do not exist yet; external ones must exist.
    fn ensure_networks(&self, plan: &Plan, r: Reporter<'_>) -> Result<()> {
        for n in &plan.networks {
            if self.engine.find_network(&n.name).is_ok() {
                continue;
            }
            if n.external {
                return Err(Error::Invalid {
                    file: self.config_files(),
                    path: format!("networks.{}", n.key),
                    message: format!(
                        "network {} declared as external, but could not be found\nhint: create it with `berth network create {}`",
                        n.name, n.name
                    ),
                });
            }
            let model = self.project.model.networks.get(&n.key);
            let pool = model
                .and_then(|m| m.ipam.as_ref())
                .and_then(|i| i.config.first());
            let opts = NetworkOptions {
                driver: model.and_then(|m| m.driver.clone()),
                subnet: pool.and_then(|p| p.subnet.clone()),
                gateway: pool.and_then(|p| p.gateway.clone()),
                ip_range: pool.and_then(|p| p.ip_range.clone()),
                internal: model.is_some_and(|m| m.internal),
                labels: n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                options: model
                    .map(|m| {
                        m.driver_opts
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect()
                    })
                    .unwrap_or_default(),
                ..NetworkOptions::default()
            };
            progress(r, Kind::Network, &n.name, "Creating");
            self.engine.create_network(&n.name, &opts)?;
            report(r, Kind::Network, &n.name, "Created");
        }
        Ok(())
    }

    /// Creates the plan's named volumes that do not exist yet; external ones must exist.
    fn ensure_volumes(&self, plan: &Plan, r: Reporter<'_>) -> Result<()> {
        for v in &plan.volumes {
            if self.engine.store().get_volume(&v.name).is_ok() {
                continue;
            }
            if v.external {
                return Err(Error::Invalid {
                    file: self.config_files(),
                    path: format!("volumes.{}", v.key),
                    message: format!(
                        "external volume {} not found\nhint: create it with `berth volume create {}`",
                        v.name, v.name
                    ),
                });
            }
            let labels: Vec<String> = v.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let opts: Vec<String> = self
                .project
                .model
                .volumes
                .get(&v.key)
                .map(|m| {
                    m.driver_opts
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect()
                })
                .unwrap_or_default();
            progress(r, Kind::Volume, &v.name, "Creating");
            self.engine.create_volume(Some(&v.name), &labels, &opts)?;
            report(r, Kind::Volume, &v.name, "Created");
        }
        Ok(())
    }

    /// The anonymous volumes of a container as (target, volume name).
    fn anonymous_volumes(&self, container: &str) -> Result<Vec<(String, String)>> {
        let (rec, stored) = self.engine.container(container)?;
        let anonymous: BTreeSet<String> = self
            .engine
            .store()
            .container_volumes(&rec.id)?
            .into_iter()
            .filter_map(|(name, anon)| anon.then_some(name))
            .collect();
        Ok(stored
            .mounts
            .into_iter()
            .filter(|m| m.kind == "volume" && anonymous.contains(&m.name))
            .map(|m| (m.destination, m.name))
            .collect())
    }

    /// Creates container `number` of a service (and joins its other networks). `inherit`
    /// are the anonymous volumes of the container it replaces, by target.
    fn create_container(
        &self,
        plan: &Plan,
        sp: &ServicePlan,
        number: u32,
        name: &str,
        oneoff: bool,
        inherit: &[(String, String)],
    ) -> Result<String> {
        let labels = plan.container_labels(sp, number, oneoff);
        let mut opts = spec::run_options(self.project, plan, sp, name, &labels);
        spec::inherit_volumes(&mut opts, inherit);
        let rec = self.engine.create_container(&self.image_name(sp), &opts)?;
        if sp.service.network_mode.is_none() {
            for (net, aliases, ip) in spec::networks(self.project, sp).into_iter().skip(1) {
                self.engine
                    .connect_network(&net, &rec.id, &aliases, ip.as_deref())?;
            }
        }
        Ok(rec.id)
    }

    /// Stops (if running) and removes a container.
    pub(crate) fn remove(&self, name: &str, timeout: Option<i64>, volumes: bool) -> Result<()> {
        self.engine.stop_container(name, timeout)?;
        self.engine.remove_container(name, true, volumes)?;
        Ok(())
    }

    /// `up` (and `create` with `no_start`).
    pub fn up(&self, opts: &UpOptions, out: &mut dyn Write, r: Reporter<'_>) -> Result<UpReport> {
        let plan = plan::plan(
            self.project,
            &PlanOptions {
                services: opts.services.clone(),
                no_deps: opts.no_deps,
                scale: opts.scale.clone(),
            },
        )?;
        let services: Vec<&ServicePlan> = plan.services.iter().collect();
        self.ensure_images(&services, opts.build, opts.no_build, out, r)?;
        self.ensure_networks(&plan, r)?;
        self.ensure_volumes(&plan, r)?;

        let existing: Vec<ExistingContainer> = self
            .containers(false)?
            .into_iter()
            .map(|c| ExistingContainer {
                name: c.record.name.clone(),
                labels: c.record.labels.clone(),
                running: is_running(c.status),
            })
            .collect();
        let known: BTreeSet<String> = self.project.model.services.keys().cloned().collect();
        let conv = converge(
            &plan,
            &existing,
            &known,
            ConvergeOptions {
                force_recreate: opts.force_recreate,
                no_recreate: opts.no_recreate,
            },
        );
        let mut up_report = UpReport {
            services: plan.services.iter().map(|s| s.name.clone()).collect(),
            ..Default::default()
        };
        for orphan in conv.orphans {
            if opts.remove_orphans {
                progress(r, Kind::Container, &orphan, "Removing");
                self.remove(&orphan, opts.timeout, false)?;
                report(r, Kind::Container, &orphan, "Removed");
            } else {
                up_report.orphans.push(orphan);
            }
        }

        // A dependency level at a time; the services of one level at the same time, each
        // after its dependencies meet their conditions.
        let by_name: BTreeMap<&str, &crate::converge::ServiceConvergence> = conv
            .services
            .iter()
            .map(|sc| (sc.service.as_str(), sc))
            .collect();
        for level in plan.levels() {
            let work: Vec<(&ServicePlan, &crate::converge::ServiceConvergence)> = level
                .iter()
                .filter_map(|s| Some((plan.service(s)?, *by_name.get(s)?)))
                .collect();
            parallel::each(&work, r, &|(sp, sc), sink| {
                let mut r = |e| sink(e);
                let starts = sc.actions.iter().any(|a| {
                    !matches!(
                        a,
                        ContainerAction::Keep { .. } | ContainerAction::Remove { .. }
                    )
                });
                if starts && !opts.no_start {
                    for (dep, d) in &sp.depends_on {
                        self.wait_for(dep, d.condition, DEPENDENCY_LIMIT, &mut r)?;
                    }
                }
                for action in &sc.actions {
                    self.apply(&plan, sp, action, opts, &mut r)?;
                }
                Ok(())
            })?;
        }
        if opts.wait && !opts.no_start {
            let limit = opts.wait_timeout.unwrap_or(DEPENDENCY_LIMIT);
            self.wait_running(&up_report.services, limit, r)?;
        }
        Ok(up_report)
    }

    fn start_one(&self, name: &str, r: Reporter<'_>) -> Result<()> {
        progress(r, Kind::Container, name, "Starting");
        self.engine.start_detached(name)?;
        report(r, Kind::Container, name, "Started");
        Ok(())
    }

    fn apply(
        &self,
        plan: &Plan,
        sp: &ServicePlan,
        action: &ContainerAction,
        opts: &UpOptions,
        r: Reporter<'_>,
    ) -> Result<()> {
        match action {
            ContainerAction::Create { number, name } => {
                progress(r, Kind::Container, name, "Creating");
                self.create_container(plan, sp, *number, name, false, &[])?;
                report(r, Kind::Container, name, "Created");
                if !opts.no_start {
                    self.start_one(name, r)?;
                }
            }
            ContainerAction::Recreate {
                number,
                existing,
                name,
            } => {
                progress(r, Kind::Container, existing, "Recreate");
                // Docker Compose hands a replaced container's anonymous volumes to the new
                // one, so data in e.g. an image's VOLUME survives a config change.
                let inherit = self.anonymous_volumes(existing)?;
                self.remove(existing, opts.timeout, false)?;
                self.create_container(plan, sp, *number, name, false, &inherit)?;
                report(r, Kind::Container, name, "Recreated");
                if !opts.no_start {
                    self.start_one(name, r)?;
                }
            }
            ContainerAction::Start { existing } => {
                if !opts.no_start {
                    self.start_one(existing, r)?;
                }
            }
            ContainerAction::Restart { existing } => {
                if !opts.no_start {
                    progress(r, Kind::Container, existing, "Restarting");
                    self.engine.stop_container(existing, opts.timeout)?;
                    self.engine.start_detached(existing)?;
                    report(r, Kind::Container, existing, "Started");
                }
            }
            ContainerAction::Remove { existing } => {
                progress(r, Kind::Container, existing, "Removing");
                self.remove(existing, opts.timeout, false)?;
                report(r, Kind::Container, existing, "Removed");
            }
            ContainerAction::Keep { existing } => {
                report(r, Kind::Container, existing, "Running");
            }
        }
        Ok(())
    }

    /// `run`: brings up the service's dependencies (unless `no_deps`), then creates a
    /// one-off container `project-service-run-XXXXXXXXXXXX` with `opts` adjusted by `adjust`
    /// (command, `--rm`, `-e` …), and returns its id; the caller starts it in the
    /// foreground or detached.
    pub fn create_oneoff(
        &self,
        service: &str,
        no_deps: bool,
        adjust: &dyn Fn(&mut berth_engine::containers::RunOptions),
        out: &mut dyn Write,
        r: Reporter<'_>,
    ) -> Result<String> {
        self.check_services(&[service.to_string()])?;
        let sp_service = &self.project.model.services[service];
        if !no_deps && !sp_service.depends_on.is_empty() {
            let deps: Vec<String> = sp_service
                .depends_on
                .keys()
                .filter(|d| self.project.model.services.contains_key(*d))
                .cloned()
                .collect();
            self.up(
                &UpOptions {
                    services: deps,
                    ..Default::default()
                },
                out,
                r,
            )?;
        }
        let plan = plan::plan(
            self.project,
            &PlanOptions {
                services: vec![service.to_string()],
                no_deps: true,
                scale: BTreeMap::new(),
            },
        )?;
        let Some(sp) = plan.service(service) else {
            return Err(Error::NoContainer {
                service: service.to_string(),
                what: String::new(),
            });
        };
        self.ensure_images(&[sp], false, false, out, r)?;
        self.ensure_networks(&plan, r)?;
        self.ensure_volumes(&plan, r)?;
        if !no_deps {
            for (dep, d) in &sp.depends_on {
                self.wait_for(dep, d.condition, DEPENDENCY_LIMIT, r)?;
            }
        }
        let suffix: String = berth_store::digest::random_id()?.chars().take(12).collect();
        let name = format!("{}-{service}-run-{suffix}", self.project.name);
        let labels = plan.container_labels(sp, 1, true);
        let mut opts = spec::run_options(self.project, &plan, sp, &name, &labels);
        // One-off containers publish no ports unless asked (`--service-ports`).
        opts.publish.clear();
        adjust(&mut opts);
        let rec = self.engine.create_container(&self.image_name(sp), &opts)?;
        if sp.service.network_mode.is_none() {
            for (net, aliases, ip) in spec::networks(self.project, sp).into_iter().skip(1) {
                self.engine
                    .connect_network(&net, &rec.id, &aliases, ip.as_deref())?;
            }
        }
        Ok(rec.id)
    }
}
