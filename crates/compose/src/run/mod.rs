//! The executor: carries out a [`Plan`](crate::plan::Plan) with the engine. `up` builds or
//! pulls images, creates the project's networks and volumes, converges the containers in
//! `depends_on` order (waiting for `service_healthy` and `service_completed_successfully`),
//! and `down` removes exactly what `up` made, found by the Compose labels.
//!
//! Nothing here prints: progress is reported as [`Event`]s to a callback, and the command
//! line decides how they look.

mod down;
mod images;
mod kernel;
mod logs;
mod ops;
mod parallel;
mod spec;
mod up;
mod wait;

use std::collections::BTreeMap;

use berth_engine::Engine;
use berth_store::{ContainerFilter, ContainerRecord, ContainerStatus, LabelFilter};

use crate::error::{Error, Result};
use crate::load::Project;
use crate::plan::{self, LABEL_NUMBER, LABEL_ONEOFF, LABEL_PROJECT, LABEL_SERVICE, Plan};

pub use down::{DownOptions, RemoveImages};
pub use images::BuildFlags;
pub use logs::{LogLine, LogsOptions, Output};
pub use ops::{ProjectSummary, list_projects};
pub use spec::run_options;
pub use up::{UpOptions, UpReport};

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A network.
    Network,
    /// A volume.
    Volume,
    /// A container.
    Container,
    /// An image (built or pulled).
    Image,
}

impl Kind {
    /// Docker Compose's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Network => "Network",
            Kind::Volume => "Volume",
            Kind::Container => "Container",
            Kind::Image => "Image",
        }
    }
}

/// One step of progress: ` ✔ Container shop-web-1  Started`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What the event is about.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// Docker Compose's status word (`Created`, `Started`, `Waiting`, `Healthy` …).
    pub status: &'static str,
    /// False while the step runs (`Waiting`, `Building`), true when it is done.
    pub done: bool,
}

/// Where events go.
pub type Reporter<'r> = &'r mut dyn FnMut(Event);

/// A container of the project, as the engine reports it now.
#[derive(Debug, Clone)]
pub struct ServiceContainer {
    /// The service (`com.docker.compose.service`).
    pub service: String,
    /// Its number (`com.docker.compose.container-number`).
    pub number: u32,
    /// Whether it is a one-off (`compose run`) container.
    pub oneoff: bool,
    /// Status after checking the monitor is alive.
    pub status: ContainerStatus,
    /// The store's record (name, id, labels, state).
    pub record: ContainerRecord,
}

/// A loaded project together with the engine that runs it.
pub struct Compose<'a> {
    engine: &'a Engine,
    project: &'a Project,
}

fn event(kind: Kind, name: &str, status: &'static str, done: bool) -> Event {
    Event {
        kind,
        name: name.to_string(),
        status,
        done,
    }
}

fn report(r: Reporter<'_>, kind: Kind, name: &str, status: &'static str) {
    r(Event {
        kind,
        name: name.to_string(),
        status,
        done: true,
    });
}

fn progress(r: Reporter<'_>, kind: Kind, name: &str, status: &'static str) {
    r(Event {
        kind,
        name: name.to_string(),
        status,
        done: false,
    });
}

impl<'a> Compose<'a> {
    /// Binds a project to an engine.
    pub fn new(engine: &'a Engine, project: &'a Project) -> Compose<'a> {
        Compose { engine, project }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        self.engine
    }

    /// The project.
    pub fn project(&self) -> &Project {
        self.project
    }

    /// A plan of every service in the file (active or not), in start order: what `down`,
    /// `stop` and `ps` work through.
    pub fn plan_all(&self) -> Result<Plan> {
        plan::plan(
            self.project,
            &plan::PlanOptions {
                services: self.project.model.services.keys().cloned().collect(),
                no_deps: true,
                scale: BTreeMap::new(),
            },
        )
    }

    /// The plan of `services` (empty: all active ones) with their dependencies.
    pub fn plan(&self, services: &[String]) -> Result<Plan> {
        plan::plan(
            self.project,
            &plan::PlanOptions {
                services: services.to_vec(),
                ..Default::default()
            },
        )
    }

    /// Checks that every named service exists.
    pub fn check_services(&self, services: &[String]) -> Result<()> {
        for s in services {
            if !self.project.model.services.contains_key(s) {
                return Err(Error::NoSuchService {
                    service: s.clone(),
                    known: self
                        .project
                        .model
                        .services
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        Ok(())
    }

    /// The project's containers (running or not), sorted by service and number; one-off
    /// containers only when `oneoff`.
    pub fn containers(&self, oneoff: bool) -> Result<Vec<ServiceContainer>> {
        let filter = ContainerFilter {
            labels: vec![LabelFilter {
                key: LABEL_PROJECT.to_string(),
                value: Some(self.project.name.clone()),
            }],
            include_config: true,
            ..Default::default()
        };
        let mut out = Vec::new();
        for rec in self.engine.store().list_containers(&filter)? {
            let is_oneoff = rec.labels.get(LABEL_ONEOFF).map(String::as_str) == Some("True");
            if is_oneoff && !oneoff {
                continue;
            }
            // A container whose monitor died is reported as exited, not running.
            let status = self.engine.reconcile(&rec).unwrap_or(rec.state.status);
            out.push(ServiceContainer {
                service: rec.labels.get(LABEL_SERVICE).cloned().unwrap_or_default(),
                number: rec
                    .labels
                    .get(LABEL_NUMBER)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0),
                oneoff: is_oneoff,
                status,
                record: rec,
            });
        }
        out.sort_by(|a, b| {
            (&a.service, a.oneoff, a.number, &a.record.name).cmp(&(
                &b.service,
                b.oneoff,
                b.number,
                &b.record.name,
            ))
        });
        Ok(out)
    }

    /// The project's containers of `services` (empty: all), one-offs excluded.
    pub fn service_containers(&self, services: &[String]) -> Result<Vec<ServiceContainer>> {
        self.check_services(services)?;
        Ok(self
            .containers(false)?
            .into_iter()
            .filter(|c| services.is_empty() || services.contains(&c.service))
            .collect())
    }

    /// Container `index` (1-based) of `service`, for `exec`, `port` and friends.
    pub fn container_of(&self, service: &str, index: u32) -> Result<ServiceContainer> {
        self.check_services(&[service.to_string()])?;
        self.containers(false)?
            .into_iter()
            .find(|c| c.service == service && c.number == index)
            .ok_or_else(|| Error::NoContainer {
                service: service.to_string(),
                what: String::new(),
            })
    }
}

/// Whether a status counts as running (paused and restarting containers included).
pub fn is_running(status: ContainerStatus) -> bool {
    status.is_active()
}
