//! `berth update`: new resource limits or restart policy for an existing container,
//! applied to its live cgroup (when it runs), its `config.json` (for later starts) and
//! its stored options (for `inspect` and restarts), in that order, so a limit the kernel
//! refuses changes nothing.

use serde_json::{Value, json};

use super::RestartPolicy;
use crate::{Engine, Error, Result};

/// What `berth update` changes; `None` keeps the current value.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UpdateOptions {
    /// `--memory` in bytes.
    pub memory: Option<i64>,
    /// `--memory-swap` in bytes (-1 unlimited).
    pub memory_swap: Option<i64>,
    /// `--cpus` in nano-CPUs (0 removes the limit).
    pub nano_cpus: Option<i64>,
    /// `--cpu-shares`.
    pub cpu_shares: Option<u64>,
    /// `--cpuset-cpus`.
    pub cpuset_cpus: Option<String>,
    /// `--pids-limit` (0 or -1 removes the limit).
    pub pids_limit: Option<i64>,
    /// `--blkio-weight` (0: unchanged, as in Docker).
    pub blkio_weight: Option<u16>,
    /// `--cpu-rt-period` in microseconds.
    pub cpu_rt_period: Option<i64>,
    /// `--cpu-rt-runtime` in microseconds.
    pub cpu_rt_runtime: Option<i64>,
    /// `--memory-reservation` in bytes (0: unchanged).
    pub memory_reservation: Option<i64>,
    /// `--cpu-period` in microseconds (0: unchanged).
    pub cpu_period: Option<i64>,
    /// `--cpu-quota` in microseconds (0: unchanged, -1: no limit).
    pub cpu_quota: Option<i64>,
    /// `--cpuset-mems`.
    pub cpuset_mems: Option<String>,
    /// `--restart`.
    pub restart: Option<String>,
}

impl UpdateOptions {
    /// Whether anything is asked at all.
    pub fn is_empty(&self) -> bool {
        *self == UpdateOptions::default()
    }
}

impl Engine {
    /// Applies `u` to container `name`; returns its full id.
    pub fn update_container(&self, name: &str, u: &UpdateOptions) -> Result<String> {
        if u.is_empty() {
            return Err(Error::Invalid {
                flag: "update",
                value: name.to_owned(),
                hint: "give at least one of --memory, --memory-swap, --memory-reservation, --cpus, --cpu-period, --cpu-quota, --cpu-shares, --cpuset-cpus, --cpuset-mems, --pids-limit, --blkio-weight, --cpu-rt-period, --cpu-rt-runtime, --restart".into(),
            });
        }
        let (rec, mut stored) = self.container(name)?;
        let old = stored.opts.clone();
        if let Some(r) = &u.restart {
            let policy = RestartPolicy::parse(r)?;
            if stored.opts.auto_remove && policy != RestartPolicy::No {
                return Err(Error::Invalid {
                    flag: "--restart",
                    value: r.clone(),
                    hint: "the container was started with --rm, which a restart policy contradicts"
                        .into(),
                });
            }
            stored.opts.restart = Some(r.clone());
        }
        let o = &mut stored.opts;
        if let Some(m) = u.memory {
            // Docker keeps an explicit swap limit; it must still cover the new memory.
            if u.memory_swap.is_none()
                && let Some(s) = o.memory_swap
                && s != -1
                && s < m
            {
                return Err(Error::Invalid {
                    flag: "--memory",
                    value: m.to_string(),
                    hint: format!(
                        "the container's --memory-swap is {s} bytes; raise it in the same update (--memory-swap)"
                    ),
                });
            }
            o.memory = Some(m);
        }
        if u.memory_swap.is_some() {
            o.memory_swap = u.memory_swap;
        }
        match u.nano_cpus {
            Some(0) => o.nano_cpus = None,
            Some(n) => o.nano_cpus = Some(n),
            None => {}
        }
        if u.cpu_shares.is_some() {
            o.cpu_shares = u.cpu_shares;
        }
        if u.cpuset_cpus.is_some() {
            o.cpuset_cpus.clone_from(&u.cpuset_cpus);
        }
        if u.pids_limit.is_some() {
            o.pids_limit = u.pids_limit.filter(|p| *p > 0);
        }
        // Docker's update leaves these alone when given 0 (the flags' default).
        if let Some(w) = u.blkio_weight.filter(|w| *w != 0) {
            o.kernel.blkio_weight = Some(w);
        }
        if let Some(p) = u.cpu_rt_period.filter(|p| *p != 0) {
            o.kernel.cpu_rt_period = Some(p);
        }
        if let Some(r) = u.cpu_rt_runtime.filter(|r| *r != 0) {
            o.kernel.cpu_rt_runtime = Some(r);
        }
        if let Some(m) = u.memory_reservation.filter(|m| *m != 0) {
            o.kernel.memory_reservation = Some(m);
        }
        cfs_conflicts(&old, u)?;
        if let Some(p) = u.cpu_period.filter(|p| *p != 0) {
            o.kernel.cpu_period = Some(p);
        }
        if let Some(q) = u.cpu_quota.filter(|q| *q != 0) {
            o.kernel.cpu_quota = Some(q);
        }
        if u.cpuset_mems.is_some() {
            o.kernel.cpuset_mems.clone_from(&u.cpuset_mems);
        }
        o.kernel.validate(o.network.as_deref(), o.nano_cpus)?;
        // Validated as at create; the device rules are not part of an update.
        let mut res = super::resources::resources(&stored.opts, &[])?;
        if let Some(r) = res.as_object_mut() {
            r.remove("devices");
        }
        lift_removed_limits(&mut res, &old, u);
        let running = matches!(
            self.reconcile(&rec)?,
            berth_store::ContainerStatus::Running | berth_store::ContainerStatus::Paused
        );
        if running {
            let live: oci_spec::runtime::LinuxResources = serde_json::from_value(res.clone())
                .map_err(|e| Error::Json {
                    what: "resource update".into(),
                    source: e,
                })?;
            berth_runtime::update(&self.runtime(), &rec.id, &live).map_err(|e| Error::Invalid {
                flag: "update",
                value: name.to_owned(),
                hint: format!("the kernel refused the new limits: {e}"),
            })?;
        }
        let dir = self.store().container_dir(&rec.id)?;
        rewrite_spec_resources(&dir, &res)?;
        let json = serde_json::to_string(&stored).map_err(|e| Error::Json {
            what: "container config".into(),
            source: e,
        })?;
        self.store().update_container_config(&rec.id, &json)?;
        Ok(rec.id)
    }
}

/// Docker's update refuses to mix the two ways of limiting CPU time: `--cpus` on a
/// container limited by `--cpu-period`/`--cpu-quota`, and the reverse.
fn cfs_conflicts(old: &super::RunOptions, u: &UpdateOptions) -> Result<()> {
    let cfs_asked = u.cpu_period.is_some_and(|p| p != 0) || u.cpu_quota.is_some_and(|q| q != 0);
    let cfs_set = old.kernel.cpu_period.is_some_and(|p| p > 0)
        || old.kernel.cpu_quota.is_some_and(|q| q != 0 && q != -1);
    if cfs_asked && old.nano_cpus.is_some() && u.nano_cpus != Some(0) {
        return Err(Error::Invalid {
            flag: if u.cpu_quota.is_some_and(|q| q != 0) {
                "--cpu-quota"
            } else {
                "--cpu-period"
            },
            value: String::new(),
            hint: "Conflicting options: CPU Quota and Period cannot be updated as NanoCPUs has already been set; lift it first with --cpus 0".into(),
        });
    }
    if u.nano_cpus.is_some_and(|n| n != 0) && (cfs_set || cfs_asked) {
        return Err(Error::Invalid {
            flag: "--cpus",
            value: String::new(),
            hint: "Conflicting options: Nano CPUs cannot be updated as CPU Period or Quota has already been set; use --cpu-period/--cpu-quota instead".into(),
        });
    }
    Ok(())
}

/// Where the update removes a limit, says so explicitly: the kernel keeps a value
/// that is merely left out.
fn lift_removed_limits(res: &mut Value, old: &super::RunOptions, u: &UpdateOptions) {
    if u.nano_cpus == Some(0) && old.nano_cpus.is_some() {
        res["cpu"]["quota"] = json!(-1);
        res["cpu"]["period"] = json!(100_000u64);
    }
    if u.pids_limit.is_some_and(|p| p <= 0) {
        res["pids"] = json!({"limit": -1});
    }
}

/// Replaces the memory, CPU, pids and block I/O parts of `linux.resources` in the
/// bundle's `config.json` (the device rules stay).
fn rewrite_spec_resources(dir: &std::path::Path, res: &Value) -> Result<()> {
    super::bundle::edit_spec(dir, |spec| {
        let target = &mut spec["linux"]["resources"];
        for key in ["memory", "cpu", "pids", "blockIO"] {
            match res.get(key) {
                Some(v) => target[key] = v.clone(),
                None => {
                    if let Some(o) = target.as_object_mut() {
                        o.remove(key);
                    }
                }
            }
        }
        Ok(true)
    })
}
