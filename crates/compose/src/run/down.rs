//! `down`: the project's containers stopped in reverse `depends_on` order and removed, then
//! its networks, and with `-v` its volumes, with `--rmi` its images. Everything is found by
//! the `com.docker.compose.project` label, so `down` removes exactly what `up` made.

use std::collections::BTreeMap;

use berth_store::{LabelFilter, NetworkFilter, VolumeFilter};

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::ScopedJoinHandle;

use super::parallel::panicked;
use super::{
    Compose, Event, Kind, Reporter, ServiceContainer, event, is_running, progress, report,
};
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
    /// The project's containers grouped for stopping: each group one dependency level,
    /// dependants' levels first, so a group's containers can stop at the same time.
    /// Containers of services the file no longer has form the first group when
    /// `orphans`, else they are left out.
    pub(crate) fn stop_groups(
        &self,
        containers: Vec<ServiceContainer>,
        orphans: bool,
    ) -> Result<Vec<Vec<ServiceContainer>>> {
        let plan = self.plan_all()?;
        let levels = plan.levels();
        let rank: BTreeMap<&str, usize> = levels
            .iter()
            .rev()
            .enumerate()
            .flat_map(|(i, l)| l.iter().map(move |s| (*s, i + 1)))
            .collect();
        let mut groups: Vec<Vec<ServiceContainer>> = vec![Vec::new(); levels.len() + 1];
        for c in containers {
            match rank.get(c.service.as_str()) {
                Some(i) => groups[*i].push(c),
                None if orphans => groups[0].push(c),
                None => {}
            }
        }
        for g in &mut groups {
            g.sort_by(|a, b| {
                (&a.service, a.oneoff, a.number).cmp(&(&b.service, b.oneoff, b.number))
            });
        }
        groups.retain(|g| !g.is_empty());
        Ok(groups)
    }

    /// The project's containers in stop order (dependants first), one by one.
    pub(crate) fn in_stop_order(
        &self,
        containers: Vec<ServiceContainer>,
        orphans: bool,
    ) -> Result<Vec<ServiceContainer>> {
        Ok(self
            .stop_groups(containers, orphans)?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Stops and removes the containers of `groups` (from [`Compose::stop_groups`]): the
    /// containers of a level stop at the same time, and the next level stops once they
    /// have; removing a stopped level overlaps with stopping the next, since nothing
    /// waits for a removal but the networks and volumes after all of them.
    ///
    /// The project's `networks` are taken down (bridge, rules, resolver) as soon as the
    /// last container has left them, while the containers are still being removed;
    /// the networks themselves are removed afterwards.
    fn stop_and_remove(
        &self,
        groups: &[Vec<ServiceContainer>],
        networks: &[String],
        opts: &DownOptions,
        r: Reporter<'_>,
    ) -> Result<()> {
        let engine = self.engine;
        let (tx, rx) = mpsc::channel::<Event>();
        let finished = AtomicBool::new(false);
        let results: Vec<Result<()>> = std::thread::scope(|s| {
            let mut workers = Vec::new();
            for group in groups {
                // Taken before any signal, so the pids are surely the containers'.
                let inits: Vec<OwnedFd> = group
                    .iter()
                    .filter(|c| is_running(c.status))
                    .filter_map(|c| engine.init_pidfd(&c.record))
                    .collect();
                let level: Vec<_> = group
                    .iter()
                    .map(|c| {
                        let tx = tx.clone();
                        s.spawn(move || -> Result<()> {
                            let name = &c.record.name;
                            if is_running(c.status) {
                                let _ = tx.send(event(Kind::Container, name, "Stopping", false));
                                engine.stop_container(&c.record.id, opts.timeout)?;
                                let _ = tx.send(event(Kind::Container, name, "Stopped", true));
                            }
                            let _ = tx.send(event(Kind::Container, name, "Removing", false));
                            engine.remove_container(&c.record.id, true, opts.volumes)?;
                            let _ = tx.send(event(Kind::Container, name, "Removed", true));
                            Ok(())
                        })
                    })
                    .collect();
                // The next level may stop once this level's processes are gone; the
                // owners' clean-up and the removals carry on meanwhile.
                wait_gone(&inits, &level);
                while let Ok(e) = rx.try_recv() {
                    r(e);
                }
                workers.extend(level);
            }
            // Every process is gone: the networks empty as the owners clean up. A failure
            // here is not reported: `remove_network` below then does the whole removal.
            let finished = &finished;
            let nets: Vec<_> = networks
                .iter()
                .map(|n| {
                    s.spawn(move || {
                        engine.network_down_when_idle(n, &|| finished.load(Ordering::Relaxed))
                    })
                })
                .collect();
            drop(tx);
            // Ends when every thread dropped its sender, i.e. finished.
            for e in rx {
                r(e);
            }
            let results = workers
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(panicked())))
                .collect();
            finished.store(true, Ordering::Relaxed);
            for n in nets {
                let _ = n.join();
            }
            results
        });
        // Teardown tries everything; the first error is reported.
        results.into_iter().collect::<Result<Vec<()>>>().map(|_| ())
    }

    /// `down`.
    pub fn down(&self, opts: &DownOptions, r: Reporter<'_>) -> Result<()> {
        let groups = self.stop_groups(self.containers(true)?, opts.remove_orphans)?;
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
        let ids: Vec<String> = networks.iter().map(|n| n.id.clone()).collect();
        self.stop_and_remove(&groups, &ids, opts, r)?;
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

/// Blocks until every pidfd in `inits` is readable (its process ended), or every worker
/// has finished (a stop that failed, or containers without a pidfd).
fn wait_gone(inits: &[OwnedFd], workers: &[ScopedJoinHandle<'_, Result<()>>]) {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let mut left: Vec<&OwnedFd> = inits.iter().collect();
    loop {
        if workers.iter().all(ScopedJoinHandle::is_finished) {
            return;
        }
        if left.is_empty() {
            if inits.len() == workers.len() {
                return;
            }
            // Some containers had no pidfd: wait for their workers instead.
            std::thread::sleep(std::time::Duration::from_millis(5));
            continue;
        }
        let mut fds: Vec<PollFd<'_>> = left
            .iter()
            .map(|fd| PollFd::new(fd.as_fd(), PollFlags::POLLIN))
            .collect();
        if poll(&mut fds, PollTimeout::from(100u16)).unwrap_or(0) > 0 {
            let gone: Vec<bool> = fds
                .iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            let mut i = 0;
            left.retain(|_| {
                i += 1;
                !gone[i - 1]
            });
        }
    }
}
