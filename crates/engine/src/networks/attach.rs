//! A container's networks: what it is attached to (recorded at create, changed by
//! `network connect`/`disconnect`), brought up in a pinned network namespace before
//! its process starts and torn down after it ends.
//!
//! The namespace is made by berth (`<run>/netns/<id>`, a bind mount as `ip netns`
//! makes) and joined by path in the OCI spec, so veths, addresses, routes and port
//! rules are all in place before the container's first instruction, without a hook
//! and without forking: berth-net's netlink calls run on a current-thread runtime that
//! is gone when they return, so the launching process stays single-threaded.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use berth_net::ipam::Ipam;
use berth_net::{bridge, dns, files, link, nat, netns};
use berth_store::{ContainerState, NetworkRecord};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::{DEFAULT_NETWORK, bridge_name, net_key, net_state_dir, ports, resolver};
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

/// `--ip` as Docker records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpamConfig {
    /// The requested address.
    #[serde(rename = "IPv4Address", default)]
    pub ipv4_address: String,
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

pub(super) fn parse_ip(flag: &'static str, v: &str) -> Result<Ipv4Addr> {
    v.parse().map_err(|_| Error::Invalid {
        flag,
        value: v.to_owned(),
        hint: "use an IPv4 address such as 172.18.0.5".into(),
    })
}

/// Whether nftables can be used, asked once per process: each question runs `nft`,
/// a few milliseconds that a `run` would otherwise pay several times.
fn nft_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| berth_net::nft::available().is_ok())
}

/// Takes the lock that serialises bringing network `key` up and down, and its
/// containers' addresses and DNS records, across berth processes.
fn lock(key: &str) -> Result<nix::fcntl::Flock<std::fs::File>> {
    let dir = net_state_dir().join("locks");
    fs_err::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let path = dir.join(format!("{key}.lock"));
    let f = fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?
        .into_file();
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| Error::Sys {
        what: format!("flock {}", path.display()),
        source: e,
    })
}

/// The marker saying network `key`'s bridge and rules are in place: it holds the
/// bridge's interface index, so a bridge deleted (or replaced) behind berth's back is
/// noticed and made again.
fn up_marker(key: &str) -> PathBuf {
    net_state_dir().join("up").join(key)
}

/// Makes sure network `key` has its bridge and nftables rules. They stay while the
/// network exists (as Docker's do), so a container pays only for its own veth: the
/// check is one netlink lookup. Call with the network's lock held.
fn ensure_up(net: &NetworkRecord, key: &str, addrs: &berth_net::ipam::NetworkAddrs) -> Result<()> {
    let br = bridge_name(net);
    let marker = up_marker(key);
    let recorded = fs_err::read_to_string(&marker)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok());
    if recorded.is_some() && berth_net::link_index(&br)? == recorded {
        return Ok(());
    }
    bridge::create(&br, addrs.gateway, addrs.subnet.prefix_len())?;
    let rules = nat::add_network(&nat::NetworkRules {
        id: key.to_owned(),
        bridge: br.clone(),
        subnet: addrs.subnet,
        internal: net.internal,
    });
    // Without nftables a network works without NAT and isolation (ports go through
    // the userspace proxy); the check runs only then, as it costs an `nft` process.
    if let Err(e) = rules
        && nft_available()
    {
        return Err(e.into());
    }
    if let Some(index) = berth_net::link_index(&br)? {
        berth_net::write_atomic(&marker, index.to_string().as_bytes())?;
    }
    Ok(())
}

/// Stops the resolver of network `key` once no container has a record on it.
/// Call with the network's lock held.
fn resolver_down_if_idle(key: &str) -> Result<()> {
    let rdir = resolver::dir(key);
    let records = dns::records_path(&rdir);
    if !records.exists() {
        return Ok(());
    }
    if dns::load(&rdir)?.records.is_empty() {
        resolver::stop(&rdir)?;
    }
    Ok(())
}

/// Removes a network's bridge, rules and resolver if no address is handed out on it,
/// and berth's nftables table if nothing else is left in it. Call with the network's
/// lock held (or when nothing else can use it).
fn down_if_idle(net: &NetworkRecord, key: &str) -> Result<()> {
    let ipam = Ipam::new(&net_state_dir());
    match ipam.allocations(key) {
        Ok(a) if !a.is_empty() => return Ok(()),
        Ok(_) | Err(berth_net::Error::NetworkNotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let mut errors = Vec::new();
    let marker = up_marker(key);
    if let Err(e) = fs_err::remove_file(&marker)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        errors.push(berth_net::Error::Io(e));
    }
    if nft_available() {
        if let Err(e) = nat::remove_network(key, &bridge_name(net)) {
            errors.push(e);
        }
        if let Err(e) = berth_net::nft::remove_table_if_empty() {
            errors.push(e);
        }
    }
    if let Err(e) = bridge::delete(&bridge_name(net)) {
        errors.push(e);
    }
    let stopped = resolver::stop(&resolver::dir(key));
    match errors.len() {
        0 => stopped,
        _ => Err(berth_net::Error::Many(errors).into()),
    }
}

/// [`down_if_idle`] under the network's lock (for `network rm` and `prune`).
pub(super) fn network_down_if_idle(net: &NetworkRecord, key: &str) -> Result<()> {
    let _l = lock(key)?;
    down_if_idle(net, key)
}

/// Sets (or clears) the path of the network namespace in a bundle's `config.json`.
fn set_netns_path(dir: &Path, path: Option<&Path>) -> Result<()> {
    let file = dir.join("config.json");
    let text = fs_err::read(&file).map_err(|e| Error::io(&file, e))?;
    let mut spec: serde_json::Value = serde_json::from_slice(&text).map_err(|e| Error::Json {
        what: file.display().to_string(),
        source: e,
    })?;
    let Some(list) = spec
        .pointer_mut("/linux/namespaces")
        .and_then(|v| v.as_array_mut())
    else {
        return Ok(());
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
    if changed {
        let bytes = serde_json::to_vec_pretty(&spec).map_err(|e| Error::Json {
            what: file.display().to_string(),
            source: e,
        })?;
        berth_net::write_atomic(&file, &bytes)?;
    }
    Ok(())
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
                if opts.ip.is_some() || !opts.network_aliases.is_empty() {
                    return Err(conflict("--ip/--network-alias"));
                }
                if let Mode::Container(c) = &other {
                    self.store().get_container(c)?;
                }
                return Ok(Vec::new());
            }
        };
        let net = self.find_network(&name)?;
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
                })
            }
            None => None,
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

    /// Gives a container about to start its network: for `container:NAME` the other
    /// container's namespace; for networks a pinned namespace with one veth per
    /// network, addresses, the default route, published ports, DNS records and
    /// `/etc/hosts`/`/etc/resolv.conf`. On failure nothing stays.
    pub fn network_up(&self, id: &str, dir: &Path) -> Result<()> {
        let (rec, stored) = self.container(id)?;
        match Mode::of(stored.opts.network.as_deref()) {
            Mode::Host => return Ok(()),
            Mode::None => return set_netns_path(dir, None),
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
                return set_netns_path(dir, Some(&PathBuf::from(format!("/proc/{pid}/ns/net"))));
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
        let result = self.network_up_inner(id, &rec.name, &stored, &ns, dir);
        if let Err(e) = result {
            let _ = self.network_down(id);
            return Err(e);
        }
        set_netns_path(dir, Some(&ns))
    }

    fn network_up_inner(
        &self,
        id: &str,
        name: &str,
        stored: &crate::containers::Stored,
        ns: &Path,
        dir: &Path,
    ) -> Result<()> {
        let rec = self.store().get_container(id)?;
        let mut eps = attachments(&rec.state);
        let mut ips = Vec::new();
        for (n, ep) in eps.iter_mut().enumerate() {
            self.endpoint_up(id, name, ns, n, ep)?;
            ips.push(IpAddr::V4(parse_ip("--ip", &ep.ip_address)?));
        }
        // Saved before ports: a failure below tears down what is recorded.
        self.record_networks(id, &eps)?;
        if let Some(primary) = eps.first() {
            let specs = ports::specs(&stored.opts, &stored.image)?;
            if !specs.is_empty() {
                let ip = parse_ip("--ip", &primary.ip_address)?;
                let publish =
                    |mode| berth_net::ports::publish(&net_state_dir(), id, ip, &specs, mode);
                // nftables first; whether it works here is asked only if that failed
                // (asking costs an `nft` process per container otherwise).
                let bound = match publish(berth_net::ports::Mode::Nat) {
                    Err(_) if !nft_available() => publish(berth_net::ports::Mode::Proxy)?,
                    other => other?,
                };
                if bound
                    .iter()
                    .any(|b| b.mode == berth_net::ports::Mode::Proxy)
                {
                    resolver::spawn_helper("__proxy", &net_state_dir(), id)?;
                }
                let v = serde_json::to_value(&bound).map_err(|e| Error::Json {
                    what: "published ports".into(),
                    source: e,
                })?;
                self.store().update_container_state(id, |s| {
                    s.extra.insert(EXTRA_PORTS.into(), v.clone());
                    Ok(())
                })?;
            }
        }
        self.write_net_files(stored, &eps, ips, dir)
    }

    /// Plugs the container into one network: brings the network up if needed (its
    /// first use since boot or since a `network prune`), takes an address, makes the
    /// veth, adds the DNS record.
    pub(super) fn endpoint_up(
        &self,
        id: &str,
        name: &str,
        ns: &Path,
        n: usize,
        ep: &mut Endpoint,
    ) -> Result<()> {
        let net = self.store().get_network(&ep.network_id)?;
        let key = net_key(&net);
        let ipam = Ipam::new(&net_state_dir());
        let _l = lock(&key)?;
        let addrs = ipam
            .network(&key)?
            .ok_or_else(|| berth_net::Error::NetworkNotFound(net.name.clone()))?;
        let want = match &ep.ipam_config {
            Some(c) if !c.ipv4_address.is_empty() => Some(parse_ip("--ip", &c.ipv4_address)?),
            _ => None,
        };
        let ip = ipam.allocate(&key, id, want)?;
        let br = bridge_name(&net);
        let up = (|| -> Result<()> {
            ensure_up(&net, &key, &addrs)?;
            let mac = match ep.mac_requested.as_str() {
                "" => None,
                m => Some(berth_net::addr::parse_mac(m)?),
            };
            let host_ifname = veth_name(id, n);
            link::attach(&link::Endpoint {
                netns: ns.to_path_buf(),
                host_ifname: host_ifname.clone(),
                ifname: format!("eth{n}"),
                bridge: br.clone(),
                address: Ipv4Net::new(ip, addrs.subnet.prefix_len())
                    .map_err(|e| Error::Monitor(format!("address {ip}: {e}")))?,
                gateway: (n == 0).then_some(addrs.gateway),
                mac,
            })?;
            let mac = mac.unwrap_or_else(|| berth_net::addr::mac_for(ip));
            ep.mac_address = mac
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":");
            ep.endpoint_id = host_ifname;
            if net.name != DEFAULT_NETWORK {
                let rdir = resolver::dir(&key);
                let mut names = vec![name.to_owned(), short(id).to_owned()];
                names.extend(ep.aliases.iter().cloned());
                dns::configure(
                    &rdir,
                    std::net::SocketAddrV4::new(addrs.gateway, 53),
                    addrs.subnet,
                    &resolver::upstreams(),
                )?;
                dns::add_record(
                    &rdir,
                    dns::Record {
                        container: id.to_owned(),
                        names,
                        ipv4: ip,
                    },
                )?;
                resolver::ensure(&rdir)?;
            }
            Ok(())
        })();
        if let Err(e) = up {
            let _ = link::detach(&veth_name(id, n));
            let _ = ipam.release(&key, id);
            let rdir = resolver::dir(&key);
            if dns::records_path(&rdir).exists() {
                let _ = dns::remove_record(&rdir, id);
            }
            let _ = resolver_down_if_idle(&key);
            return Err(e);
        }
        ep.ip_address = ip.to_string();
        ep.ip_prefix_len = addrs.subnet.prefix_len();
        ep.gateway = addrs.gateway.to_string();
        Ok(())
    }

    /// Unplugs the container from one network (veth, address, DNS record), and stops
    /// the network's resolver if it was the last container there. The bridge and its
    /// rules stay until the network is removed.
    ///
    /// `ns_dying`: the container's namespace is about to go (its processes are gone
    /// and the caller unpins it next); its veth then goes with it, in the kernel's
    /// background cleanup, instead of a deletion that waits ~20 ms for an RCU grace
    /// period.
    pub(super) fn endpoint_down(
        &self,
        id: &str,
        n: usize,
        ep: &Endpoint,
        ns_dying: bool,
    ) -> Vec<Error> {
        let mut errors = Vec::new();
        let veth = if ep.endpoint_id.is_empty() {
            veth_name(id, n)
        } else {
            ep.endpoint_id.clone()
        };
        if !ns_dying && let Err(e) = link::detach(&veth) {
            errors.push(e.into());
        }
        let net = match self.store().get_network(&ep.network_id) {
            Ok(n) => n,
            Err(e) => {
                errors.push(e.into());
                return errors;
            }
        };
        let key = net_key(&net);
        let _l = match lock(&key) {
            Ok(l) => l,
            Err(e) => {
                errors.push(e);
                return errors;
            }
        };
        if let Err(e) = Ipam::new(&net_state_dir()).release(&key, id) {
            errors.push(e.into());
        }
        if net.name != DEFAULT_NETWORK {
            let rdir = resolver::dir(&key);
            if dns::records_path(&rdir).exists()
                && let Err(e) = dns::remove_record(&rdir, id)
            {
                errors.push(e.into());
            }
        }
        if let Err(e) = resolver_down_if_idle(&key) {
            errors.push(e);
        }
        errors
    }

    /// Takes a stopped (or failed) container off its networks: published ports,
    /// veths, addresses, DNS records, its namespace; resolvers of networks whose last
    /// container it was stop too. Goes on after errors and reports them all; safe to repeat.
    pub fn network_down(&self, id: &str) -> Result<()> {
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
        let mut eps = attachments(&rec.state);
        let ns = self.netns_path(id);
        if ns.exists() {
            let dies = self.netns_dies_with(id);
            for (n, ep) in eps.iter().enumerate() {
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
        for ep in &mut eps {
            ep.ip_address.clear();
            ep.ip_prefix_len = 0;
            ep.gateway.clear();
            ep.mac_address.clear();
            ep.endpoint_id.clear();
        }
        let v = serde_json::to_value(&eps).unwrap_or_default();
        self.store().update_container_state(id, |s| {
            s.extra.remove(EXTRA_PORTS);
            if !eps.is_empty() {
                s.extra.insert(EXTRA_NETWORKS.into(), v.clone());
            }
            Ok(())
        })?;
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
    }
}
