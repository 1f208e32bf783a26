//! One entry of `services:`: every key berth understands, each accepting Compose's short and
//! long syntaxes and holding the normalized (long) form.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::build::Build;
use super::de::{
    Scalar, bool_or_false, command, env_map, extra_hosts, is_false, label_map, list, opt_bool,
    opt_number, string_map,
};
use super::depends::Dependency;
use super::deploy::Deploy;
use super::env_file::{EnvFile, env_files};
use super::health::Healthcheck;
use super::mounts::{Mount, mounts};
use super::ports::{Port, ports};
use super::tuning::{BlkioConfig, Logging, Ulimit, micros, swap_limit};
use super::units::{ByteSize, Duration};

/// A service. Fields are in alphabetical order, as `docker compose config` prints them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// Annotations passed to the OCI runtime.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "label_map"
    )]
    pub annotations: BTreeMap<String, String>,
    /// Block I/O weights and per-device throttles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blkio_config: Option<BlkioConfig>,
    /// How to build the image.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::build::build"
    )]
    pub build: Option<Build>,
    /// Capabilities added.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "list"
    )]
    pub cap_add: Vec<String>,
    /// Capabilities dropped.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "list"
    )]
    pub cap_drop: Vec<String>,
    /// `host` or `private` cgroup namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    /// Parent cgroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_parent: Option<String>,
    /// Overrides the image's CMD; a string is split into words.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "command"
    )]
    pub command: Option<Vec<String>>,
    /// A fixed container name instead of `project-service-N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// CFS period in microseconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_number"
    )]
    pub cpu_period: Option<i64>,
    /// CFS quota in microseconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_number"
    )]
    pub cpu_quota: Option<i64>,
    /// Realtime period in microseconds (or a duration).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "micros"
    )]
    pub cpu_rt_period: Option<i64>,
    /// Realtime runtime in microseconds (or a duration).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "micros"
    )]
    pub cpu_rt_runtime: Option<i64>,
    /// Relative CPU weight.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_number"
    )]
    pub cpu_shares: Option<u64>,
    /// CPU limit (`1.5`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_number"
    )]
    pub cpus: Option<f64>,
    /// CPUs the container may use (`0-2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset: Option<String>,
    /// Services this one needs, with the condition to wait for.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "super::depends::depends_on"
    )]
    pub depends_on: BTreeMap<String, Dependency>,
    /// Replicas and resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<Deploy>,
    /// Device cgroup rules (`c 1:3 mr`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "list"
    )]
    pub device_cgroup_rules: Vec<String>,
    /// Host devices (`/dev/fuse:/dev/fuse:rwm`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "list"
    )]
    pub devices: Vec<String>,
    /// DNS servers.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "list"
    )]
    pub dns: Vec<String>,
    /// resolv.conf options.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "list"
    )]
    pub dns_opt: Vec<String>,
    /// DNS search domains.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "list"
    )]
    pub dns_search: Vec<String>,
    /// NIS domain name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    /// Overrides the image's ENTRYPOINT; a string is split into words.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "command"
    )]
    pub entrypoint: Option<Vec<String>>,
    /// Files of `KEY=VALUE` lines whose variables join `environment`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "env_files"
    )]
    pub env_file: Vec<EnvFile>,
    /// Environment variables; `None` means "taken from berth's environment if set".
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "env_map"
    )]
    pub environment: BTreeMap<String, Option<String>>,
    /// Ports exposed to linked services only.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "list"
    )]
    pub expose: Vec<String>,
    /// Extra `/etc/hosts` lines as `host=ip`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "extra_hosts"
    )]
    pub extra_hosts: Vec<String>,
    /// Containers outside the project to reach by name (`NAME[:ALIAS]`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "list"
    )]
    pub external_links: Vec<String>,
    /// Supplementary groups.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "list"
    )]
    pub group_add: Vec<String>,
    /// Health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    /// Container hostname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Image reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Run an init as PID 1.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub init: Option<bool>,
    /// IPC mode (`shareable`, `host`, `service:NAME`, `container:NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    /// Container labels.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "label_map"
    )]
    pub labels: BTreeMap<String, String>,
    /// Other services reachable under an extra name (`SERVICE[:ALIAS]`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "list"
    )]
    pub links: Vec<String>,
    /// Log driver and its options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// MAC address on the first network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// Memory limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_limit: Option<ByteSize>,
    /// Memory soft limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_reservation: Option<ByteSize>,
    /// Swappiness (0 to 100).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_number"
    )]
    pub mem_swappiness: Option<i64>,
    /// Memory plus swap limit; -1 for unlimited swap.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "swap_limit"
    )]
    pub memswap_limit: Option<i64>,
    /// `host`, `none`, `service:NAME`, `container:NAME`; replaces `networks`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// Networks to join, with per-network options.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "networks"
    )]
    pub networks: BTreeMap<String, Option<ServiceNetwork>>,
    /// Disable the OOM killer.
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "bool_or_false"
    )]
    pub oom_kill_disable: bool,
    /// OOM score adjustment (-1000 to 1000).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_number"
    )]
    pub oom_score_adj: Option<i32>,
    /// PID mode (`host`, `service:NAME`, `container:NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    /// Process limit.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_number"
    )]
    pub pids_limit: Option<i64>,
    /// Published ports.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "ports"
    )]
    pub ports: Vec<Port>,
    /// Platform of the image (`linux/amd64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Privileged container.
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "bool_or_false"
    )]
    pub privileged: bool,
    /// Profiles that enable this service; none means always enabled.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "list"
    )]
    pub profiles: Vec<String>,
    /// `always`, `never`, `missing`, `build`, `if_not_present`…
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "pull_policy"
    )]
    pub pull_policy: Option<String>,
    /// Read-only root filesystem.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub read_only: Option<bool>,
    /// `no`, `always`, `on-failure[:N]`, `unless-stopped`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "restart"
    )]
    pub restart: Option<String>,
    /// OCI runtime (`runc`; berth is its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// Number of containers (legacy key, same as `deploy.replicas`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_number"
    )]
    pub scale: Option<u32>,
    /// Security options (`no-new-privileges`, `seccomp=…`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "list"
    )]
    pub security_opt: Vec<String>,
    /// Size of /dev/shm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<ByteSize>,
    /// Keep stdin open.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub stdin_open: Option<bool>,
    /// Storage driver options (`size`).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "string_map"
    )]
    pub storage_opt: BTreeMap<String, String>,
    /// Time between the stop signal and SIGKILL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<Duration>,
    /// Signal that stops the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Namespaced kernel parameters.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "label_map"
    )]
    pub sysctls: BTreeMap<String, String>,
    /// tmpfs mounts (`/run`, `/tmp:size=64m`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "list"
    )]
    pub tmpfs: Vec<String>,
    /// Allocate a TTY.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub tty: Option<bool>,
    /// Resource limits (`nofile: {soft: 1024, hard: 2048}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    /// `user[:group]`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::de::opt_scalar_string"
    )]
    pub user: Option<String>,
    /// UTS mode (`host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uts: Option<String>,
    /// Mounts.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "mounts"
    )]
    pub volumes: Vec<Mount>,
    /// Mounts of other services (`svc[:ro]`) or containers (`container:NAME[:ro]`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "list"
    )]
    pub volumes_from: Vec<String>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
}

impl Service {
    /// Containers wanted: `scale`, else `deploy.replicas`, else 1.
    pub fn replicas(&self) -> u32 {
        self.scale
            .or_else(|| self.deploy.as_ref().and_then(|d| d.replicas))
            .unwrap_or(1)
    }
}

/// Per-network options of a service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceNetwork {
    /// Extra DNS names on this network.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "list"
    )]
    pub aliases: Vec<String>,
    /// Fixed IPv4 address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    /// Fixed IPv6 address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    /// Order in which networks are connected (higher first).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_number"
    )]
    pub priority: Option<i32>,
}

fn networks<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Option<ServiceNetwork>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = BTreeMap<String, Option<ServiceNetwork>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of network names or a mapping")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(Scalar(name)) = seq.next_element()? {
                out.insert(name, None);
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(Scalar(name)) = map.next_key()? {
                let value: Option<ServiceNetwork> = map.next_value()?;
                out.insert(name, value);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

fn restart<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let Some(Scalar(v)) = Option::<Scalar>::deserialize(d)? else {
        return Ok(None);
    };
    // YAML 1.1 users write `restart: no` unquoted, which arrives as the bool false.
    let v = if v == "false" { "no".to_string() } else { v };
    let ok = match v.split_once(':') {
        Some(("on-failure", n)) => n.parse::<u32>().is_ok(),
        Some(_) => false,
        None => matches!(
            v.as_str(),
            "no" | "always" | "on-failure" | "unless-stopped"
        ),
    };
    if ok {
        Ok(Some(v))
    } else {
        Err(de::Error::custom(format!(
            "{v:?} is not a restart policy (no, always, on-failure[:N], unless-stopped)"
        )))
    }
}

fn pull_policy<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let Some(Scalar(v)) = Option::<Scalar>::deserialize(d)? else {
        return Ok(None);
    };
    let ok = matches!(
        v.as_str(),
        "always" | "never" | "missing" | "if_not_present" | "build" | "daily" | "weekly"
    ) || v.starts_with("every_");
    if ok {
        Ok(Some(v))
    } else {
        Err(de::Error::custom(format!(
            "{v:?} is not a pull policy (always, never, missing, build)"
        )))
    }
}
