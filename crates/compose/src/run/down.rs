//! `down`: the project's containers stopped in reverse `depends_on` order and removed, then
//! its networks, and with `-v` its volumes, with `--rmi` its images. Everything is found by
//! the `com.docker.compose.project` label, so `down` removes exactly what `up` made.

use std::collections::BTreeMap;

use berth_store::{LabelFilter, NetworkFilter, VolumeFilter};

use super::{Compose, Kind, Reporter, ServiceContainer, is_running, progress, report};
use crate::error::Result;
use crate::plan::{LABEL_NETWORK, LABEL_PROJECT, LABEL_VOLUME};

/// `--rmi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveImages {
    /// Images built for services without an `image:` name.
    Local,
    /// Every image the services use.
    All,
}

/// The flags of `down`.
#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    /// `-v`: also named volumes declared in the file and anonymous volumes.
    pub volumes: bool,
    /// `--rmi local|all`.
    pub rmi: Option<RemoveImages>,
    /// `--remove-orphans`: also containers of services no longer in the file.
    pub remove_orphans: bool,
    /// `-t/--timeout` in seconds before SIGKILL.
    pub timeout: Option<i64>,
}

impl Compose<'_> {
    /// The project's containers in stop order (dependants first). Containers of services
    /// the file no longer has come first when `orphans`, else they are left out.
    pub(crate) fn in_stop_order(
        &self,
        containers: Vec<ServiceContainer>,
        orphans: bool,
    ) -> Result<Vec<ServiceContainer>> {
        let plan = self.plan_all()?;
        let rank: BTreeMap<&str, usize> = plan
            .stop_order()
            .into_iter()
            .enumerate()
            .map(|(i, s)| (s, i + 1))
            .collect();
        let mut ranked: Vec<(usize, ServiceContainer)> = containers
            .into_iter()
            .filter_map(|c| match rank.get(c.service.as_str()) {
                Some(i) => Some((*i, c)),
                None if orphans => Some((0, c)),
                None => None,
            })
            .collect();
        ranked.sort_by_key(|(i, c)| (*i, c.oneoff, c.number));
        Ok(ranked.into_iter().map(|(_, c)| c).collect())
    }

    /// `down`.
    pub fn down(&self, opts: &DownOptions, r: Reporter<'_>) -> Result<()> {
        let containers = self.in_stop_order(self.containers(true)?, opts.remove_orphans)?;
        for c in &containers {
            let name = &c.record.name;
            if is_running(c.status) {
                progress(r, Kind::Container, name, "Stopping");
                self.engine.stop_container(&c.record.id, opts.timeout)?;
                report(r, Kind::Container, name, "Stopped");
            }
            progress(r, Kind::Container, name, "Removing");
            self.engine
                .remove_container(&c.record.id, true, opts.volumes)?;
            report(r, Kind::Container, name, "Removed");
        }
        let ours = |key: &str| {
            vec![
                LabelFilter {
                    key: LABEL_PROJECT.to_string(),
                    value: Some(self.project.name.clone()),
                },
                LabelFilter {
                    key: key.to_string(),
                    value: None,
                },
            ]
        };
        let networks = self.engine.list_networks(&NetworkFilter {
            labels: ours(LABEL_NETWORK),
            ..Default::default()
        })?;
        for n in networks {
            progress(r, Kind::Network, &n.name, "Removing");
            self.engine.remove_network(&n.id)?;
            report(r, Kind::Network, &n.name, "Removed");
        }
        if opts.volumes {
            let volumes = self.engine.list_volumes(&VolumeFilter {
                labels: ours(LABEL_VOLUME),
                ..Default::default()
            })?;
            for v in volumes {
                progress(r, Kind::Volume, &v.name, "Removing");
                self.engine.remove_volume(&v.name, false)?;
                report(r, Kind::Volume, &v.name, "Removed");
            }
        }
        if let Some(which) = opts.rmi {
            let plan = self.plan_all()?;
            let mut done = std::collections::BTreeSet::new();
            for sp in &plan.services {
                if which == RemoveImages::Local && sp.service.image.is_some() {
                    continue;
                }
                let image = self.image_name(sp);
                if !done.insert(image.clone()) || self.engine.find_image(&image).is_err() {
                    continue;
                }
                progress(r, Kind::Image, &image, "Removing");
                self.engine.remove_image(&image, false)?;
                report(r, Kind::Image, &image, "Removed");
            }
        }
        Ok(())
    }
}
