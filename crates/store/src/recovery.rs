//! Startup recovery: removes what a crash half made. See the crate docs for
//! the invariant it restores.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::Store;
use crate::digest::is_hex64;
use crate::error::{Error, Result};
use crate::lock::{LockMode, flock};
use crate::rootfs::{is_mountpoint, unmount};

/// What [`Store::recover`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// False when other berth processes use the root: only unlocked temp
    /// entries older than a minute were collected.
    pub ran: bool,
    /// Temp entries deleted.
    pub tmp_removed: Vec<PathBuf>,
    /// Pending snapshots whose rename had happened: now ready.
    pub snapshots_completed: Vec<String>,
    /// Pending snapshots whose files never arrived: rows dropped.
    pub snapshots_dropped: Vec<String>,
    /// Snapshots whose directory vanished: marked missing.
    pub snapshots_missing: Vec<String>,
    /// Snapshot and container directories without a row: deleted.
    pub orphans_removed: Vec<PathBuf>,
}

impl Store {
    /// Cleans up after crashed berth processes, if no other berth process
    /// uses this root (otherwise it only collects old unlocked temp entries).
    pub fn recover(&self) -> Result<RecoveryReport> {
        let lock_path = self.root.join("locks/store.lock");
        let alone = flock(&self.root_lock, LockMode::Exclusive, false)
            .map_err(|e| Error::path("lock", &lock_path, e))?;
        if !alone {
            return Ok(RecoveryReport {
                tmp_removed: self.gc_tmp(crate::tmp::BUSY_GC_AGE)?,
                ..RecoveryReport::default()
            });
        }
        let report = self.recover_locked();
        flock(&self.root_lock, LockMode::Shared, true)
            .map_err(|e| Error::path("lock", &lock_path, e))?;
        report
    }

    /// Recovery proper, then the stamp that lets later lone processes skip
    /// it while nobody crashes (`activity`); the caller holds the root lock
    /// exclusively.
    pub(crate) fn recover_locked(&self) -> Result<RecoveryReport> {
        let report = self.recover_scan()?;
        crate::activity::mark_recovered(&self.root, self.marker.path())?;
        Ok(report)
    }

    fn recover_scan(&self) -> Result<RecoveryReport> {
        let mut report = RecoveryReport {
            ran: true,
            tmp_removed: self.gc_tmp(Duration::ZERO)?,
            ..RecoveryReport::default()
        };
        let rows: Vec<(String, String, bool)> = self.read(|c| {
            let mut st = c.prepare(
                "SELECT s.chain_id, s.state,
                        EXISTS (SELECT 1 FROM image_layers l WHERE l.chain_id = s.chain_id)
                     OR EXISTS (SELECT 1 FROM container_layers l WHERE l.chain_id = s.chain_id)
                     OR EXISTS (SELECT 1 FROM snapshots k WHERE k.parent = s.chain_id)
                 FROM snapshots s",
            )?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        let mut known = HashSet::new();
        for (chain, state, referenced) in rows {
            let hex = chain.strip_prefix("sha256:").unwrap_or(&chain).to_owned();
            let present = self.root.join("snapshots").join(&hex).join("fs").is_dir();
            known.insert(hex);
            match (state.as_str(), present) {
                ("pending", true) => {
                    self.set_snapshot_state(&chain, "ready")?;
                    report.snapshots_completed.push(chain);
                }
                ("pending", false) if referenced => {
                    self.set_snapshot_state(&chain, "missing")?;
                    report.snapshots_missing.push(chain);
                }
                ("pending", false) => {
                    self.write(|tx| {
                        tx.execute("DELETE FROM snapshots WHERE chain_id = ?1", [&chain])?;
                        Ok(())
                    })?;
                    report.snapshots_dropped.push(chain);
                }
                ("ready", false) => {
                    self.set_snapshot_state(&chain, "missing")?;
                    report.snapshots_missing.push(chain);
                }
                _ => {}
            }
        }
        for entry in fs_err::read_dir(self.root.join("snapshots"))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_hex64(&name) && !known.contains(&name) {
                self.trash(&entry.path())?;
                report.orphans_removed.push(entry.path());
            }
        }
        let containers: HashSet<String> = self.read(|c| {
            let mut st = c.prepare("SELECT id FROM containers")?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<HashSet<_>>>()?)
        })?;
        for entry in fs_err::read_dir(self.root.join("containers"))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_hex64(&name) && !containers.contains(&name) {
                let merged = entry.path().join("merged");
                if is_mountpoint(&merged)? {
                    unmount(&merged)?;
                }
                self.trash(&entry.path())?;
                report.orphans_removed.push(entry.path());
            }
        }
        Ok(report)
    }

    fn set_snapshot_state(&self, chain: &str, state: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE snapshots SET state = ?2 WHERE chain_id = ?1",
                [chain, state],
            )?;
            Ok(())
        })
    }
}
