//! `berth inspect` for containers, in Docker's JSON shape, and `ps`'s status words.

use std::time::{Duration, SystemTime};

use berth_store::{ContainerRecord, ContainerStatus};
use serde_json::{Value, json};

use super::health::{self, Health};
use super::options::AttachStreams;
use super::{Stored, spec};
use crate::Engine;

/// RFC 3339 (nanoseconds, UTC) of a time in ns since the epoch; Docker's zero time for
/// none.
pub fn rfc3339(ns: Option<i64>) -> String {
    match ns.and_then(|n| u64::try_from(n).ok()) {
        Some(n) => {
            humantime::format_rfc3339_nanos(SystemTime::UNIX_EPOCH + Duration::from_nanos(n))
                .to_string()
        }
        None => "0001-01-01T00:00:00Z".into(),
    }
}

/// A coarse, human duration like Docker's (`5 seconds`, `About a minute`, `3 hours`).
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..=59 => format!("{s} seconds"),
        60..=119 => "About a minute".into(),
        120..=3599 => format!("{} minutes", s / 60),
        3600..=7199 => "About an hour".into(),
        7200..=172_799 => format!("{} hours", s / 3600),
        _ => format!("{} days", s / 86400),
    }
}

fn since(ns: Option<i64>) -> Duration {
    let now = berth_store::digest::now_ns();
    Duration::from_nanos(u64::try_from(now - ns.unwrap_or(now)).unwrap_or(0))
}

/// The keys of a container state's `extra` that [`status_text`] and
/// `networks::ports::ps_text` read: a listing that shows no more than they do asks
/// the store for just these (`ContainerFilter::state_keys`) and skips the rest.
pub fn listing_state_keys() -> Vec<String> {
    vec![
        super::health::STATE_KEY.to_owned(),
        crate::networks::EXTRA_PORTS.to_owned(),
    ]
}

/// `ps`'s STATUS column: `Up 5 minutes`, `Exited (0) 3 seconds ago`, `Created`.
pub fn status_text(rec: &ContainerRecord) -> String {
    let st = &rec.state;
    match st.status {
        ContainerStatus::Running => match Health::of(st) {
            Some(h) => format!(
                "Up {} ({})",
                human_duration(since(st.started_at)),
                h.ps_text()
            ),
            None => format!("Up {}", human_duration(since(st.started_at))),
        },
        ContainerStatus::Paused => format!("Up {} (Paused)", human_duration(since(st.started_at))),
        ContainerStatus::Restarting => format!(
            "Restarting ({}) {} ago",
            st.exit_code.unwrap_or(0),
            human_duration(since(st.finished_at))
        ),
        ContainerStatus::Exited => format!(
            "Exited ({}) {} ago",
            st.exit_code.unwrap_or(0),
            human_duration(since(st.finished_at))
        ),
        ContainerStatus::Created => "Created".into(),
        ContainerStatus::Removing => "Removal In Progress".into(),
        ContainerStatus::Dead => "Dead".into(),
    }
}

impl Engine {
    /// Docker's `inspect` document for a container.
    pub fn inspect_container(&self, name: &str) -> crate::Result<Value> {
        let (rec, stored) = self.container(name)?;
        let _ = self.reconcile(&rec);
        let rec = self.store().get_container(&rec.id)?;
        Ok(inspect_json(self, &rec, &stored))
    }
}

fn inspect_json(engine: &Engine, rec: &ContainerRecord, s: &Stored) -> Value {
    let st = &rec.state;
    let o = &s.opts;
    let attach = AttachStreams::of(o);
    let dir = engine.store().container_dir(&rec.id).unwrap_or_default();
    let env = spec::environment(o, &s.image, &s.hostname, "");
    let (entrypoint, cmd): (Value, Value) = {
        let ep: Vec<String> = match &o.entrypoint {
            Some(e) if e.is_empty() => vec![],
            Some(e) => vec![e.clone()],
            None => s.image.entrypoint.clone(),
        };
        let cmd = if !o.cmd.is_empty() {
            o.cmd.clone()
        } else if o.entrypoint.is_some() {
            vec![]
        } else {
            s.image.cmd.clone()
        };
        (
            if ep.is_empty() {
                Value::Null
            } else {
                json!(ep)
            },
            if cmd.is_empty() {
                Value::Null
            } else {
                json!(cmd)
            },
        )
    };
    let restart = s.restart_policy();
    let max_retry = match restart {
        super::RestartPolicy::OnFailure { max } => max,
        _ => 0,
    };
    let running = st.status == ContainerStatus::Running || st.status == ContainerStatus::Paused;
    let mut doc = json!({
        "Id": rec.id,
        "Created": rfc3339(Some(rec.created)),
        "Path": s.path,
        "Args": s.args,
        "State": {
            "Status": st.status.as_str(),
            "Running": running,
            "Paused": st.status == ContainerStatus::Paused,
            "Restarting": st.status == ContainerStatus::Restarting,
            "OOMKilled": st.oom_killed,
            "Dead": st.status == ContainerStatus::Dead,
            "Pid": if running { st.pid.unwrap_or(0) } else { 0 },
            "ExitCode": st.exit_code.unwrap_or(0),
            "Error": st.error.clone().unwrap_or_default(),
            "StartedAt": rfc3339(st.started_at),
            "FinishedAt": rfc3339(st.finished_at),
        },
        "Image": rec.image_id.clone().unwrap_or_default(),
        "ResolvConfPath": dir.join("resolv.conf"),
        "HostnamePath": dir.join("hostname"),
        "HostsPath": dir.join("hosts"),
        // Docker's LogPath is empty for a driver that writes no file.
        "LogPath": if o.log_driver.as_deref() == Some("none") { std::path::PathBuf::new() } else { super::logs::log_path(&dir, &rec.id) },
        "Name": format!("/{}", rec.name),
        "RestartCount": st.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "HostConfig": {
            "Binds": o.volumes.iter().filter(|v| v.contains(':')).collect::<Vec<_>>(),
            "LogConfig": {"Type": o.log_driver.clone().unwrap_or_else(|| "json-file".into()), "Config": o.log_opts.iter().filter_map(|kv| kv.split_once('=')).collect::<std::collections::BTreeMap<_, _>>()},
            "NetworkMode": o.network.clone().unwrap_or_else(|| "bridge".into()),
            "PortBindings": o.publish,
            "PublishAllPorts": o.publish_all,
            "Dns": o.dns,
            "DnsSearch": o.dns_search,
            "ExtraHosts": o.add_hosts,
            "RestartPolicy": {"Name": restart.name(), "MaximumRetryCount": max_retry},
            "AutoRemove": o.auto_remove,
            "CapAdd": o.cap_add,
            "CapDrop": o.cap_drop,
            "GroupAdd": o.group_add,
            "Privileged": o.privileged,
            "ReadonlyRootfs": o.read_only,
            "SecurityOpt": o.security_opt,
            "Tmpfs": o.tmpfs.iter().map(|t| t.split_once(':').map_or((t.as_str(), ""), |(a, b)| (a, b))).collect::<std::collections::BTreeMap<_, _>>(),
            "Memory": o.memory.unwrap_or(0),
            "MemorySwap": o.memory_swap.unwrap_or(0),
            "NanoCpus": o.nano_cpus.unwrap_or(0),
            "CpuShares": o.cpu_shares.unwrap_or(0),
            "CpusetCpus": o.cpuset_cpus.clone().unwrap_or_default(),
            "PidsLimit": o.pids_limit,
            "Ulimits": o.ulimits,
            "Devices": o.devices,
            "Init": o.init,
        },
        "Mounts": s.mounts,
        "Config": {
            "Hostname": s.hostname,
            "User": o.user.clone().unwrap_or_else(|| s.image.user.clone()),
            "AttachStdin": attach.stdin,
            "AttachStdout": attach.stdout,
            "AttachStderr": attach.stderr,
            "Tty": o.tty,
            "OpenStdin": o.interactive,
            // Docker closes stdin after the first attached client is done with it.
            "StdinOnce": attach.stdin && o.interactive,
            "Env": env,
            "Cmd": cmd,
            "Image": rec.image_ref,
            "Volumes": if s.image.volumes.is_empty() { Value::Null } else { json!(s.image.volumes) },
            "WorkingDir": o.workdir.clone().unwrap_or_else(|| s.image.working_dir.clone()),
            "Entrypoint": entrypoint,
            "Labels": rec.labels,
            "StopSignal": o.stop_signal.clone().unwrap_or_else(|| if s.image.stop_signal.is_empty() { "SIGTERM".into() } else { s.image.stop_signal.clone() }),
            "StopTimeout": o.stop_timeout,
            "ExposedPorts": if s.image.exposed_ports.is_empty() { Value::Null } else { json!(s.image.exposed_ports) },
        },
        "NetworkSettings": crate::networks::settings(rec, &s.image.exposed_ports.keys().cloned().collect::<Vec<_>>()),
    });
    add_kernel_host_config(&mut doc["HostConfig"], o, &rec.name);
    // Docker omits both when there is no check.
    if let Some(h) = Health::of(st) {
        doc["State"]["Health"] = json!(h);
    }
    if let Some(h) = health::merged(o, &s.image) {
        doc["Config"]["Healthcheck"] = json!(h);
    }
    doc
}

/// The `HostConfig` fields of the finer flags, under Docker's names (Docker shows unset
/// ones as 0, empty lists and `null`).
fn add_kernel_host_config(hc: &mut Value, o: &super::RunOptions, name: &str) {
    let k = &o.kernel;
    let h = &o.host;
    let fields = [
        ("BlkioWeight", json!(k.blkio_weight.unwrap_or(0))),
        ("BlkioWeightDevice", json!(k.blkio_weight_device)),
        ("BlkioDeviceReadBps", json!(k.device_read_bps)),
        ("BlkioDeviceWriteBps", json!(k.device_write_bps)),
        ("BlkioDeviceReadIOps", json!(k.device_read_iops)),
        ("BlkioDeviceWriteIOps", json!(k.device_write_iops)),
        (
            "MemoryReservation",
            json!(k.memory_reservation.unwrap_or(0)),
        ),
        ("MemorySwappiness", json!(k.memory_swappiness)),
        ("OomKillDisable", json!(k.oom_kill_disable)),
        ("OomScoreAdj", json!(k.oom_score_adj.unwrap_or(0))),
        ("CpuPeriod", json!(k.cpu_period.unwrap_or(0))),
        ("CpuQuota", json!(k.cpu_quota.unwrap_or(0))),
        ("CpuRealtimePeriod", json!(k.cpu_rt_period.unwrap_or(0))),
        ("CpuRealtimeRuntime", json!(k.cpu_rt_runtime.unwrap_or(0))),
        (
            "CpusetMems",
            json!(k.cpuset_mems.clone().unwrap_or_default()),
        ),
        (
            "CgroupParent",
            json!(k.cgroup_parent.clone().unwrap_or_default()),
        ),
        (
            "Links",
            if o.links.is_empty() {
                Value::Null
            } else {
                json!(crate::networks::links::inspect_names(o, name))
            },
        ),
        ("Runtime", json!(h.runtime_name())),
        (
            "DeviceRequests",
            if h.gpus.is_empty() {
                Value::Null
            } else {
                json!(h.gpus)
            },
        ),
        (
            "StorageOpt",
            if h.storage_opt.is_empty() {
                Value::Null
            } else {
                json!(h.storage_opt)
            },
        ),
    ];
    for (key, v) in fields {
        hc[key] = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_docker() {
        assert_eq!(human_duration(Duration::from_secs(3)), "3 seconds");
        assert_eq!(human_duration(Duration::from_secs(90)), "About a minute");
        assert_eq!(human_duration(Duration::from_secs(600)), "10 minutes");
        assert_eq!(rfc3339(None), "0001-01-01T00:00:00Z");
        assert!(rfc3339(Some(1_000_000_000)).starts_with("1970-01-01T00:00:01"));
    }
}
