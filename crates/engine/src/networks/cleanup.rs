//! Clearing what crashed berth processes left: `berth-net`'s `cleanup_stale` scoped to
//! this root's containers (other roots on the host share berth-net's state and the
//! nftables table; their containers are none of our business).

use std::collections::BTreeSet;

use berth_store::ContainerStatus;

use super::net_state_dir;
use crate::{Engine, Result};

impl Engine {
    /// Removes rules, port records and addresses of this root's containers that no
    /// longer run (their owner was killed), and of containers this root forgot.
    pub fn cleanup_stale_network(&self) -> Result<berth_net::Cleaned> {
        let state = net_state_dir();
        // Addresses handed out for this root's containers are the ones we may judge.
        let mut ours = BTreeSet::new();
        let mut running = BTreeSet::new();
        for c in self
            .store()
            .list_containers(&berth_store::ContainerFilter::default())?
        {
            ours.insert(c.id.clone());
            let status = self.reconcile(&c).unwrap_or(c.state.status);
            if matches!(
                status,
                ContainerStatus::Running
                    | ContainerStatus::Paused
                    | ContainerStatus::Restarting
                    | ContainerStatus::Created
            ) {
                running.insert(c.id);
            }
        }
        let live = |id: &str| !ours.contains(id) || running.contains(id);
        let every_net = |_: &str| true;
        let cleaned = berth_net::cleanup_stale(
            &state,
            &berth_net::Liveness {
                container: &live,
                network: &every_net,
            },
        )?;
        Ok(cleaned)
    }

    /// Runs [`Engine::cleanup_stale_network`] once per boot of this root (the run
    /// directory is a tmpfs): crash leftovers are cleared without taxing every run.
    /// The marker's name changed with berth's nftables table (`table inet berth`), so
    /// the first run after an upgrade also clears what crashed containers of the older
    /// berth left in its `table ip berth`.
    pub(crate) fn maybe_cleanup_after_boot(&self) {
        let marker = self.paths().run.join("net-cleaned-inet");
        if marker.exists() {
            return;
        }
        let _ = self.cleanup_stale_network();
        let _ = fs_err::create_dir_all(&self.paths().run);
        let _ = fs_err::write(&marker, b"");
    }
}
