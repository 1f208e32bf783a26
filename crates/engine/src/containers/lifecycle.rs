//! Starting, stopping, signalling, pausing and removing containers, and recording
//! what happened in the store.

use std::os::fd::OwnedFd;
use std::time::Duration;

use berth_runtime::{Bundle, CreateOptions};
use berth_store::{ContainerRecord, ContainerState, ContainerStatus};
use serde_json::json;

use super::{Stored, short};
use crate::{Engine, Error, Result};

/// A started container process, owned by the caller.
pub struct Launched {
    /// Host pid of the container's init.
    pub pid: i32,
    /// The pty master when the container has a terminal and the caller holds it.
    pub pty: Option<OwnedFd>,
}

/// Signals a container's owner relays to it: the runtime's list.
pub use berth_runtime::forwarded_signals;

/// True when this process has a single thread, so forking a container child is safe
/// (design.md: threads and fork).
pub fn single_threaded() -> bool {
    fs_err::read_dir("/proc/self/task").is_ok_and(|d| d.count() == 1)
}

/// Whether the process that owns a running container (its monitor, or the foreground
/// `berth run`) still lives: the recorded pid exists, is not a zombie, and is the same
/// process (same start time, so a reused pid does not count).
pub(super) fn owner_alive(st: &ContainerState) -> bool {
    let pid = st
        .extra
        .get("owner_pid")
        .and_then(serde_json::Value::as_i64)
        .and_then(|p| i32::try_from(p).ok())
        .filter(|p| *p > 0);
    let Some(pid) = pid else {
        return false;
    };
    let started = berth_runtime::state::pid_start_time(pid);
    let recorded = st
        .extra
        .get("owner_start")
        .and_then(serde_json::Value::as_u64);
    started.is_some()
        && (recorded.is_none() || recorded == started)
        && !matches!(berth_runtime::state::pid_state(pid), Some('Z' | 'X') | None)
}

fn runtime_err(e: berth_runtime::Error) -> Error {
    match e {
        berth_runtime::Error::Exec { message, status } => Error::Exec { message, status },
        e => Error::Runtime(e),
    }
}

impl Engine {
    /// A container with its parsed config.
    pub fn container(&self, name: &str) -> Result<(ContainerRecord, Stored)> {
        let rec = self.store().get_container(name)?;
        let stored = Stored::parse(&rec.id, rec.config.as_deref())?;
        Ok((rec, stored))
    }

    /// Creates and starts the container's process; the calling process becomes its
    /// parent and must wait for it, then call [`Engine::finish`]. Only call from a
    /// single-threaded process. `hold_pty`: the caller keeps the pty master.
    pub fn launch(&self, id: &str, hold_pty: bool) -> Result<Launched> {
        if !single_threaded() {
            return Err(Error::Monitor(
                "internal: containers must be started from a single-threaded process".into(),
            ));
        }
        let layers = self.store().container_layers(id)?;
        self.store().mount_rootfs(id, &layers)?;
        let dir = self.store().container_dir(id)?;
        let rt = self.runtime();
        // A leftover from a crashed owner would block the id.
        if rt.load(id).is_ok() {
            let _ = berth_runtime::delete(&rt, id, true);
        }
        let (rec, stored) = self.container(id)?;
        self.join_shared_namespaces(&stored, &dir)?;
        self.apply_links(&rec.name, &stored, &dir)?;
        self.mount_volume_devices(&stored)?;
        // The namespace now; its veths, addresses and ports once the init exists, while
        // it builds its root filesystem (create_with's on_init).
        let mut pending = match self.network_begin(id, &dir) {
            Ok(p) => Some(p),
            Err(e) => {
                self.unmount_idle_volume_devices(id);
                return Err(e);
            }
        };
        if !single_threaded() {
            let _ = self.network_down(id);
            return Err(Error::Monitor(
                "internal: network setup left threads behind; refusing to fork".into(),
            ));
        }
        let bundle = match Bundle::load(&dir) {
            Ok(b) => b,
            Err(e) => {
                let _ = self.network_down(id);
                return Err(e.into());
            }
        };
        let terminal = bundle
            .spec
            .process()
            .as_ref()
            .and_then(|p| p.terminal())
            .unwrap_or(false);
        let opts = CreateOptions {
            pty_to_runtime: terminal && hold_pty,
            ..CreateOptions::default()
        };
        let _ = nix::sys::prctl::set_child_subreaper(true);
        let mut net = None;
        let mut net_err = None;
        let mut on_init = |_pid: i32| -> std::result::Result<(), String> {
            let Some(p) = pending.take() else {
                return Ok(());
            };
            match self.network_complete(p, &dir) {
                Ok(up) => {
                    net = Some(up);
                    Ok(())
                }
                Err(e) => {
                    let text = e.to_string();
                    net_err = Some(e);
                    Err(text)
                }
            }
        };
        let created = berth_runtime::create_with(&rt, id, bundle, &opts, &mut on_init);
        let created = match created {
            Ok(c) => c,
            Err(e) => {
                let _ = self.network_down(id);
                // The network's own error, with its exit status and hints, when that failed.
                let e = net_err.unwrap_or_else(|| runtime_err(e));
                self.record_failure(id, &e);
                return Err(e);
            }
        };
        let net = net.unwrap_or_default();
        let pid = created.container.saved.pid;
        if let Err(e) = berth_runtime::start(&rt, id) {
            let _ = berth_runtime::delete(&rt, id, true);
            let _ = self.network_down(id);
            let e = runtime_err(e);
            self.record_failure(id, &e);
            return Err(e);
        }
        let owner = std::process::id();
        let owner_start = i32::try_from(owner)
            .ok()
            .and_then(berth_runtime::state::pid_start_time);
        self.store().update_container_state(id, |s| {
            s.status = ContainerStatus::Running;
            s.pid = Some(pid);
            s.started_at = Some(berth_store::digest::now_ns());
            s.exit_code = None;
            s.error = None;
            s.oom_killed = false;
            s.extra.insert("owner_pid".into(), json!(owner));
            s.extra.insert("owner_start".into(), json!(owner_start));
            s.extra.insert("stopped_by_user".into(), json!(false));
            net.apply(s);
            Ok(())
        })?;
        self.record_event(id, "start");
        Ok(Launched {
            pid,
            pty: created.pty,
        })
    }

    fn record_failure(&self, id: &str, e: &Error) {
        let code = e.exit_status();
        let msg = e.to_string();
        let _ = self.store().update_container_state(id, |s| {
            s.exit_code = Some(code);
            s.error = Some(msg);
            Ok(())
        });
    }

    /// Records the exit of a container whose process the caller waited for: OOM kill,
    /// exit code and time; removes the runtime state and unmounts the rootfs.
    pub fn finish(&self, id: &str, code: i32) -> Result<ContainerState> {
        let rt = self.runtime();
        let oom = rt
            .load(id)
            .ok()
            .and_then(|c| c.cgroup().ok())
            .and_then(|cg| cg.oom_kill_count().ok())
            .is_some_and(|n| n > 0);
        let del = berth_runtime::delete(&rt, id, true);
        let net = self.network_release(id);
        let _ = self.store().unmount_rootfs(id);
        let state = self.store().update_container_state(id, |s| {
            s.status = ContainerStatus::Exited;
            s.exit_code = Some(code);
            s.finished_at = Some(berth_store::digest::now_ns());
            s.oom_killed = oom;
            s.pid = None;
            super::health::checks_stopped(s);
            crate::networks::clear_network_runtime(s);
            // owner_pid stays: while a restart is pending, the owner still owns it.
            if let Err(e) = &net {
                s.error = Some(e.to_string());
            }
            Ok(())
        })?;
        self.unmount_idle_volume_devices(id);
        self.record_event(id, "die");
        del?;
        Ok(state)
    }

    /// Runs a created container in the foreground: this process is its parent, relays
    /// signals (and the terminal if it has one), records the exit, applies the restart
    /// policy and `--rm`. Returns the exit code.
    pub fn run_foreground(&self, name: &str) -> Result<i32> {
        let (rec, stored) = self.container(name)?;
        let id = rec.id;
        let (with_chld, old) = berth_runtime::block_relayed_signals()?;
        let result = (|| -> Result<i32> {
            let policy = stored.restart_policy();
            loop {
                let l = self.launch(&id, true)?;
                let code = berth_runtime::supervise(l.pid, l.pty, with_chld);
                let code = match code {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = self.finish(&id, 255);
                        return Err(e.into());
                    }
                };
                let st = self.finish(&id, code)?;
                let by_user = st
                    .extra
                    .get("stopped_by_user")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false);
                if !policy.should_restart(code, st.restart_count, by_user) {
                    return Ok(code);
                }
                self.store().update_container_state(&id, |s| {
                    s.restart_count += 1;
                    s.status = ContainerStatus::Restarting;
                    Ok(())
                })?;
            }
        })();
        let _ = old.thread_set_mask();
        if stored.opts.auto_remove {
            let _ = self.remove_container(&id, true, true);
        }
        result
    }

    /// The signal that stops this container: `--stop-signal`, the image's, or SIGTERM.
    pub fn stop_signal(stored: &Stored) -> i32 {
        stored
            .opts
            .stop_signal
            .clone()
            .or_else(|| Some(stored.image.stop_signal.clone()).filter(|s| !s.is_empty()))
            .and_then(|s| berth_runtime::parse_signal(&s).ok())
            .unwrap_or(libc::SIGTERM)
    }

    /// If the store says the container runs but its owner process is gone (crashed),
    /// records it as exited so it can be started or removed again.
    pub fn reconcile(&self, rec: &ContainerRecord) -> Result<ContainerStatus> {
        let st = &rec.state;
        if !matches!(
            st.status,
            ContainerStatus::Running | ContainerStatus::Paused | ContainerStatus::Restarting
        ) {
            return Ok(st.status);
        }
        if owner_alive(st) {
            return Ok(st.status);
        }
        // The owner is gone, so whatever it wrote before it ended is in the store now:
        // `rec` may be older than that (an owner that recorded the exit, then ended).
        let rec = &self.store().get_container(&rec.id)?;
        let st = &rec.state;
        if !matches!(
            st.status,
            ContainerStatus::Running | ContainerStatus::Paused | ContainerStatus::Restarting
        ) || owner_alive(st)
        {
            return Ok(st.status);
        }
        // The owner died: kill what is left and record an unknown end (137, as killed).
        let rt = self.runtime();
        if rt.load(&rec.id).is_ok() {
            let _ = berth_runtime::delete(&rt, &rec.id, true);
        }
        let st = self.finish(&rec.id, st.exit_code.unwrap_or(137))?;
        Ok(st.status)
    }

    /// Reconciles every container that the store says runs but whose owner died, so a
    /// listing (`ps`) shows them as exited; one made with `--rm` goes instead, as Docker's
    /// daemon removes an auto-remove container that ended (its `berth run` was killed, or
    /// its monitor). Cheap when all owners live: one query and a look at `/proc` per
    /// running container.
    pub fn reconcile_running(&self) -> Result<()> {
        let filter = berth_store::ContainerFilter {
            statuses: vec![
                ContainerStatus::Running,
                ContainerStatus::Paused,
                ContainerStatus::Restarting,
            ],
            ..Default::default()
        };
        for rec in self.store().list_containers(&filter)? {
            if !owner_alive(&rec.state) {
                self.reconcile(&rec)?;
                let (_, stored) = self.container(&rec.id)?;
                if stored.opts.auto_remove {
                    self.remove_container(&rec.id, true, true)?;
                }
            }
        }
        Ok(())
    }

    fn mark_stopped_by_user(&self, id: &str) -> Result<()> {
        self.store().update_container_state(id, |s| {
            s.extra.insert("stopped_by_user".into(), json!(true));
            Ok(())
        })?;
        Ok(())
    }

    /// `berth stop`: the stop signal, then SIGKILL after `timeout` seconds (default:
    /// `--stop-timeout` or 10). Stopping a stopped container does nothing.
    pub fn stop_container(&self, name: &str, timeout: Option<i64>) -> Result<String> {
        self.stop_container_with(name, timeout, None)
    }

    /// `berth stop -s SIGNAL`: like [`Engine::stop_container`], with `signal` (a name
    /// or number) instead of the container's stop signal.
    pub fn stop_container_with(
        &self,
        name: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<String> {
        let (rec, stored) = self.container(name)?;
        let sig = match signal {
            Some(s) => berth_runtime::parse_signal(s).map_err(|_| Error::Invalid {
                flag: "--signal",
                value: s.to_owned(),
                hint: "use a signal name or number, e.g. SIGTERM or 15".into(),
            })?,
            None => Self::stop_signal(&stored),
        };
        let id = rec.id.clone();
        if !matches!(
            self.reconcile(&rec)?,
            ContainerStatus::Running | ContainerStatus::Paused | ContainerStatus::Restarting
        ) {
            return Ok(id);
        }
        self.mark_stopped_by_user(&id)?;
        let rt = self.runtime();
        if rec.state.status == ContainerStatus::Paused {
            let _ = berth_runtime::resume(&rt, &id);
        }
        // A negative timeout waits for ever, as Docker's.
        let wait = match timeout.or(stored.opts.stop_timeout).unwrap_or(10) {
            s if s < 0 => None,
            s => Some(Duration::from_secs(s.unsigned_abs())),
        };
        let _ = berth_runtime::kill(&rt, &id, sig, false);
        let st = self.wait_exit(&id, wait)?;
        if matches!(
            st.status,
            ContainerStatus::Running | ContainerStatus::Paused | ContainerStatus::Restarting
        ) {
            let _ = berth_runtime::kill(&rt, &id, libc::SIGKILL, false);
            let _ = berth_runtime::kill(&rt, &id, libc::SIGKILL, true);
            self.wait_exit(&id, Some(Duration::from_secs(30)))?;
        }
        self.record_event(&id, "stop");
        Ok(id)
    }

    /// `berth kill -s SIGNAL`.
    pub fn kill_container(&self, name: &str, signal: &str) -> Result<String> {
        let (rec, _) = self.container(name)?;
        let sig = berth_runtime::parse_signal(signal).map_err(|_| Error::Invalid {
            flag: "--signal",
            value: signal.to_owned(),
            hint: "use a signal name or number, e.g. SIGTERM or 15".into(),
        })?;
        if self.reconcile(&rec)? != ContainerStatus::Running {
            return Err(Error::ContainerState {
                name: rec.name,
                status: rec.state.status.as_str().into(),
                op: "kill it",
                hint: "\nhint: the container is not running".into(),
            });
        }
        if sig == libc::SIGKILL || sig == libc::SIGTERM || sig == libc::SIGINT {
            self.mark_stopped_by_user(&rec.id)?;
        }
        // The init only, as Docker: when it dies the kernel ends its pid namespace.
        berth_runtime::kill(&self.runtime(), &rec.id, sig, false).map_err(runtime_err)?;
        self.record_event(&rec.id, "kill");
        Ok(rec.id)
    }

    /// `berth pause` / `unpause`.
    pub fn pause_container(&self, name: &str, pause: bool) -> Result<String> {
        let (rec, _) = self.container(name)?;
        let want = if pause {
            ContainerStatus::Running
        } else {
            ContainerStatus::Paused
        };
        if self.reconcile(&rec)? != want {
            return Err(Error::ContainerState {
                name: rec.name,
                status: rec.state.status.as_str().into(),
                op: if pause { "pause it" } else { "unpause it" },
                hint: String::new(),
            });
        }
        let rt = self.runtime();
        if pause {
            berth_runtime::pause(&rt, &rec.id)?;
        } else {
            berth_runtime::resume(&rt, &rec.id)?;
        }
        self.store().update_container_state(&rec.id, |s| {
            s.status = if pause {
                ContainerStatus::Paused
            } else {
                ContainerStatus::Running
            };
            // Docker stops checking a paused container and calls it unhealthy.
            if pause {
                super::health::checks_stopped(s);
            }
            Ok(())
        })?;
        self.record_event(&rec.id, if pause { "pause" } else { "unpause" });
        Ok(rec.id)
    }

    /// `berth rm [-f] [-v]`: refuses a running container without `force`; with
    /// `volumes`, also removes its anonymous volumes.
    pub fn remove_container(&self, name: &str, force: bool, volumes: bool) -> Result<String> {
        let rec = self.store().get_container(name)?;
        let id = rec.id.clone();
        let status = self.reconcile(&rec)?;
        if status.is_active() {
            if !force {
                return Err(Error::ContainerState {
                    name: rec.name,
                    status: status.as_str().into(),
                    op: "remove a running container",
                    hint: "\nhint: stop it first, or use rm -f".into(),
                });
            }
            self.mark_stopped_by_user(&id)?;
            let rt = self.runtime();
            let _ = berth_runtime::kill(&rt, &id, libc::SIGKILL, false);
            let _ = berth_runtime::kill(&rt, &id, libc::SIGKILL, true);
            let st = match self.wait_exit(&id, Some(Duration::from_secs(30))) {
                Ok(st) => st,
                // Its `--rm` monitor removed it once it died: what was asked is done.
                Err(Error::Store(berth_store::Error::ContainerNotFound(_))) => return Ok(id),
                Err(e) => return Err(e),
            };
            if matches!(
                st.status,
                ContainerStatus::Running | ContainerStatus::Paused
            ) {
                return Err(Error::ContainerState {
                    name: rec.name,
                    status: st.status.as_str().into(),
                    op: "remove it: it did not die after SIGKILL",
                    hint: String::new(),
                });
            }
        }
        // Its name and image for the `destroy` event, read before the row goes.
        let gone =
            |e: &berth_store::Error| force && matches!(e, berth_store::Error::ContainerNotFound(_));
        let rec_for_event = match self.store().get_container(&id) {
            Ok(r) => r,
            // Removed by its `--rm` monitor after the kill above.
            Err(e) if gone(&e) => return Ok(id),
            Err(e) => return Err(e.into()),
        };
        let vols = match self.store().container_volumes(&id) {
            Ok(v) => v,
            Err(e) if gone(&e) => return Ok(id),
            Err(e) => return Err(e.into()),
        };
        let rt = self.runtime();
        let _ = berth_runtime::delete(&rt, &id, true);
        let _ = fs_err::remove_file(self.attach_socket(&id));
        // Normally done when it stopped; repeated for a crashed owner. No state
        // write: the row goes next.
        let _ = self.network_release(&id);
        match self.store().remove_container(&id) {
            Ok(_) => {}
            Err(e) if gone(&e) => return Ok(id),
            Err(e) => return Err(e.into()),
        }
        if volumes {
            for (v, anonymous) in vols {
                if anonymous {
                    // Still used by another container: kept, as Docker does.
                    let _ = self.store().remove_volume(&v);
                }
            }
        }
        self.record_event_of(&rec_for_event, "destroy");
        Ok(id)
    }

    /// `berth rename`.
    pub fn rename_container(&self, name: &str, new_name: &str) -> Result<()> {
        self.store().rename_container(name, new_name)?;
        let id = self.store().resolve_container(new_name)?;
        self.record_event(&id, "rename");
        Ok(())
    }

    /// `berth container prune`: removes every stopped container; returns their ids.
    pub fn prune_containers(&self) -> Result<Vec<String>> {
        let filter = berth_store::ContainerFilter {
            statuses: vec![
                ContainerStatus::Exited,
                ContainerStatus::Created,
                ContainerStatus::Dead,
            ],
            ..Default::default()
        };
        let mut out = Vec::new();
        for c in self.store().list_containers(&filter)? {
            match self.remove_container(&c.id, false, false) {
                Ok(id) => out.push(id),
                Err(Error::ContainerState { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Host pids of the container's processes (`berth top`).
    pub fn container_pids(&self, name: &str) -> Result<Vec<i32>> {
        let (rec, _) = self.container(name)?;
        if self.reconcile(&rec)? != ContainerStatus::Running
            && rec.state.status != ContainerStatus::Paused
        {
            return Err(Error::ContainerState {
                name: rec.name,
                status: rec.state.status.as_str().into(),
                op: "list its processes",
                hint: "\nhint: start it first".into(),
            });
        }
        Ok(berth_runtime::ps(&self.runtime(), &rec.id)?)
    }

    /// Where the attach socket of a detached container lives (short: sun_path is 108 bytes).
    pub fn attach_socket(&self, id: &str) -> std::path::PathBuf {
        self.paths()
            .run
            .join("attach")
            .join(format!("{}.sock", short(id)))
    }
}
