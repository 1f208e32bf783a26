//! A container's networks: what it is attached to (recorded at create, changed by
//! `network connect`/`disconnect`), brought up in a pinned network namespace before
//! its process starts and torn down after it ends.
//!
//! The namespace is made by berth (`<run>/netns/<id>`, a bind mount as `ip netns`
//! makes) and joined by path in the OCI spec, so veths, addresses, routes and port
//! rules are all in place before the container's first instruction, without a hook
//! and without forking: berth-net's netlink calls run on a current-thread runtime that
//! is gone when they return, so the launching process stays single-threaded.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use berth_net::ipam::Ipam;
use berth_net::{files, netns};
use berth_store::{ContainerState, NetworkRecord};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::endpoint::Member;
use super::{DEFAULT_NETWORK, net_key, net_state_dir, ports, resolver};
use crate::containers::{ImageConfig, RunOptions, short};
use crate::{Engine, Error, Result};

/// Where in a container's state its endpoints are kept.
pub(super) const EXTRA_NETWORKS: &str = "networks";
/// Where in a container's state its published ports are kept.
pub(crate) const EXTRA_PORTS: &str = "ports";

/// A container's network mode (`--network`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Only `lo`.
    None,
    /// The host's network namespace.
    Host,
    /// Another container's namespace (`container:NAME`).
    Container(String),
    /// A network (default: `bridge`), more with `network connect`.
    Network(String),
}

impl Mode {
    /// Reads `--network`.
    pub fn of(network: Option<&str>) -> Mode {
        match network {
            None | Some("" | "default") => Mode::Network(DEFAULT_NETWORK.into()),
            Some("none") => Mode::None,
            Some("host") => Mode::Host,
            Some(n) => match n.strip_prefix("container:") {
                Some(c) => Mode::Container(c.to_owned()),
                None => Mode::Network(n.to_owned()),
            },
        }
    }
}

/// `--ip`/`--ip6` as Docker records them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpamConfig {
    /// The requested address.
    #[serde(rename = "IPv4Address", default)]
    pub ipv4_address: String,
    /// The requested IPv6 address.
    #[serde(rename = "IPv6Address", default)]
    pub ipv6_address: String,
}

/// One container's membership in one network (Docker's `EndpointSettings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Endpoint {
    /// The network's name.
    #[serde(rename = "NetworkName")]
    pub network: String,
    /// The network's id.
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    /// `--network-alias` (DNS names besides the container's name).
    pub aliases: Vec<String>,
    /// `--ip`.
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<IpamConfig>,
    /// `--mac-address` as given.
    #[serde(rename = "MacRequested")]
    pub mac_requested: String,
    /// The address while running.
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    /// Its prefix length.
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: u8,
    /// The network's gateway while running.
    pub gateway: String,
    /// The IPv6 address while running (dual-stack networks).
    #[serde(rename = "GlobalIPv6Address")]
    pub global_ipv6_address: String,
    /// Its prefix length.
    #[serde(rename = "GlobalIPv6PrefixLen")]
    pub global_ipv6_prefix_len: u8,
    /// The network's IPv6 gateway while running.
    #[serde(rename = "IPv6Gateway")]
    pub ipv6_gateway: String,
    /// The MAC address while running.
    pub mac_address: String,
    /// The host end of the veth while running.
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
}

/// The endpoints recorded in a container's state.
pub fn attachments(state: &ContainerState) -> Vec<Endpoint> {
    state
        .extra
        .get(EXTRA_NETWORKS)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// Host name of a container's veth on its `n`th network (≤ 15 bytes).
pub(super) fn veth_name(id: &str, n: usize) -> String {
    format!("veth{}{n:x}", &id[..9])
}

/// The container's other name for that veth, used while the first still belongs to
/// its previous start's pair (see `link::Endpoint::spare_ifname`). The `x` keeps it
/// apart from every container's [`veth_name`], which is hex only.
pub(super) fn spare_veth_name(id: &str, n: usize) -> String {
    format!("veth{}x{n:x}", &id[..8])
}

/// Whether `ep` is the container's veth on its `n`th network, by either name.
pub(super) fn is_veth(ep: &Endpoint, id: &str, n: usize) -> bool {
    ep.endpoint_id == veth_name(id, n) || ep.endpoint_id == spare_veth_name(id, n)
}

pub(super) fn parse_ip(flag: &'static str, v: &str) -> Result<Ipv4Addr> {
    v.parse().map_err(|_| Error::Invalid {
        flag,
        value: v.to_owned(),
        hint: "use an IPv4 address such as 172.18.0.5".into(),
    })
}

pub(super) fn parse_ip6(flag: &'static str, v: &str) -> Result<Ipv6Addr> {
    v.parse().map_err(|_| Error::Invalid {
        flag,
        value: v.to_owned(),
        hint: "use an IPv6 address such as fd00:1::5".into(),
    })
}

/// Sets (or clears) the path of the network namespace in a bundle's `config.json`.
fn set_netns_path(dir: &Path, path: Option<&Path>) -> Result<()> {
    crate::containers::bundle::edit_spec(dir, |spec| {
        let Some(list) = spec
            .pointer_mut("/linux/namespaces")
            .and_then(|v| v.as_array_mut())
        else {
            return Ok(false);
        };
        let mut changed = false;
        for ns in list.iter_mut().filter(|n| n["type"] == "network") {
            if let Some(obj) = ns.as_object_mut() {
                changed |= match path {
                    Some(p) => {
                        obj.insert("path".into(), p.display().to_string().into())
                            != Some(p.display().to_string().into())
                    }
                    None => obj.remove("path").is_some(),
                };
            }
        }
        Ok(changed)
    })
}

impl Engine {
    /// The pinned network namespace of a container on networks.
    pub fn netns_path(&self, id: &str) -> PathBuf {
        self.paths().run.join("netns").join(id)
    }

    /// Checks the network flags of `create`/`run` against the networks that exist and
    /// returns the container's endpoints; nothing is changed.
    pub fn plan_networks(&self, opts: &RunOptions, image: &ImageConfig) -> Result<Vec<Endpoint>> {
        let specs = ports::specs(opts, image)?;
        for h in &opts.add_hosts {
            files::parse_add_host(h, Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))?;
        }
        for d in &opts.dns {
            d.parse::<IpAddr>().map_err(|_| Error::Invalid {
                flag: "--dns",
                value: d.clone(),
                hint: "use an IP address".into(),
            })?;
        }
        if let Some(m) = &opts.mac_address {
            berth_net::addr::parse_mac(m)?;
        }
        let mode = Mode::of(opts.network.as_deref());
        let conflict = |what: &str| Error::Invalid {
            flag: "--network",
            value: opts.network.clone().unwrap_or_default(),
            hint: format!("{what} needs a network; it conflicts with this network mode"),
        };
        let name = match mode {
            Mode::Network(n) => n,
            other => {
                if !specs.is_empty() && other != Mode::Host {
                    return Err(conflict("publishing ports (-p/-P)"));
                }
                if opts.ip.is_some() || opts.ip6.is_some() || !opts.network_aliases.is_empty() {
                    return Err(conflict("--ip/--ip6/--network-alias"));
                }
                if let Mode::Container(c) = &other {
                    self.store().get_container(c)?;
                }
                return Ok(Vec::new());
            }
        };
        let net = self.find_network(&name)?;
        ports::check_host_families(opts, &specs, &net)?;
        if !opts.network_aliases.is_empty() && net.name == DEFAULT_NETWORK {
            return Err(Error::Invalid {
                flag: "--network-alias",
                value: opts.network_aliases.join(","),
                hint: "network-scoped aliases are supported only on user-defined networks".into(),
            });
        }
        let ipam_config = match &opts.ip {
            Some(ip) if net.name == DEFAULT_NETWORK => {
                return Err(Error::Invalid {
                    flag: "--ip",
                    value: ip.clone(),
                    hint: "user specified IP addresses are supported on user-defined networks only"
                        .into(),
                });
            }
            Some(ip) => {
                let addr = parse_ip("--ip", ip)?;
                if let Some(s) = net
                    .subnet
                    .as_deref()
                    .and_then(|s| s.parse::<Ipv4Net>().ok())
                    && !s.contains(&addr)
                {
                    return Err(Error::Invalid {
                        flag: "--ip",
                        value: ip.clone(),
                        hint: format!("the address is not in network {}'s subnet {s}", net.name),
                    });
                }
                Some(IpamConfig {
                    ipv4_address: addr.to_string(),
                    ..IpamConfig::default()
                })
            }
            None => None,
        };
        let ipam_config = match &opts.ip6 {
            Some(ip6) => {
                let addr = self.check_ip6(&net, ip6)?;
                let mut c = ipam_config.unwrap_or_default();
                c.ipv6_address = addr.to_string();
                Some(c)
            }
            None => ipam_config,
        };
        Ok(vec![Endpoint {
            network: net.name.clone(),
            network_id: net.id.clone(),
            aliases: opts.network_aliases.clone(),
            ipam_config,
            mac_requested: opts.mac_address.clone().unwrap_or_default(),
            ..Endpoint::default()
        }])
    }

    /// Checks `--ip6` against network `net`: it must be dual stack and the address
    /// inside its IPv6 subnet.
    pub(super) fn check_ip6(&self, net: &NetworkRecord, ip6: &str) -> Result<Ipv6Addr> {
        let addr = parse_ip6("--ip6", ip6)?;
        let v6 = Ipam::new(&net_state_dir())
            .network(&net_key(net))?
            .and_then(|a| a.v6);
        let bad = |hint: String| Error::Invalid {
            flag: "--ip6",
            value: ip6.to_owned(),
            hint,
        };
        match v6 {
            None => Err(bad(format!(
                "network {} has no IPv6 subnet; create a network with --ipv6",
                net.name
            ))),
            Some(v6) if !v6.subnet.contains(&addr) => Err(bad(format!(
                "the address is not in network {}'s subnet {}",
                net.name, v6.subnet
            ))),
            Some(_) => Ok(addr),
        }
    }

    /// Records a container's endpoints in its state.
    pub fn record_networks(&self, id: &str, endpoints: &[Endpoint]) -> Result<()> {
        let v = serde_json::to_value(endpoints).map_err(|e| Error::Json {
            what: "network endpoints".into(),
            source: e,
        })?;
        self.store().update_container_state(id, |s| {
            s.extra.insert(EXTRA_NETWORKS.into(), v.clone());
            Ok(())
        })?;
        Ok(())
    }

    /// Containers started with `--network container:<id>` mark themselves here.
    fn netns_users(&self, id: &str) -> PathBuf {
        self.paths().run.join("netns-users").join(id)
    }

    /// Whether container `id`'s namespace dies once it is unpinned: no container
    /// shares it (a crashed sharer's mark errs on the safe side).
    fn netns_dies_with(&self, id: &str) -> bool {
        fs_err::read_dir(self.netns_users(id)).map_or(true, |mut d| d.next().is_none())
    }

    /// Gives a container about to start its network, in two halves so that the slow one
    /// runs while the container's init builds its root filesystem. This one: for
    /// `container:NAME` the other container's namespace; for networks a pinned namespace,
    /// named in the spec. [`Engine::network_complete`] then puts one veth per network,
    /// addresses, the default route, published ports, DNS records and
    /// `/etc/hosts`/`/etc/resolv.conf` in it. Nothing of the container runs before both
    /// are done. On failure nothing stays.
    ///
    /// What the second half made (addresses, veth names, published ports) is returned,
    /// not stored: the caller applies it with the state change it writes anyway when the
    /// container starts, which saves a store commit (an fsync) per start.
    pub fn network_begin(&self, id: &str, dir: &Path) -> Result<PendingNetwork> {
        let (rec, stored) = self.container(id)?;
        match Mode::of(stored.opts.network.as_deref()) {
            Mode::Host => return Ok(PendingNetwork::Done),
            Mode::None => return set_netns_path(dir, None).map(|()| PendingNetwork::Done),
            Mode::Container(other) => {
                let (o, _) = self.container(&other)?;
                let pid = o
                    .state
                    .pid
                    .filter(|_| o.state.status == berth_store::ContainerStatus::Running);
                let Some(pid) = pid else {
                    return Err(Error::ContainerState {
                        name: o.name,
                        status: o.state.status.as_str().into(),
                        op: "share its network namespace",
                        hint: "\nhint: start that container first".into(),
                    });
                };
                // Marks the namespace as shared: its owner's teardown must then delete
                // its veths itself (see `network_down`).
                let mark = self.netns_users(&o.id).join(id);
                if let Some(parent) = mark.parent() {
                    fs_err::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                }
                fs_err::write(&mark, b"").map_err(|e| Error::io(&mark, e))?;
                return set_netns_path(dir, Some(&PathBuf::from(format!("/proc/{pid}/ns/net"))))
                    .map(|()| PendingNetwork::Done);
            }
            Mode::Network(_) => {}
        }
        self.maybe_cleanup_after_boot();
        let ns = self.netns_path(id);
        if let Some(parent) = ns.parent() {
            fs_err::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        // A leftover of a crashed owner.
        netns::delete(&ns)?;
        netns::create(&ns)?;
        if let Err(e) = set_netns_path(dir, Some(&ns)) {
            let _ = self.network_down(id);
            return Err(e);
        }
        Ok(PendingNetwork::Endpoints {
            id: id.to_owned(),
            name: rec.name,
            stored: Box::new(stored),
            state: Box::new(rec.state),
            ns,
        })
    }

    /// The second half of [`Engine::network_begin`].
    pub fn network_complete(&self, pending: PendingNetwork, dir: &Path) -> Result<NetworkUp> {
        let PendingNetwork::Endpoints {
            id,
            name,
            stored,
            state,
            ns,
        } = pending
        else {
            return Ok(NetworkUp::default());
        };
        let result = self.network_up_inner(&id, &name, &stored, &state, &ns, dir);
        if result.is_err() {
            let _ = self.network_down(&id);
        }
        result
    }

    fn network_up_inner(
        &self,
        id: &str,
        name: &str,
        stored: &crate::containers::Stored,
        state: &ContainerState,
        ns: &Path,
        dir: &Path,
    ) -> Result<NetworkUp> {
        let mut eps = attachments(state);
        let mut ips = Vec::new();
        let mut v6_route = true;
        // Links are names on the network the container was made for (its first), as
        // Docker keeps `run --link` in that network's endpoint settings.
        let mut links = super::links::dns_links(&stored.opts);
        for (n, ep) in eps.iter_mut().enumerate() {
            let links = std::mem::take(&mut links);
            self.endpoint_up(&Member { id, name, links }, ns, n, ep, v6_route)?;
            ips.push(IpAddr::V4(parse_ip("--ip", &ep.ip_address)?));
            if !ep.global_ipv6_address.is_empty() {
                ips.push(IpAddr::V6(parse_ip6("--ip6", &ep.global_ipv6_address)?));
                v6_route = false;
            }
        }
        let mut up = NetworkUp {
            endpoints: Some(serde_json::to_value(&eps).map_err(|e| Error::Json {
                what: "network endpoints".into(),
                source: e,
            })?),
            ports: None,
        };
        if let Some(primary) = eps.first() {
            let specs = ports::specs(&stored.opts, &stored.image)?;
            if !specs.is_empty() {
                let ip = parse_ip("--ip", &primary.ip_address)?;
                let ip6 = match primary.global_ipv6_address.as_str() {
                    "" => None,
                    a => Some(parse_ip6("--ip6", a)?),
                };
                let publish =
                    |mode| berth_net::ports::publish(&net_state_dir(), id, ip, ip6, &specs, mode);
                // nftables first; whether it works here is asked only if that failed
                // (asking costs an `nft` process per container otherwise).
                let bound = match publish(berth_net::ports::Mode::Nat) {
                    Err(_) if !super::endpoint::nft_available() => {
                        publish(berth_net::ports::Mode::Proxy)?
                    }
                    other => other?,
                };
                if bound
                    .iter()
                    .any(|b| berth_net::ports::proxy_listen(b).is_some())
                {
                    resolver::spawn_helper("__proxy", &net_state_dir(), id)?;
                }
                up.ports = Some(serde_json::to_value(&bound).map_err(|e| Error::Json {
                    what: "published ports".into(),
                    source: e,
                })?);
            }
        }
        self.write_net_files(stored, &eps, ips, dir)?;
        self.update_parents_hosts(id, name, &eps);
        Ok(up)
    }

    /// Takes a stopped (or failed) container off its networks: published ports,
    /// veths, addresses, DNS records, its namespace; resolvers of networks whose last
    /// container it was stop too; then clears the addresses from its state. Goes on
    /// after errors and reports them all; safe to repeat.
    pub fn network_down(&self, id: &str) -> Result<()> {
        let released = self.network_release(id);
        self.store().update_container_state(id, |s| {
            clear_network_runtime(s);
            Ok(())
        })?;
        released
    }

    /// [`Engine::network_down`] without the store write: for callers that change
    /// the container's state anyway (they call [`clear_network_runtime`] in that
    /// change) or remove it.
    pub fn network_release(&self, id: &str) -> Result<()> {
        let rec = self.store().get_container(id)?;
        let mut errors: Vec<String> = Vec::new();
        let state = net_state_dir();
        if let Ok(stored) = crate::containers::Stored::parse(&rec.id, rec.config.as_deref())
            && let Mode::Container(other) = Mode::of(stored.opts.network.as_deref())
            && let Ok(o) = self.store().get_container(&other)
        {
            let _ = fs_err::remove_file(self.netns_users(&o.id).join(id));
        }
        if rec.state.extra.contains_key(EXTRA_PORTS)
            || berth_net::ports::bindings(&state, id).is_ok_and(|b| !b.is_empty())
        {
            if let Err(e) = berth_net::ports::unpublish(&state, id) {
                errors.push(e.to_string());
            }
        }
        let ns = self.netns_path(id);
        if ns.exists() {
            let dies = self.netns_dies_with(id);
            for (n, ep) in attachments(&rec.state).iter().enumerate() {
                errors.extend(
                    self.endpoint_down(id, n, ep, dies)
                        .iter()
                        .map(ToString::to_string),
                );
            }
            if let Err(e) = netns::delete(&ns) {
                errors.push(e.to_string());
            }
            // Gone only when empty: a sharer still running keeps its mark.
            let _ = fs_err::remove_dir(self.netns_users(id));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Monitor(format!(
                "tearing down the network of container {}:\n{}",
                short(id),
                errors.join("\n")
            )))
        }
    }
}

/// What [`Engine::network_complete`] made that belongs in the container's state.
#[derive(Debug, Default, Clone)]
#[must_use = "the container's state must get its addresses: call apply"]
pub struct NetworkUp {
    endpoints: Option<serde_json::Value>,
    ports: Option<serde_json::Value>,
}

/// A container's network half made (see [`Engine::network_begin`]).
pub enum PendingNetwork {
    /// Nothing more to do (host, none, another container's namespace).
    Done,
    /// The namespace exists; its endpoints are still to be made.
    Endpoints {
        /// The container.
        id: String,
        /// Its name.
        name: String,
        /// Its config.
        stored: Box<crate::containers::Stored>,
        /// Its state (the endpoints a previous start chose).
        state: Box<ContainerState>,
        /// The pinned namespace.
        ns: PathBuf,
    },
}

impl NetworkUp {
    /// Writes the endpoints (addresses, veths) and published ports into `s`.
    pub fn apply(&self, s: &mut ContainerState) {
        if let Some(v) = &self.endpoints {
            s.extra.insert(EXTRA_NETWORKS.into(), v.clone());
        }
        if let Some(v) = &self.ports {
            s.extra.insert(EXTRA_PORTS.into(), v.clone());
        }
    }
}

/// Clears what a running container's networks put in its state (addresses, veth
/// names, published ports); the endpoints themselves stay for the next start.
pub fn clear_network_runtime(s: &mut ContainerState) {
    s.extra.remove(EXTRA_PORTS);
    let mut eps = attachments(s);
    if eps.is_empty() {
        return;
    }
    for ep in &mut eps {
        ep.ip_address.clear();
        ep.ip_prefix_len = 0;
        ep.gateway.clear();
        ep.mac_address.clear();
        ep.endpoint_id.clear();
        ep.global_ipv6_address.clear();
        ep.global_ipv6_prefix_len = 0;
        ep.ipv6_gateway.clear();
    }
    if let Ok(v) = serde_json::to_value(&eps) {
        s.extra.insert(EXTRA_NETWORKS.into(), v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_follow_docker() {
        assert_eq!(Mode::of(None), Mode::Network("bridge".into()));
        assert_eq!(Mode::of(Some("default")), Mode::Network("bridge".into()));
        assert_eq!(Mode::of(Some("none")), Mode::None);
        assert_eq!(Mode::of(Some("host")), Mode::Host);
        assert_eq!(Mode::of(Some("container:db")), Mode::Container("db".into()));
        assert_eq!(Mode::of(Some("app")), Mode::Network("app".into()));
        assert!(veth_name(&"a".repeat(64), 3).len() <= 15);
        assert!(spare_veth_name(&"a".repeat(64), 15).len() <= 15);
        assert_ne!(
            veth_name(&"a".repeat(64), 0),
            spare_veth_name(&"a".repeat(64), 0)
        );
    }

    #[test]
    fn exit_clears_both_families_and_ports_but_keeps_the_endpoints() {
        let mut s = ContainerState::default();
        let ep = Endpoint {
            network: "v6net".into(),
            network_id: "n1".into(),
            ipam_config: Some(IpamConfig {
                ipv4_address: String::new(),
                ipv6_address: "fd00::42".into(),
            }),
            ip_address: "10.0.0.2".into(),
            ip_prefix_len: 24,
            global_ipv6_address: "fd00::42".into(),
            global_ipv6_prefix_len: 64,
            ipv6_gateway: "fd00::1".into(),
            endpoint_id: "vethabc0".into(),
            ..Endpoint::default()
        };
        let up = NetworkUp {
            endpoints: Some(serde_json::to_value(vec![ep]).unwrap()),
            ports: Some(serde_json::json!([{"HostPort": "80"}])),
        };
        up.apply(&mut s);
        let json = serde_json::to_value(attachments(&s)).unwrap();
        assert_eq!(json[0]["GlobalIPv6Address"], "fd00::42");
        assert_eq!(json[0]["IPAMConfig"]["IPv6Address"], "fd00::42");
        assert!(s.extra.contains_key(EXTRA_PORTS));
        clear_network_runtime(&mut s);
        let eps = attachments(&s);
        assert_eq!(eps.len(), 1);
        assert!(eps[0].ip_address.is_empty() && eps[0].global_ipv6_address.is_empty());
        assert!(eps[0].ipv6_gateway.is_empty() && eps[0].endpoint_id.is_empty());
        assert_eq!(
            eps[0].ipam_config.as_ref().unwrap().ipv6_address,
            "fd00::42",
            "what was asked for stays"
        );
        assert!(!s.extra.contains_key(EXTRA_PORTS));
    }
}
