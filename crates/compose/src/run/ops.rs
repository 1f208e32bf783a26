//! The per-container commands on a project's services: `start` (in `depends_on` order),
//! `stop` (in reverse), `restart`, `kill`, `rm`, and `ls` over all projects.

use std::collections::BTreeMap;

use berth_engine::Engine;
use berth_store::{ContainerFilter, ContainerStatus, LabelFilter};

use super::{
    Compose, Kind, Reporter, ServiceContainer, event, is_running, parallel, progress, report,
};
use crate::error::Result;
use crate::plan::{LABEL_CONFIG_FILES, LABEL_ONEOFF, LABEL_PROJECT};

impl Compose<'_> {
    fn in_start_order(&self, services: &[String]) -> Result<Vec<ServiceContainer>> {
        let mut v = self.in_stop_order(self.service_containers(services)?, false)?;
        v.reverse();
        Ok(v)
    }

    /// `start [SERVICE…]`: the stopped containers, dependencies first; the containers of
    /// one dependency level at the same time.
    pub fn start(&self, services: &[String], r: Reporter<'_>) -> Result<()> {
        let all = self.service_containers(services)?;
        let engine = self.engine;
        for group in self.stop_groups(all, false)?.into_iter().rev() {
            parallel::each(&group, r, &|c: &ServiceContainer, r| {
                if !is_running(c.status) {
                    r(event(Kind::Container, &c.record.name, "Starting", false));
                    engine.start_detached(&c.record.id)?;
                    r(event(Kind::Container, &c.record.name, "Started", true));
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// `stop [SERVICE…]`: the running containers, dependants first; the containers of
    /// one dependency level at the same time.
    pub fn stop(&self, services: &[String], timeout: Option<i64>, r: Reporter<'_>) -> Result<()> {
        let all = self.service_containers(services)?;
        let engine = self.engine;
        let mut first = None;
        for group in self.stop_groups(all, false)? {
            let res = parallel::each(&group, r, &|c: &ServiceContainer, r| {
                if is_running(c.status) {
                    r(event(Kind::Container, &c.record.name, "Stopping", false));
                    engine.stop_container(&c.record.id, timeout)?;
                    r(event(Kind::Container, &c.record.name, "Stopped", true));
                }
                Ok(())
            });
            if let Err(e) = res {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// `restart [SERVICE…]`: each container stopped and started again, dependencies first.
    pub fn restart(
        &self,
        services: &[String],
        timeout: Option<i64>,
        r: Reporter<'_>,
    ) -> Result<()> {
        for c in self.in_start_order(services)? {
            progress(r, Kind::Container, &c.record.name, "Restarting");
            if is_running(c.status) {
                self.engine.stop_container(&c.record.id, timeout)?;
            }
            self.engine.start_detached(&c.record.id)?;
            report(r, Kind::Container, &c.record.name, "Started");
        }
        Ok(())
    }

    /// `pause [SERVICE…]` (`pause` true) and `unpause`: the running (or paused) containers.
    pub fn pause(&self, services: &[String], pause: bool, r: Reporter<'_>) -> Result<()> {
        let (from, word) = if pause {
            (ContainerStatus::Running, "Paused")
        } else {
            (ContainerStatus::Paused, "Unpaused")
        };
        for c in self.service_containers(services)? {
            if c.status == from {
                self.engine.pause_container(&c.record.id, pause)?;
                report(r, Kind::Container, &c.record.name, word);
            }
        }
        Ok(())
    }

    /// `kill [-s SIGNAL] [SERVICE…]`.
    pub fn kill(&self, services: &[String], signal: &str, r: Reporter<'_>) -> Result<()> {
        let all = self.service_containers(services)?;
        for c in self.in_stop_order(all, false)? {
            if is_running(c.status) {
                progress(r, Kind::Container, &c.record.name, "Killing");
                self.engine.kill_container(&c.record.id, signal)?;
                report(r, Kind::Container, &c.record.name, "Killed");
            }
        }
        Ok(())
    }

    /// `rm [-s] [-v] [SERVICE…]`: stopped containers (with `stop`, running ones are stopped
    /// first). Returns the containers left because they run.
    pub fn rm(
        &self,
        services: &[String],
        stop: bool,
        volumes: bool,
        r: Reporter<'_>,
    ) -> Result<Vec<String>> {
        let mut running = Vec::new();
        let all = self.service_containers(services)?;
        for c in self.in_stop_order(all, false)? {
            if is_running(c.status) {
                if !stop {
                    running.push(c.record.name.clone());
                    continue;
                }
                progress(r, Kind::Container, &c.record.name, "Stopping");
                self.engine.stop_container(&c.record.id, None)?;
                report(r, Kind::Container, &c.record.name, "Stopped");
            }
            progress(r, Kind::Container, &c.record.name, "Removing");
            self.engine.remove_container(&c.record.id, true, volumes)?;
            report(r, Kind::Container, &c.record.name, "Removed");
        }
        Ok(running)
    }
}

/// One line of `ls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectSummary {
    /// Project name.
    pub name: String,
    /// `running(2), exited(1)`.
    pub status: String,
    /// The Compose files the containers were made from.
    pub config_files: String,
    /// Whether any container of the project runs.
    pub running: bool,
}

/// `ls`: every project that has containers in this berth root.
pub fn list_projects(engine: &Engine) -> Result<Vec<ProjectSummary>> {
    let filter = ContainerFilter {
        labels: vec![LabelFilter {
            key: LABEL_PROJECT.to_string(),
            value: None,
        }],
        ..Default::default()
    };
    let mut by_project: BTreeMap<String, (BTreeMap<&'static str, usize>, String)> = BTreeMap::new();
    for rec in engine.store().list_containers(&filter)? {
        if rec.labels.get(LABEL_ONEOFF).map(String::as_str) == Some("True") {
            continue;
        }
        let Some(project) = rec.labels.get(LABEL_PROJECT) else {
            continue;
        };
        let status: ContainerStatus = engine.reconcile(&rec).unwrap_or(rec.state.status);
        let entry = by_project.entry(project.clone()).or_default();
        *entry.0.entry(status.as_str()).or_default() += 1;
        if entry.1.is_empty() {
            entry.1 = rec
                .labels
                .get(LABEL_CONFIG_FILES)
                .cloned()
                .unwrap_or_default();
        }
    }
    Ok(by_project
        .into_iter()
        .map(|(name, (counts, config_files))| ProjectSummary {
            running: counts.contains_key("running"),
            status: counts
                .iter()
                .map(|(s, n)| format!("{s}({n})"))
                .collect::<Vec<_>>()
                .join(", "),
            name,
            config_files,
        })
        .collect())
}
