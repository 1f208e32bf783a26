//! The `run`/`create` flags that reach into the kernel beyond the basics: namespaces to
//! share (`--pid`, `--ipc`, `--uts`, `--cgroupns`), `--sysctl`, `--shm-size`, OOM
//! tuning, the finer memory/CPU/block-I/O limits, device cgroup rules, the cgroup
//! parent, `--domainname` and `--annotation`. Each is checked as Docker checks it and
//! turned into its part of the OCI spec here.

use oci_spec::runtime::LinuxNamespaceType;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::blkio::{BlkioDevices, ThrottleDevice, WeightDevice};
use crate::{Error, Result};

/// Docker's default `/dev/shm` size: 64 MiB.
pub const DEFAULT_SHM_SIZE: i64 = 64 * 1024 * 1024;

/// The flags (stored with the container as given, after parsing sizes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KernelOptions {
    /// `--shm-size` in bytes.
    pub shm_size: Option<i64>,
    /// `--sysctl KEY=VALUE`.
    pub sysctls: Vec<String>,
    /// `--pid host|container:NAME`.
    pub pid: Option<String>,
    /// `--ipc private|shareable|none|host|container:NAME`.
    pub ipc: Option<String>,
    /// `--uts host`.
    pub uts: Option<String>,
    /// `--cgroupns host|private`.
    pub cgroupns: Option<String>,
    /// `--cgroup-parent`.
    pub cgroup_parent: Option<String>,
    /// `--oom-kill-disable`.
    pub oom_kill_disable: bool,
    /// `--oom-score-adj` (-1000 … 1000).
    pub oom_score_adj: Option<i32>,
    /// `--memory-reservation` in bytes.
    pub memory_reservation: Option<i64>,
    /// `--memory-swappiness` (0 … 100).
    pub memory_swappiness: Option<i64>,
    /// `--cpu-period` in microseconds.
    pub cpu_period: Option<i64>,
    /// `--cpu-quota` in microseconds.
    pub cpu_quota: Option<i64>,
    /// `--cpuset-mems`.
    pub cpuset_mems: Option<String>,
    /// `--blkio-weight` (10 … 1000).
    pub blkio_weight: Option<u16>,
    /// `--blkio-weight-device DEVICE:WEIGHT`.
    pub blkio_weight_device: Vec<WeightDevice>,
    /// `--device-read-bps DEVICE:RATE` in bytes per second.
    pub device_read_bps: Vec<ThrottleDevice>,
    /// `--device-write-bps DEVICE:RATE` in bytes per second.
    pub device_write_bps: Vec<ThrottleDevice>,
    /// `--device-read-iops DEVICE:RATE`.
    pub device_read_iops: Vec<ThrottleDevice>,
    /// `--device-write-iops DEVICE:RATE`.
    pub device_write_iops: Vec<ThrottleDevice>,
    /// `--cpu-rt-period` in microseconds.
    pub cpu_rt_period: Option<i64>,
    /// `--cpu-rt-runtime` in microseconds.
    pub cpu_rt_runtime: Option<i64>,
    /// `--device-cgroup-rule 'c 1:3 mr'`.
    pub device_cgroup_rules: Vec<String>,
    /// `--domainname`.
    pub domainname: Option<String>,
    /// `--annotation KEY=VALUE`.
    pub annotations: Vec<String>,
}

/// How a container gets one kind of namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NsMode {
    /// Its own.
    Private,
    /// The host's (no namespace in the spec).
    Host,
    /// Another container's (its path is set when this one starts).
    Container(String),
}

fn invalid(flag: &'static str, value: &str, hint: &str) -> Error {
    Error::Invalid {
        flag,
        value: value.to_owned(),
        hint: hint.to_owned(),
    }
}

/// Parses a `--pid`/`--ipc`/`--uts` value.
fn ns_mode(flag: &'static str, v: Option<&str>, extra: &[&str]) -> Result<NsMode> {
    match v {
        None | Some("" | "private") => Ok(NsMode::Private),
        Some(e) if extra.contains(&e) => Ok(NsMode::Private),
        Some("host") => Ok(NsMode::Host),
        Some(c) => match c.strip_prefix("container:") {
            Some(name) if !name.is_empty() && flag != "--uts" => {
                Ok(NsMode::Container(name.to_owned()))
            }
            _ => Err(invalid(
                flag,
                c,
                if flag == "--uts" {
                    "use host"
                } else {
                    "use host or container:NAME (and for --ipc also private, shareable or none)"
                },
            )),
        },
    }
}

impl KernelOptions {
    /// `--pid`.
    pub fn pid_mode(&self) -> Result<NsMode> {
        ns_mode("--pid", self.pid.as_deref(), &[])
    }

    /// `--ipc` (`shareable` and `none` are private namespaces; `none` has no `/dev/shm`).
    pub fn ipc_mode(&self) -> Result<NsMode> {
        ns_mode("--ipc", self.ipc.as_deref(), &["shareable", "none"])
    }

    /// `--uts`.
    pub fn uts_mode(&self) -> Result<NsMode> {
        ns_mode("--uts", self.uts.as_deref(), &[])
    }

    /// Checks every value (called at create, so nothing is made for bad input).
    pub fn validate(&self, network: Option<&str>, nano_cpus: Option<i64>) -> Result<()> {
        self.pid_mode()?;
        self.ipc_mode()?;
        self.uts_mode()?;
        if let Some(c) = self.cgroupns.as_deref()
            && !matches!(c, "host" | "private")
        {
            return Err(invalid("--cgroupns", c, "use host or private"));
        }
        if let Some(s) = self.oom_score_adj
            && !(-1000..=1000).contains(&s)
        {
            return Err(invalid(
                "--oom-score-adj",
                &s.to_string(),
                "use a value between -1000 and 1000",
            ));
        }
        if let Some(s) = self.memory_swappiness
            && !(-1..=100).contains(&s)
        {
            return Err(invalid(
                "--memory-swappiness",
                &s.to_string(),
                "use a value between 0 and 100",
            ));
        }
        if let Some(w) = self.blkio_weight
            && w != 0
            && !(10..=1000).contains(&w)
        {
            return Err(invalid(
                "--blkio-weight",
                &w.to_string(),
                "use a value between 10 and 1000",
            ));
        }
        for d in &self.blkio_weight_device {
            if d.weight != 0 && !(10..=1000).contains(&d.weight) {
                return Err(invalid(
                    "--blkio-weight-device",
                    &format!("{}:{}", d.path, d.weight),
                    "use a weight between 10 and 1000",
                ));
            }
        }
        if nano_cpus.is_some() && (self.cpu_period.is_some() || self.cpu_quota.is_some()) {
            return Err(invalid(
                "--cpus",
                "",
                "--cpus cannot be combined with --cpu-period or --cpu-quota; use one or the other",
            ));
        }
        if let Some(p) = self.cpu_period
            && p != 0
            && !(1000..=1_000_000).contains(&p)
        {
            return Err(invalid(
                "--cpu-period",
                &p.to_string(),
                "use 1000 to 1000000 microseconds",
            ));
        }
        if let Some(q) = self.cpu_quota
            && q != 0
            && q != -1
            && q < 1000
        {
            return Err(invalid(
                "--cpu-quota",
                &q.to_string(),
                "use at least 1000 microseconds, or -1",
            ));
        }
        if let Some(s) = self.shm_size
            && s <= 0
        {
            return Err(invalid(
                "--shm-size",
                &s.to_string(),
                "use a size greater than 0, e.g. 256m",
            ));
        }
        self.check_realtime()?;
        self.sysctl(network)?;
        self.device_rules()?;
        for a in &self.annotations {
            if !a.contains('=') {
                return Err(invalid("--annotation", a, "use KEY=VALUE"));
            }
        }
        Ok(())
    }

    /// `linux.sysctl`: only sysctls the container's own namespaces isolate, as Docker
    /// allows (IPC ones unless `--ipc host`, `net.*` unless `--network host`).
    pub fn sysctl(&self, network: Option<&str>) -> Result<Map<String, Value>> {
        let mut out = Map::new();
        for kv in &self.sysctls {
            let Some((k, v)) = kv.split_once('=') else {
                return Err(invalid(
                    "--sysctl",
                    kv,
                    "use KEY=VALUE, e.g. net.core.somaxconn=1024",
                ));
            };
            let scope = berth_runtime::spec::sysctl_namespace(k);
            let ipc = scope == Some(LinuxNamespaceType::Ipc);
            let net = scope == Some(LinuxNamespaceType::Network);
            if ipc && self.ipc.as_deref() == Some("host") {
                return Err(invalid(
                    "--sysctl",
                    kv,
                    "IPC sysctls cannot be set with --ipc host",
                ));
            }
            if net && network == Some("host") {
                return Err(invalid(
                    "--sysctl",
                    kv,
                    "net.* sysctls cannot be set with --network host",
                ));
            }
            if !ipc && !net {
                return Err(invalid(
                    "--sysctl",
                    kv,
                    "not namespaced: only IPC sysctls (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*) and net.* can be set per container",
                ));
            }
            out.insert(k.to_owned(), Value::String(v.to_owned()));
        }
        Ok(out)
    }

    /// `--device-cgroup-rule` as OCI device rules.
    pub fn device_rules(&self) -> Result<Vec<Value>> {
        self.device_cgroup_rules
            .iter()
            .map(|r| {
                let bad = || {
                    invalid(
                        "--device-cgroup-rule",
                        r,
                        "use TYPE MAJOR:MINOR ACCESS, e.g. 'c 1:3 mr' or 'a *:* rwm'",
                    )
                };
                let f: Vec<&str> = r.split_whitespace().collect();
                let [kind, numbers, access] = f[..] else {
                    return Err(bad());
                };
                if !matches!(kind, "a" | "b" | "c")
                    || access.is_empty()
                    || !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
                {
                    return Err(bad());
                }
                let (ma, mi) = numbers.split_once(':').ok_or_else(bad)?;
                let num = |s: &str| -> Result<Value> {
                    match s {
                        "*" => Ok(Value::Null),
                        n => n.parse::<i64>().map(|n| json!(n)).map_err(|_| bad()),
                    }
                };
                let mut rule = json!({"allow": true, "type": kind, "access": access});
                for (key, v) in [("major", num(ma)?), ("minor", num(mi)?)] {
                    if !v.is_null() {
                        rule[key] = v;
                    }
                }
                Ok(rule)
            })
            .collect()
    }

    /// Adds the finer limits to `linux.resources` (made from the basic flags).
    pub fn add_resources(&self, r: &mut Value) -> Result<()> {
        let mem = &mut r["memory"];
        if let Some(v) = self.memory_reservation {
            mem["reservation"] = json!(v);
        }
        if let Some(v) = self.memory_swappiness.filter(|s| *s >= 0) {
            mem["swappiness"] = json!(v);
        }
        if self.oom_kill_disable {
            mem["disableOOMKiller"] = json!(true);
        }
        if mem.as_object().is_some_and(Map::is_empty) || mem.is_null() {
            if let Some(o) = r.as_object_mut() {
                o.remove("memory");
            }
        }
        let cpu = &mut r["cpu"];
        if let Some(p) = self.cpu_period.filter(|p| *p > 0) {
            cpu["period"] = json!(p);
        }
        if let Some(q) = self.cpu_quota.filter(|q| *q != 0) {
            cpu["quota"] = json!(q);
        }
        if let Some(m) = &self.cpuset_mems {
            cpu["mems"] = json!(m);
        }
        if let Some(p) = self.cpu_rt_period.filter(|p| *p > 0) {
            cpu["realtimePeriod"] = json!(p);
        }
        if let Some(r) = self.cpu_rt_runtime.filter(|r| *r != 0) {
            cpu["realtimeRuntime"] = json!(r);
        }
        if cpu.as_object().is_some_and(Map::is_empty) || cpu.is_null() {
            if let Some(o) = r.as_object_mut() {
                o.remove("cpu");
            }
        }
        let mut block_io = json!({});
        if let Some(w) = self.blkio_weight.filter(|w| *w > 0) {
            block_io["weight"] = json!(w);
        }
        self.blkio_devices().add_to(&mut block_io)?;
        if block_io.as_object().is_some_and(|o| !o.is_empty()) {
            r["blockIO"] = block_io;
        }
        let rules = self.device_rules()?;
        if let Some(list) = r["devices"].as_array_mut() {
            list.extend(rules);
        }
        Ok(())
    }

    /// The per-device block I/O flags.
    pub fn blkio_devices(&self) -> BlkioDevices<'_> {
        BlkioDevices {
            weight: &self.blkio_weight_device,
            read_bps: &self.device_read_bps,
            write_bps: &self.device_write_bps,
            read_iops: &self.device_read_iops,
            write_iops: &self.device_write_iops,
        }
    }

    /// `--cpu-rt-period`/`--cpu-rt-runtime` as Docker checks them: the runtime fits in
    /// the period, and the host schedules realtime tasks per cgroup (cgroup v1 with
    /// `CONFIG_RT_GROUP_SCHED`; cgroup v2 has no realtime bandwidth).
    pub fn check_realtime(&self) -> Result<()> {
        let (period, runtime) = (self.cpu_rt_period, self.cpu_rt_runtime);
        for (flag, v) in [("--cpu-rt-period", period), ("--cpu-rt-runtime", runtime)] {
            if let Some(v) = v.filter(|v| *v != 0) {
                if v < -1 || (flag == "--cpu-rt-period" && v < 0) {
                    return Err(invalid(
                        flag,
                        &v.to_string(),
                        "use microseconds, e.g. 950000",
                    ));
                }
                berth_cgroups::cpu_realtime().map_err(|reason| {
                    invalid(
                        flag,
                        &v.to_string(),
                        &format!("your kernel does not support CPU real-time scheduler: {reason}"),
                    )
                })?;
            }
        }
        if let (Some(p), Some(r)) = (period, runtime)
            && p > 0
            && r > p
        {
            return Err(invalid(
                "--cpu-rt-runtime",
                &r.to_string(),
                "cpu real-time runtime cannot be higher than cpu real-time period",
            ));
        }
        Ok(())
    }

    /// The `/dev/shm` size in bytes.
    pub fn shm_bytes(&self) -> i64 {
        self.shm_size.unwrap_or(DEFAULT_SHM_SIZE)
    }

    /// `annotations` of the spec.
    pub fn annotations(&self) -> Map<String, Value> {
        self.annotations
            .iter()
            .filter_map(|a| a.split_once('='))
            .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
            .collect()
    }

    /// `linux.cgroupsPath` under `--cgroup-parent`, if given.
    pub fn cgroups_path(&self, id: &str) -> Option<String> {
        self.cgroup_parent
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| format!("/{}/{id}", p.trim_matches('/')))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctls_must_be_namespaced() {
        let k = |s: &[&str], ipc: Option<&str>| KernelOptions {
            sysctls: s.iter().map(|x| (*x).to_owned()).collect(),
            ipc: ipc.map(str::to_owned),
            ..KernelOptions::default()
        };
        let m = k(&["net.core.somaxconn=1024", "kernel.shmmax=1000"], None)
            .sysctl(None)
            .unwrap();
        assert_eq!(m["net.core.somaxconn"], "1024");
        assert!(k(&["kernel.hostname=x"], None).sysctl(None).is_err());
        assert!(k(&["vm.swappiness=1"], None).sysctl(None).is_err());
        assert!(
            k(&["net.ipv4.ip_forward=1"], None)
                .sysctl(Some("host"))
                .is_err()
        );
        assert!(
            k(&["kernel.sem=1 2 3 4"], Some("host"))
                .sysctl(None)
                .is_err()
        );
        assert!(k(&["novalue"], None).sysctl(None).is_err());
    }

    #[test]
    fn namespace_modes_follow_docker() {
        let o = KernelOptions {
            pid: Some("container:db".into()),
            ipc: Some("shareable".into()),
            uts: Some("host".into()),
            ..KernelOptions::default()
        };
        assert_eq!(o.pid_mode().unwrap(), NsMode::Container("db".into()));
        assert_eq!(o.ipc_mode().unwrap(), NsMode::Private);
        assert_eq!(o.uts_mode().unwrap(), NsMode::Host);
        let bad = KernelOptions {
            uts: Some("container:x".into()),
            ..KernelOptions::default()
        };
        assert!(bad.validate(None, None).is_err());
    }

    #[test]
    fn device_rules_and_limits() {
        let o = KernelOptions {
            device_cgroup_rules: vec!["c 1:3 mr".into(), "a *:* rwm".into()],
            memory_reservation: Some(1024),
            cpu_period: Some(50_000),
            cpu_quota: Some(25_000),
            blkio_weight: Some(300),
            ..KernelOptions::default()
        };
        let mut r = json!({"devices": [{"allow": false, "access": "rwm"}]});
        o.add_resources(&mut r).unwrap();
        assert_eq!(
            r["devices"][1],
            json!({"allow": true, "type": "c", "major": 1, "minor": 3, "access": "mr"})
        );
        assert_eq!(
            r["devices"][2],
            json!({"allow": true, "type": "a", "access": "rwm"})
        );
        assert_eq!(r["memory"]["reservation"], 1024);
        assert_eq!(r["cpu"], json!({"period": 50_000, "quota": 25_000}));
        assert_eq!(r["blockIO"]["weight"], 300);
        let bad = KernelOptions {
            device_cgroup_rules: vec!["x 1:3 mr".into()],
            ..KernelOptions::default()
        };
        assert!(bad.device_rules().is_err());
        let both = KernelOptions {
            cpu_quota: Some(5000),
            ..KernelOptions::default()
        };
        assert!(both.validate(None, Some(1_000_000_000)).is_err());
    }
}
