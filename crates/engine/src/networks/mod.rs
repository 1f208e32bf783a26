//! Networks: `berth network create|ls|inspect|rm|prune|connect|disconnect`, and the
//! network side of a container's life (addresses, veths, published ports, DNS).
//!
//! A network is a store row (name, id, driver, subnet, labels) plus what `berth-net`
//! keeps: its subnet in IPAM, from its first container on a bridge and nftables rules,
//! and (for user networks, while containers use it) a resolver process. The bridge and
//! rules stay until `network rm` (or, for the default network, an idle moment of
//! `network prune`), as Docker keeps `docker0`: making and removing them with every
//! container cost about 90 ms per `run` (bridge creation and deletion, six `nft`
//! processes), a container now pays only for its veth. berth's nftables table goes
//! when nothing of berth's is left in it.
//!
//! Kernel objects are host-wide (a bridge name, a host port, a subnet), so berth-net's
//! state directory is host-wide too ([`net_state_dir`], `/run/berth/net`), shared by
//! every `--root`: two roots can never hand out the same subnet or host port. Each
//! network is keyed there by its full id; the default `bridge` network by `bridge`, so
//! all roots share one `berth0` as all Docker clients share `docker0`.
//!
//! ```no_run
//! use berth_engine::{Engine, Paths};
//! use berth_engine::networks::NetworkOptions;
//! let engine = Engine::open(Paths::under("/tmp/berth-demo"))?;
//! let net = engine.create_network("app-net", &NetworkOptions::default())?;
//! println!("{}", net.id);
//! # Ok::<(), berth_engine::Error>(())
//! ```

mod attach;
pub(crate) use attach::EXTRA_PORTS;
mod cleanup;
mod connect;
mod endpoint;
mod inspect;
pub mod links;
pub mod ports;
pub mod resolver;

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_net::ipam::{self, Ipam, SubnetRequest};
use berth_store::{NetworkFilter, NetworkRecord, NewNetwork};

pub use attach::{Endpoint, Mode, NetworkUp, PendingNetwork, clear_network_runtime};
pub use inspect::{network_json, settings};

use crate::{Engine, Error, Result};

/// The driver option that makes a network dual stack (Docker's name for `--ipv6`).
pub const IPV6_OPTION: &str = "com.docker.network.enable_ipv6";

/// Whether network `net` was made with `--ipv6`.
pub fn ipv6_enabled(net: &NetworkRecord) -> bool {
    net.options.get(IPV6_OPTION).is_some_and(|v| v == "true")
}

/// The name of Docker's default network.
pub const DEFAULT_NETWORK: &str = "bridge";
/// The default network's bridge (Docker's `docker0`).
pub const DEFAULT_BRIDGE: &str = "berth0";

/// berth-net's host-wide state (IPAM, published ports, resolvers).
/// `BERTH_NET_STATE` moves it (for experiments; all roots on a host should share it).
pub fn net_state_dir() -> PathBuf {
    std::env::var_os("BERTH_NET_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/berth/net"))
}

/// The flags of `berth network create`.
#[derive(Debug, Clone, Default)]
pub struct NetworkOptions {
    /// `-d/--driver` (only `bridge`).
    pub driver: Option<String>,
    /// `--subnet`.
    pub subnet: Option<String>,
    /// `--gateway`.
    pub gateway: Option<String>,
    /// `--ip-range`.
    pub ip_range: Option<String>,
    /// `--internal`.
    pub internal: bool,
    /// `--ipv6` (or `-o com.docker.network.enable_ipv6=true`): dual stack.
    pub ipv6: bool,
    /// `--subnet` with an IPv6 prefix (default: a random unique local /64).
    pub subnet6: Option<String>,
    /// `--gateway` with an IPv6 address.
    pub gateway6: Option<String>,
    /// `--label KEY=VALUE`.
    pub labels: Vec<String>,
    /// `-o/--opt KEY=VALUE`.
    pub options: Vec<String>,
}

/// The key of a network in berth-net's state: `bridge` for the default network (shared
/// by all roots), the full id otherwise.
pub fn net_key(net: &NetworkRecord) -> String {
    if net.name == DEFAULT_NETWORK {
        DEFAULT_NETWORK.to_owned()
    } else {
        net.id.clone()
    }
}

/// The Linux bridge of a network: `berth0` or `br-` and 12 hex digits of its id (or
/// `com.docker.network.bridge.name` from `--opt`).
pub fn bridge_name(net: &NetworkRecord) -> String {
    if let Some(n) = net.options.get("com.docker.network.bridge.name") {
        return n.clone();
    }
    if net.name == DEFAULT_NETWORK {
        DEFAULT_BRIDGE.to_owned()
    } else {
        format!("br-{}", &net.id[..12])
    }
}

fn kv(flag: &'static str, items: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for i in items {
        let (k, v) = i.split_once('=').unwrap_or((i, ""));
        if k.is_empty() {
            return Err(Error::Invalid {
                flag,
                value: i.clone(),
                hint: "use KEY=VALUE".into(),
            });
        }
        out.insert(k.to_owned(), v.to_owned());
    }
    Ok(out)
}

fn invalid(flag: &'static str, value: &str, e: impl std::fmt::Display) -> Error {
    Error::Invalid {
        flag,
        value: value.to_owned(),
        hint: e.to_string(),
    }
}

impl Engine {
    /// `berth network create`: reserves a subnet (refusing overlaps with other networks
    /// and host routes) and records the network. Nothing is made in the kernel yet.
    pub fn create_network(&self, name: &str, o: &NetworkOptions) -> Result<NetworkRecord> {
        let driver = o.driver.clone().unwrap_or_else(|| "bridge".into());
        if driver != "bridge" {
            return Err(Error::Invalid {
                flag: "--driver",
                value: driver,
                hint: "berth supports the bridge driver".into(),
            });
        }
        if matches!(name, DEFAULT_NETWORK | "host" | "none") {
            return Err(Error::Invalid {
                flag: "NAME",
                value: name.to_owned(),
                hint: format!("{name} is a pre-defined network"),
            });
        }
        for (flag, v) in [
            ("--subnet", &o.subnet),
            ("--gateway", &o.gateway),
            ("--ip-range", &o.ip_range),
        ] {
            if let Some(v) = v
                && v.contains(':')
            {
                return Err(Error::Invalid {
                    flag,
                    value: v.clone(),
                    hint: "berth takes IPv6 container addresses from a dual-stack network's \
                           IPv6 subnet; --ip-range is IPv4 only"
                        .into(),
                });
            }
        }
        let labels = kv("--label", &o.labels)?;
        let mut options = kv("--opt", &o.options)?;
        let ipv6 = o.ipv6 || options.get(IPV6_OPTION).is_some_and(|v| v == "true");
        if !ipv6 && (o.subnet6.is_some() || o.gateway6.is_some()) {
            return Err(Error::Invalid {
                flag: "--subnet",
                value: o.subnet6.clone().or(o.gateway6.clone()).unwrap_or_default(),
                hint: "an IPv6 subnet or gateway needs --ipv6".into(),
            });
        }
        if ipv6 {
            berth_net::sysctl::ipv6_available()?;
            options.insert(IPV6_OPTION.into(), "true".into());
        }
        let ipv6 = ipv6
            .then(|| -> Result<ipam::SubnetRequest6> {
                Ok(ipam::SubnetRequest6 {
                    subnet: o
                        .subnet6
                        .as_deref()
                        .map(|s| ipam::parse_subnet6(s).map_err(|e| invalid("--subnet", s, e)))
                        .transpose()?,
                    gateway: o
                        .gateway6
                        .as_deref()
                        .map(|g| g.parse().map_err(|e| invalid("--gateway", g, e)))
                        .transpose()?,
                })
            })
            .transpose()?;
        if ipv6.is_some_and(|r| r.subnet.is_none() && r.gateway.is_some()) {
            return Err(Error::Invalid {
                flag: "--gateway",
                value: o.gateway6.clone().unwrap_or_default(),
                hint: "an IPv6 --gateway needs an IPv6 --subnet".into(),
            });
        }
        let parse = |flag: &'static str, v: &Option<String>| {
            v.as_deref()
                .map(|s| ipam::parse_subnet(s).map_err(|e| invalid(flag, s, e)))
                .transpose()
        };
        let req = SubnetRequest {
            subnet: parse("--subnet", &o.subnet)?,
            gateway: o
                .gateway
                .as_deref()
                .map(|g| g.parse().map_err(|e| invalid("--gateway", g, e)))
                .transpose()?,
            ip_range: parse("--ip-range", &o.ip_range)?,
            default_bridge: false,
            ipv6,
        };
        if req.subnet.is_none() && (req.gateway.is_some() || req.ip_range.is_some()) {
            return Err(Error::Invalid {
                flag: "--gateway/--ip-range",
                value: String::new(),
                hint: "--gateway and --ip-range need --subnet".into(),
            });
        }
        if let Some(b) = options.get("com.docker.network.bridge.name")
            && (b.is_empty() || b.len() > 15)
        {
            return Err(invalid("--opt", b, "a bridge name has 1 to 15 characters"));
        }
        if let Ok(n) = self.store().get_network(name)
            && n.name == name
        {
            return Err(berth_store::Error::NetworkNameInUse {
                name: name.to_owned(),
                id: n.id,
            }
            .into());
        }
        let id = berth_store::digest::random_id()?;
        let routes = berth_net::route::host_routes()?;
        let addrs = Ipam::new(&net_state_dir()).create_network(&id, &req, &routes)?;
        let made = self.store().create_network(&NewNetwork {
            id: id.clone(),
            name: name.to_owned(),
            driver,
            subnet: Some(addrs.subnet.to_string()),
            gateway: Some(addrs.gateway.to_string()),
            internal: o.internal,
            labels,
            options,
        });
        match made {
            Ok(n) => {
                self.record_network_event(&n.id, "create");
                Ok(n)
            }
            Err(e) => {
                let _ = Ipam::new(&net_state_dir()).remove_network(&id);
                Err(e.into())
            }
        }
    }

    /// The default `bridge` network, recorded on first use: 172.17.0.0/16 on `berth0`
    /// unless another root already reserved it (then that reservation is shared).
    pub fn default_network(&self) -> Result<NetworkRecord> {
        if let Ok(n) = self.store().get_network(DEFAULT_NETWORK) {
            return Ok(n);
        }
        let ipam = Ipam::new(&net_state_dir());
        let addrs = match ipam.network(DEFAULT_NETWORK)? {
            Some(a) => a,
            None => {
                let routes: Vec<_> = berth_net::route::host_routes()?
                    .into_iter()
                    .filter(|r| r.dev != DEFAULT_BRIDGE)
                    .collect();
                let req = SubnetRequest {
                    default_bridge: true,
                    ..SubnetRequest::default()
                };
                match ipam.create_network(DEFAULT_NETWORK, &req, &routes) {
                    Ok(a) => a,
                    Err(berth_net::Error::NetworkExists(_)) => ipam
                        .network(DEFAULT_NETWORK)?
                        .ok_or_else(|| berth_net::Error::NetworkNotFound(DEFAULT_NETWORK.into()))?,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        // Docker lists `host` and `none` too; they are records only.
        for (name, driver) in [("host", "host"), ("none", "null")] {
            let _ = self.store().create_network(&NewNetwork {
                id: berth_store::digest::random_id()?,
                name: name.to_owned(),
                driver: driver.to_owned(),
                ..NewNetwork::default()
            });
        }
        let made = self.store().create_network(&NewNetwork {
            id: berth_store::digest::random_id()?,
            name: DEFAULT_NETWORK.to_owned(),
            driver: "bridge".into(),
            subnet: Some(addrs.subnet.to_string()),
            gateway: Some(addrs.gateway.to_string()),
            ..NewNetwork::default()
        });
        match made {
            Ok(n) => Ok(n),
            // Another berth process of this root was quicker.
            Err(berth_store::Error::NetworkNameInUse { .. }) => {
                Ok(self.store().get_network(DEFAULT_NETWORK)?)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A network by name, id or id prefix; `bridge`/`default` is the default network.
    pub fn find_network(&self, name: &str) -> Result<NetworkRecord> {
        if name == DEFAULT_NETWORK || name == "default" {
            return self.default_network();
        }
        Ok(self.store().get_network(name)?)
    }

    /// `berth network ls`: the default network first recorded if needed, then all.
    pub fn list_networks(&self, filter: &NetworkFilter) -> Result<Vec<NetworkRecord>> {
        self.default_network()?;
        Ok(self.store().list_networks(filter)?)
    }

    /// Names of the containers (of this root) attached to network `id`.
    pub fn network_users(&self, id: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for c in self
            .store()
            .list_containers(&berth_store::ContainerFilter::default())?
        {
            if attach::attachments(&c.state)
                .iter()
                .any(|a| a.network_id == id)
            {
                out.push(c.name);
            }
        }
        Ok(out)
    }

    /// `berth network rm`: refuses pre-defined networks and networks with containers.
    pub fn remove_network(&self, name: &str) -> Result<String> {
        if matches!(name, DEFAULT_NETWORK | "host" | "none") {
            return Err(Error::Invalid {
                flag: "NETWORK",
                value: name.to_owned(),
                hint: format!("{name} is a pre-defined network and cannot be removed"),
            });
        }
        let net = self.store().get_network(name)?;
        let users = self.network_users(&net.id)?;
        if !users.is_empty() {
            return Err(Error::NetworkInUse {
                name: net.name,
                containers: users.join(", "),
            });
        }
        let key = net_key(&net);
        let mut errors = Vec::new();
        // An idle network has nothing in the kernel; a crashed owner may have left some
        // (unless this process just took it down, see `network_down_when_idle`).
        if !self.taken_down(&key)
            && let Err(e) = endpoint::network_down_if_idle(&net, &key)
        {
            errors.push(e.to_string());
        }
        match Ipam::new(&net_state_dir()).remove_network(&key) {
            Ok(()) | Err(berth_net::Error::NetworkNotFound(_)) => {}
            Err(e) => errors.push(e.to_string()),
        }
        self.store().remove_network(&net.id)?;
        self.record_network_event(&net.id, "destroy");
        if errors.is_empty() {
            Ok(net.id)
        } else {
            Err(Error::Monitor(errors.join("\n")))
        }
    }

    /// Takes down network `name`'s bridge, rules and resolver as soon as no container is
    /// plugged into it any more, without removing the network; `give_up` ends the wait
    /// (then nothing is done and the result is false). `compose down` runs this while
    /// its last containers are still being cleaned up and removed, so the kernel's slow
    /// part of removing a network (unregistering the bridge) overlaps with theirs; the
    /// following [`Engine::remove_network`] skips what is already gone.
    pub fn network_down_when_idle(&self, name: &str, give_up: &dyn Fn() -> bool) -> Result<bool> {
        let net = self.store().get_network(name)?;
        let key = net_key(&net);
        let down = endpoint::network_down_when_idle(&net, &key, give_up)?;
        if down && let Ok(mut set) = self.taken_down.lock() {
            set.insert(key);
        }
        Ok(down)
    }

    fn taken_down(&self, key: &str) -> bool {
        self.taken_down.lock().is_ok_and(|s| s.contains(key))
    }

    /// `berth network prune`: removes every user network no container uses; returns
    /// their names. Also clears what crashed berth processes left behind.
    pub fn prune_networks(&self) -> Result<Vec<String>> {
        let _ = self.cleanup_stale_network();
        let mut out = Vec::new();
        for n in self.store().list_networks(&NetworkFilter::default())? {
            if matches!(n.name.as_str(), DEFAULT_NETWORK | "host" | "none")
                || !self.network_users(&n.id)?.is_empty()
            {
                continue;
            }
            self.remove_network(&n.id)?;
            out.push(n.name);
        }
        // The default network stays, but its bridge and rules go while no container
        // (of any root) uses it; its next container makes them again.
        if let Ok(n) = self.store().get_network(DEFAULT_NETWORK) {
            endpoint::network_down_if_idle(&n, &net_key(&n))?;
        }
        Ok(out)
    }

    fn record_network_event(&self, id: &str, action: &str) {
        use std::io::Write;
        let now = berth_store::digest::now_ns();
        let line = serde_json::json!({"Type": "network", "Action": action, "id": id,
            "time": now / 1_000_000_000, "timeNano": now});
        if let Ok(mut f) = fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.paths().data.join("events.log"))
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str) -> NetworkRecord {
        NetworkRecord {
            id: "0123456789abcdef".repeat(4),
            name: name.into(),
            driver: "bridge".into(),
            subnet: None,
            gateway: None,
            internal: false,
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            created: 0,
        }
    }

    #[test]
    fn bridges_and_keys() {
        assert_eq!(bridge_name(&rec("bridge")), "berth0");
        assert_eq!(net_key(&rec("bridge")), "bridge");
        assert_eq!(bridge_name(&rec("app")), "br-0123456789ab");
        assert_eq!(net_key(&rec("app")).len(), 64);
        let mut r = rec("app");
        r.options
            .insert("com.docker.network.bridge.name".into(), "mybr".into());
        assert_eq!(bridge_name(&r), "mybr");
        assert!(kv("--label", &["=x".into()]).is_err());
        assert_eq!(kv("--label", &["a=b=c".into()]).unwrap()["a"], "b=c");
    }
}
