//! The difference between a [`Plan`] and the containers that exist: per service, which
//! containers to create, recreate (configuration hash changed), start, restart, remove
//! (scaled down) or keep, and which containers are orphans of removed services.

use std::collections::{BTreeMap, BTreeSet};

use crate::plan::{
    LABEL_CONFIG_HASH, LABEL_NUMBER, LABEL_ONEOFF, LABEL_PROJECT, LABEL_SERVICE, Plan,
};

/// A container as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingContainer {
    /// Container name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Whether it is running.
    pub running: bool,
}

/// `up` flags that change the decisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConvergeOptions {
    /// `--force-recreate`.
    pub force_recreate: bool,
    /// `--no-recreate`.
    pub no_recreate: bool,
}

/// What to do with one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerAction {
    /// Create and start container `number`.
    Create {
        /// Container number.
        number: u32,
        /// Its name.
        name: String,
    },
    /// Replace `existing` by a new container `number` with the new configuration.
    Recreate {
        /// Container number.
        number: u32,
        /// The container to replace.
        existing: String,
        /// The new container's name.
        name: String,
    },
    /// Start the stopped container.
    Start {
        /// The container.
        existing: String,
    },
    /// Restart the container because a dependency declared with `restart: true` changed.
    Restart {
        /// The container.
        existing: String,
    },
    /// Stop and remove the container (scaled down).
    Remove {
        /// The container.
        existing: String,
    },
    /// Leave the running, up-to-date container alone.
    Keep {
        /// The container.
        existing: String,
    },
}

/// The summary for one service, most significant action first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// At least one container is recreated.
    Recreate,
    /// No container existed; all are created.
    Create,
    /// More containers are created beside existing ones.
    ScaleUp,
    /// Containers are removed.
    ScaleDown,
    /// Containers are restarted for a dependency.
    Restart,
    /// Stopped containers are started.
    Start,
    /// Nothing to do.
    Unchanged,
}

/// The decisions for one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConvergence {
    /// Service name.
    pub service: String,
    /// Summary.
    pub change: Change,
    /// Per-container actions, by container number.
    pub actions: Vec<ContainerAction>,
}

/// The decisions for the whole plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Convergence {
    /// Services in start order.
    pub services: Vec<ServiceConvergence>,
    /// Containers of this project whose service no longer exists (`--remove-orphans`).
    pub orphans: Vec<String>,
}

/// Compares the plan with `existing` containers (of any project; others are ignored).
/// `known_services` are all services of the project (inactive ones are not orphans).
pub fn converge(
    plan: &Plan,
    existing: &[ExistingContainer],
    known_services: &BTreeSet<String>,
    opts: ConvergeOptions,
) -> Convergence {
    let ours: Vec<&ExistingContainer> = existing
        .iter()
        .filter(|c| c.labels.get(LABEL_PROJECT) == Some(&plan.project))
        .filter(|c| c.labels.get(LABEL_ONEOFF).map(String::as_str) != Some("True"))
        .collect();
    let orphans = ours
        .iter()
        .filter(|c| {
            c.labels
                .get(LABEL_SERVICE)
                .is_none_or(|s| !known_services.contains(s))
        })
        .map(|c| c.name.clone())
        .collect();
    let mut recreated: BTreeSet<&str> = BTreeSet::new();
    let mut services = Vec::new();
    for sp in &plan.services {
        let mut mine: Vec<(u32, &ExistingContainer)> = ours
            .iter()
            .filter(|c| c.labels.get(LABEL_SERVICE) == Some(&sp.name))
            .map(|c| {
                let n = c
                    .labels
                    .get(LABEL_NUMBER)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                (n, *c)
            })
            .collect();
        mine.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
        let wanted = sp.replicas as usize;
        let restart_for_dep = sp
            .depends_on
            .iter()
            .any(|(d, dep)| dep.restart && recreated.contains(d.as_str()));
        let mut actions = Vec::new();
        let mut used = BTreeSet::new();
        let mut change = if mine.is_empty() && wanted > 0 {
            Change::Create
        } else {
            Change::Unchanged
        };
        for (i, (number, c)) in mine.iter().enumerate() {
            if i >= wanted {
                actions.push(ContainerAction::Remove {
                    existing: c.name.clone(),
                });
                change = change.min(Change::ScaleDown);
                continue;
            }
            used.insert(*number);
            let stale = c.labels.get(LABEL_CONFIG_HASH) != Some(&sp.config_hash);
            if opts.force_recreate || (stale && !opts.no_recreate) {
                actions.push(ContainerAction::Recreate {
                    number: *number,
                    existing: c.name.clone(),
                    name: plan.container_name(sp, *number),
                });
                change = Change::Recreate;
            } else if !c.running {
                actions.push(ContainerAction::Start {
                    existing: c.name.clone(),
                });
                change = change.min(Change::Start);
            } else if restart_for_dep {
                actions.push(ContainerAction::Restart {
                    existing: c.name.clone(),
                });
                change = change.min(Change::Restart);
            } else {
                actions.push(ContainerAction::Keep {
                    existing: c.name.clone(),
                });
            }
        }
        let mut next = 1;
        for _ in used.len()..wanted {
            while used.contains(&next) {
                next += 1;
            }
            used.insert(next);
            actions.push(ContainerAction::Create {
                number: next,
                name: plan.container_name(sp, next),
            });
            if change != Change::Create {
                change = change.min(Change::ScaleUp);
            }
        }
        if change == Change::Recreate {
            recreated.insert(&sp.name);
        }
        services.push(ServiceConvergence {
            service: sp.name.clone(),
            change,
            actions,
        });
    }
    Convergence { services, orphans }
}
