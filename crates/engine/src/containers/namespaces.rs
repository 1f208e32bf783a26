//! `--pid container:NAME` and `--ipc container:NAME`: the other container's namespace
//! is joined by path, which exists only while it runs, so the path is written into
//! this container's `config.json` each time it starts.

use std::path::Path;

use serde_json::json;

use super::Stored;
use super::kernel_opts::NsMode;
use crate::{Engine, Error, Result};

impl Engine {
    /// Points this container's pid and IPC namespaces at those of the containers its
    /// `--pid`/`--ipc` name; refused when such a container is not running.
    pub(super) fn join_shared_namespaces(&self, stored: &Stored, dir: &Path) -> Result<()> {
        let k = &stored.opts.kernel;
        let mut joins = Vec::new();
        for (kind, mode) in [("pid", k.pid_mode()?), ("ipc", k.ipc_mode()?)] {
            let NsMode::Container(other) = mode else {
                continue;
            };
            let (o, _) = self.container(&other)?;
            let running = matches!(
                self.reconcile(&o)?,
                berth_store::ContainerStatus::Running | berth_store::ContainerStatus::Paused
            );
            let Some(pid) = o.state.pid.filter(|_| running) else {
                return Err(Error::ContainerState {
                    name: o.name,
                    status: o.state.status.as_str().into(),
                    op: "share its namespaces",
                    hint: "\nhint: start that container first".into(),
                });
            };
            joins.push((kind, format!("/proc/{pid}/ns/{kind}")));
        }
        if joins.is_empty() {
            return Ok(());
        }
        super::bundle::edit_spec(dir, |spec| {
            if let Some(list) = spec["linux"]["namespaces"].as_array_mut() {
                for (kind, path) in &joins {
                    list.retain(|n| n["type"] != *kind);
                    list.push(json!({"type": kind, "path": path}));
                }
            }
            Ok(true)
        })
    }
}
