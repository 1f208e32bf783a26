//! Waiting for `depends_on` conditions and for `up --wait`: a dependency's containers
//! running, healthy (the engine's recorded health, `State.Health.Status` in `inspect`),
//! or exited with 0.

use std::time::{Duration, Instant};

use berth_store::ContainerStatus;

use super::{Compose, Kind, Reporter, ServiceContainer, is_running, progress, report};
use crate::error::{Error, Result};
use crate::model::Condition;

/// How often states are polled: short enough that `up` does not idle, long enough to
/// cost nothing.
const POLL: Duration = Duration::from_millis(50);

/// What one look at a container says.
enum Look {
    Ready,
    NotYet,
    Failed(String),
}

impl Compose<'_> {
    /// `State.Health.Status`; "starting" for a container with a check that has not
    /// reported yet, `None` for a container without a check.
    fn health(&self, c: &ServiceContainer) -> Result<Option<String>> {
        // The recorded health is a cheap read; the whole inspect document (for the
        // configured check) only while no check has reported yet.
        if let Some(h) = self.engine.container_health(&c.record.id)? {
            return Ok(Some(h.status));
        }
        let v = self.engine.inspect_container(&c.record.id)?;
        let checked = v["Config"]["Healthcheck"]["Test"]
            .as_array()
            .and_then(|t| t.first())
            .and_then(|t| t.as_str())
            .is_some_and(|t| t != "NONE");
        Ok(checked.then(|| "starting".to_string()))
    }

    fn look(&self, c: &ServiceContainer, condition: Condition) -> Result<Look> {
        let name = &c.record.name;
        let exited = |c: &ServiceContainer| {
            let code = c.record.state.exit_code.unwrap_or(-1);
            format!("container {name} exited ({code})")
        };
        Ok(match condition {
            Condition::ServiceStarted => Look::Ready,
            Condition::ServiceHealthy => match self.health(c)?.as_deref() {
                Some("healthy") => Look::Ready,
                Some("unhealthy") => Look::Failed(format!("container {name} is unhealthy")),
                _ if !is_running(c.status) => Look::Failed(exited(c)),
                Some(_) => Look::NotYet,
                None => Look::Failed(format!("container {name} has no healthcheck configured")),
            },
            Condition::ServiceCompletedSuccessfully => {
                if is_running(c.status) || c.status == ContainerStatus::Created {
                    Look::NotYet
                } else if c.record.state.exit_code == Some(0) {
                    Look::Ready
                } else {
                    Look::Failed(exited(c))
                }
            }
        })
    }

    fn current(&self, service: &str) -> Result<Vec<ServiceContainer>> {
        Ok(self
            .containers(false)?
            .into_iter()
            .filter(|c| c.service == service)
            .collect())
    }

    /// Blocks until every container of `dependency` meets `condition`, or fails with the
    /// reason it never will. `limit` bounds the wait.
    pub(crate) fn wait_for(
        &self,
        dependency: &str,
        condition: Condition,
        limit: Duration,
        r: Reporter<'_>,
    ) -> Result<()> {
        if condition == Condition::ServiceStarted {
            return Ok(());
        }
        let start = Instant::now();
        let mut announced = false;
        loop {
            let containers = self.current(dependency)?;
            if containers.is_empty() {
                return Err(Error::Dependency {
                    dependency: dependency.to_string(),
                    message: format!("service {dependency} has no container"),
                });
            }
            let mut ready = true;
            for c in &containers {
                match self.look(c, condition)? {
                    Look::Ready => {}
                    Look::NotYet => ready = false,
                    Look::Failed(message) => {
                        report(r, Kind::Container, &c.record.name, "Error");
                        return Err(Error::Dependency {
                            dependency: dependency.to_string(),
                            message,
                        });
                    }
                }
            }
            if ready {
                let word = match condition {
                    Condition::ServiceHealthy => "Healthy",
                    _ => "Exited",
                };
                for c in &containers {
                    report(r, Kind::Container, &c.record.name, word);
                }
                return Ok(());
            }
            if !announced {
                for c in &containers {
                    progress(r, Kind::Container, &c.record.name, "Waiting");
                }
                announced = true;
            }
            if start.elapsed() > limit {
                return Err(Error::Timeout {
                    what: format!("{dependency} to be {}", condition.as_str()),
                    seconds: limit.as_secs(),
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// `up --wait`: every container of `services` running, and healthy where it has a
    /// health check; a container that exited or turned unhealthy fails the wait.
    pub(crate) fn wait_running(
        &self,
        services: &[String],
        limit: Duration,
        r: Reporter<'_>,
    ) -> Result<()> {
        let start = Instant::now();
        loop {
            let mut pending = false;
            for c in self.service_containers(services)? {
                let health = self.health(&c)?;
                let fail = |message: String| Error::Dependency {
                    dependency: c.service.clone(),
                    message,
                };
                match health.as_deref() {
                    Some("unhealthy") => {
                        return Err(fail(format!("container {} is unhealthy", c.record.name)));
                    }
                    _ if !is_running(c.status) => {
                        return Err(fail(format!(
                            "container {} exited ({})",
                            c.record.name,
                            c.record.state.exit_code.unwrap_or(-1)
                        )));
                    }
                    Some("starting") => pending = true,
                    _ => {}
                }
            }
            if !pending {
                for c in self.service_containers(services)? {
                    let word = if self.health(&c)?.is_some() {
                        "Healthy"
                    } else {
                        "Running"
                    };
                    report(r, Kind::Container, &c.record.name, word);
                }
                return Ok(());
            }
            if start.elapsed() > limit {
                return Err(Error::Timeout {
                    what: "the services to be running and healthy".into(),
                    seconds: limit.as_secs(),
                });
            }
            std::thread::sleep(POLL);
        }
    }
}
