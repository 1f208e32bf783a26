//! IP address management: which subnet each berth network owns and which of
//! its addresses are handed out.
//!
//! All state lives in one JSON file (`ipam.json` in the directory the engine
//! passes in) that is only read and rewritten under an exclusive `flock`, so
//! concurrent berth processes never hand out one subnet or one address twice.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ipam6::{self, NetState6};
pub use crate::ipam6::{NetworkAddrs6, SubnetRequest6, parse_subnet6};
use crate::route::HostRoute;
use crate::state;

/// What a new network asks for; everything left `None` is chosen by IPAM.
#[derive(Debug, Clone, Default)]
pub struct SubnetRequest {
    /// `--subnet`.
    pub subnet: Option<Ipv4Net>,
    /// `--gateway`; default: the subnet's first address.
    pub gateway: Option<Ipv4Addr>,
    /// `--ip-range`: containers get addresses only from here.
    pub ip_range: Option<Ipv4Net>,
    /// True for Docker's default `bridge` network, which prefers 172.17.0.0/16.
    pub default_bridge: bool,
    /// `--ipv6`: the network is dual stack.
    pub ipv6: Option<SubnetRequest6>,
}

/// The addresses a network owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAddrs {
    /// The whole subnet (routes, masquerade, overlap checks).
    pub subnet: Ipv4Net,
    /// The bridge's address, containers' default route and DNS server.
    pub gateway: Ipv4Addr,
    /// Where dynamic container addresses come from (the subnet by default).
    pub range: Ipv4Net,
    /// The IPv6 side of a dual-stack network (kept in the state with its
    /// allocations, filled in by every call that returns this).
    #[serde(skip)]
    pub v6: Option<NetworkAddrs6>,
}

/// What [`Ipam::allocate_endpoint`] handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocation {
    /// The network's addresses.
    pub network: NetworkAddrs,
    /// The container's IPv4 address.
    pub ipv4: Ipv4Addr,
    /// Its IPv6 address, on a dual-stack network.
    pub ipv6: Option<Ipv6Addr>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct NetState {
    #[serde(flatten)]
    addrs: NetworkAddrs,
    /// Address → owner (a container id, or whatever the engine passes).
    allocations: BTreeMap<Ipv4Addr, String>,
    /// The last dynamic address handed out; the search continues after it so
    /// a just-released address is not reused at once (stale ARP entries).
    last: Option<Ipv4Addr>,
    /// The IPv6 side of a dual-stack network. Kept in its own file (see
    /// [`Ipam::update`]), not in `ipam.json`.
    #[serde(skip)]
    v6: Option<NetState6>,
}

impl NetState {
    /// The network's addresses, both families.
    fn addrs(&self) -> NetworkAddrs {
        NetworkAddrs {
            v6: self.v6.as_ref().map(|v| v.addrs),
            ..self.addrs
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct IpamState {
    networks: BTreeMap<String, NetState>,
}

/// Handle on the IPAM state file of one berth installation.
#[derive(Debug, Clone)]
pub struct Ipam {
    path: PathBuf,
    path6: PathBuf,
}

/// The pools new networks are carved from, as Docker's defaults:
/// 172.17.0.0/16 … 172.31.0.0/16, then 192.168.0.0/20 … 192.168.240.0/20.
pub fn default_pools() -> Vec<Ipv4Net> {
    let mut pools: Vec<Ipv4Net> = (17u8..=31)
        .filter_map(|b| Ipv4Net::new(Ipv4Addr::new(172, b, 0, 0), 16).ok())
        .collect();
    pools.extend(
        (0u8..16).filter_map(|i| Ipv4Net::new(Ipv4Addr::new(192, 168, i * 16, 0), 20).ok()),
    );
    pools
}

/// Parses a `--subnet`/`--ip-range` value, refusing host bits (`10.0.0.1/8`).
pub fn parse_subnet(value: &str) -> Result<Ipv4Net> {
    let net: Ipv4Net = value
        .parse()
        .map_err(|e| Error::invalid("subnet", value, format!("{e}")))?;
    if net.trunc() != net {
        return Err(Error::invalid(
            "subnet",
            value,
            format!("host bits are set; it should be {}", net.trunc()),
        ));
    }
    Ok(net)
}

impl Ipam {
    /// IPAM state under `state_dir` (created on first write).
    pub fn new(state_dir: &Path) -> Self {
        Ipam {
            path: state_dir.join("ipam.json"),
            path6: state_dir.join("ipam6.json"),
        }
    }

    /// Reads both files under the lock; the IPv6 halves are attached to their
    /// networks.
    fn read_both(&self) -> Result<(IpamState, BTreeMap<String, NetState6>)> {
        let mut st: IpamState = state::read_json(&self.path)?;
        let v6: BTreeMap<String, NetState6> = state::read_json(&self.path6)?;
        for (name, n) in &mut st.networks {
            n.v6 = v6.get(name).cloned();
        }
        Ok((st, v6))
    }

    /// The whole state, read under the lock.
    fn load(&self) -> Result<IpamState> {
        let _lock = state::lock(&state::lock_path(&self.path))?;
        Ok(self.read_both()?.0)
    }

    /// Read-modify-write of the state under `ipam.json`'s lock. The IPv6 halves
    /// live in `ipam6.json`, written only when they changed: a berth from before
    /// dual-stack networks rewrites `ipam.json` with the fields it knows, and
    /// would otherwise drop them. Entries of networks gone from `ipam.json` are
    /// dropped here.
    fn update<R>(&self, f: impl FnOnce(&mut IpamState) -> Result<R>) -> Result<R> {
        let _lock = state::lock(&state::lock_path(&self.path))?;
        let (mut st, before) = self.read_both()?;
        let out = f(&mut st)?;
        let after: BTreeMap<String, NetState6> = st
            .networks
            .iter()
            .filter_map(|(k, n)| Some((k.clone(), n.v6.clone()?)))
            .collect();
        state::write_json(&self.path, &st)?;
        if after != before {
            state::write_json(&self.path6, &after)?;
        }
        Ok(out)
    }

    /// Reserves a subnet for network `name`.
    ///
    /// `host_routes` (from [`crate::route::host_routes`]) are checked too, so a
    /// network never shadows a LAN or VPN the host reaches.
    pub fn create_network(
        &self,
        name: &str,
        req: &SubnetRequest,
        host_routes: &[HostRoute],
    ) -> Result<NetworkAddrs> {
        self.update(|st: &mut IpamState| {
            if st.networks.contains_key(name) {
                return Err(Error::NetworkExists(name.to_string()));
            }
            let subnet = match req.subnet {
                Some(subnet) => {
                    check_free(&st.networks, host_routes, subnet)?;
                    subnet
                }
                None => pick_subnet(&st.networks, host_routes, req.default_bridge)?,
            };
            let mut addrs = validate(name, subnet, req.gateway, req.ip_range)?;
            let v6 = req
                .ipv6
                .map(|r| {
                    let others = st
                        .networks
                        .iter()
                        .filter_map(|(k, n)| Some((k, n.v6.as_ref()?)));
                    ipam6::new_state(name, &r, others)
                })
                .transpose()?;
            addrs.v6 = v6.as_ref().map(|s| s.addrs);
            st.networks.insert(
                name.to_string(),
                NetState {
                    addrs,
                    allocations: BTreeMap::new(),
                    last: None,
                    v6,
                },
            );
            Ok(addrs)
        })
    }

    /// Forgets network `name` and all of its allocations.
    pub fn remove_network(&self, name: &str) -> Result<()> {
        self.update(|st: &mut IpamState| {
            st.networks
                .remove(name)
                .map(|_| ())
                .ok_or_else(|| Error::NetworkNotFound(name.to_string()))
        })
    }

    /// The addresses of network `name`, if IPAM knows it.
    pub fn network(&self, name: &str) -> Result<Option<NetworkAddrs>> {
        let st = self.load()?;
        Ok(st.networks.get(name).map(NetState::addrs))
    }

    /// Every network IPAM knows, with its addresses.
    pub fn networks(&self) -> Result<BTreeMap<String, NetworkAddrs>> {
        let st = self.load()?;
        Ok(st
            .networks
            .into_iter()
            .map(|(k, v)| (k, v.addrs()))
            .collect())
    }

    /// Hands out an address on `network` to `owner`: `want` (`--ip`) if given,
    /// else the next free one of the network's range.
    pub fn allocate(&self, network: &str, owner: &str, want: Option<Ipv4Addr>) -> Result<Ipv4Addr> {
        Ok(self.allocate_endpoint(network, owner, want, None)?.ipv4)
    }

    /// Hands out `owner`'s addresses on `network` in one update of the state:
    /// an IPv4 address (`want`, else the next free one) and, on a dual-stack
    /// network, an IPv6 one (`want6`, else the next free one). Returns them
    /// with the network's addresses, so a container start reads the state once.
    pub fn allocate_endpoint(
        &self,
        network: &str,
        owner: &str,
        want: Option<Ipv4Addr>,
        want6: Option<Ipv6Addr>,
    ) -> Result<Allocation> {
        self.update(|st: &mut IpamState| {
            let net = st
                .networks
                .get_mut(network)
                .ok_or_else(|| Error::NetworkNotFound(network.to_string()))?;
            let ipv6 = match (&mut net.v6, want6) {
                (Some(v6), want6) => Some(v6.allocate(network, owner, want6)?),
                (None, Some(ip)) => {
                    return Err(Error::invalid(
                        "--ip6",
                        ip.to_string(),
                        format!("network {network} has no IPv6 subnet (create it with --ipv6)"),
                    ));
                }
                (None, None) => None,
            };
            let ip = match want {
                Some(ip) => {
                    let a = net.addrs;
                    if !a.subnet.contains(&ip)
                        || ip == a.subnet.network()
                        || ip == a.subnet.broadcast()
                    {
                        return Err(Error::AddressOutOfRange {
                            ip: IpAddr::V4(ip),
                            range: IpNet::V4(a.subnet),
                            network: network.to_string(),
                        });
                    }
                    if ip == a.gateway {
                        return Err(Error::AddressInUse {
                            ip: IpAddr::V4(ip),
                            network: network.to_string(),
                            owner: "the gateway".to_string(),
                        });
                    }
                    if let Some(owner) = net.allocations.get(&ip) {
                        return Err(Error::AddressInUse {
                            ip: IpAddr::V4(ip),
                            network: network.to_string(),
                            owner: owner.clone(),
                        });
                    }
                    ip
                }
                None => {
                    let ip = next_free(net).ok_or_else(|| Error::NoFreeAddress {
                        range: IpNet::V4(net.addrs.range),
                        network: network.to_string(),
                    })?;
                    net.last = Some(ip);
                    ip
                }
            };
            net.allocations.insert(ip, owner.to_string());
            Ok(Allocation {
                network: net.addrs(),
                ipv4: ip,
                ipv6,
            })
        })
    }

    /// Releases every address `owner` holds on `network`; returns how many.
    pub fn release(&self, network: &str, owner: &str) -> Result<usize> {
        self.update(|st: &mut IpamState| {
            let Some(net) = st.networks.get_mut(network) else {
                return Ok(0);
            };
            let before = net.allocations.len();
            net.allocations.retain(|_, o| o != owner);
            if let Some(v6) = &mut net.v6 {
                v6.allocations.retain(|_, o| o != owner);
            }
            Ok(before - net.allocations.len())
        })
    }

    /// The addresses handed out on `network`, with their owners.
    pub fn allocations(&self, network: &str) -> Result<BTreeMap<Ipv4Addr, String>> {
        let st = self.load()?;
        st.networks
            .get(network)
            .map(|n| n.allocations.clone())
            .ok_or_else(|| Error::NetworkNotFound(network.to_string()))
    }

    /// Drops allocations whose owner `is_live` says is gone (after a crash).
    pub(crate) fn release_stale(&self, is_live: &dyn Fn(&str) -> bool) -> Result<usize> {
        self.update(|st: &mut IpamState| {
            let mut n = 0;
            for net in st.networks.values_mut() {
                let before = net.allocations.len();
                net.allocations.retain(|_, o| is_live(o));
                n += before - net.allocations.len();
                if let Some(v6) = &mut net.v6 {
                    v6.allocations.retain(|_, o| is_live(o));
                }
            }
            Ok(n)
        })
    }
}

fn validate(
    name: &str,
    subnet: Ipv4Net,
    gateway: Option<Ipv4Addr>,
    range: Option<Ipv4Net>,
) -> Result<NetworkAddrs> {
    if subnet.prefix_len() > 30 {
        return Err(Error::invalid(
            "subnet",
            subnet.to_string(),
            "a bridge network needs at least a /30",
        ));
    }
    let first = u32::from(subnet.network()) + 1;
    let gateway = gateway.unwrap_or(Ipv4Addr::from(first));
    if !subnet.contains(&gateway) || gateway == subnet.network() || gateway == subnet.broadcast() {
        return Err(Error::AddressOutOfRange {
            ip: IpAddr::V4(gateway),
            range: IpNet::V4(subnet),
            network: name.to_string(),
        });
    }
    let range = range.unwrap_or(subnet);
    if !subnet.contains(&range) {
        return Err(Error::invalid(
            "ip-range",
            range.to_string(),
            format!("it is not inside subnet {subnet}"),
        ));
    }
    Ok(NetworkAddrs {
        subnet,
        gateway,
        range,
        v6: None,
    })
}

fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

fn check_free(
    nets: &BTreeMap<String, NetState>,
    routes: &[HostRoute],
    subnet: Ipv4Net,
) -> Result<()> {
    for (name, n) in nets {
        if overlaps(n.addrs.subnet, subnet) {
            return Err(Error::SubnetOverlap {
                requested: IpNet::V4(subnet),
                existing: IpNet::V4(n.addrs.subnet),
                owner: format!("network {name}"),
            });
        }
    }
    for r in routes {
        // The default route covers everything and says nothing; a berth
        // network's own bridge route was already checked above.
        if r.dst.prefix_len() == 0 || nets.values().any(|n| n.addrs.subnet == r.dst) {
            continue;
        }
        if overlaps(r.dst, subnet) {
            return Err(Error::SubnetOverlap {
                requested: IpNet::V4(subnet),
                existing: IpNet::V4(r.dst),
                owner: format!("host route on {}", r.dev),
            });
        }
    }
    Ok(())
}

fn pick_subnet(
    nets: &BTreeMap<String, NetState>,
    routes: &[HostRoute],
    default_bridge: bool,
) -> Result<Ipv4Net> {
    let pools = default_pools();
    // 172.17.0.0/16 is the default bridge's, as with Docker; user networks
    // start at 172.18.0.0/16 and use 172.17 only when all else is taken.
    let order: Vec<Ipv4Net> = if default_bridge {
        pools
    } else {
        pools
            .iter()
            .skip(1)
            .chain(pools.iter().take(1))
            .copied()
            .collect()
    };
    order
        .into_iter()
        .find(|p| check_free(nets, routes, *p).is_ok())
        .ok_or(Error::PoolExhausted)
}

fn next_free(net: &NetState) -> Option<Ipv4Addr> {
    let a = net.addrs;
    let lo = u32::from(a.range.network());
    let hi = u32::from(a.range.broadcast());
    let size = u64::from(hi - lo) + 1;
    let start = net
        .last
        .map(u32::from)
        .filter(|l| (lo..=hi).contains(l))
        .map_or(lo, |l| l.wrapping_add(1));
    let usable = |ip: Ipv4Addr| {
        a.subnet.contains(&ip)
            && ip != a.subnet.network()
            && ip != a.subnet.broadcast()
            && ip != a.gateway
            && !net.allocations.contains_key(&ip)
    };
    (0..size)
        .map(|i| lo + ((u64::from(start - lo) + i) % size) as u32)
        .map(Ipv4Addr::from)
        .find(|ip| usable(*ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn default_bridge_gets_172_17_and_user_networks_follow() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = Ipam::new(dir.path());
        let b = ipam
            .create_network(
                "bridge",
                &SubnetRequest {
                    default_bridge: true,
                    ..Default::default()
                },
                &[],
            )
            .unwrap();
        assert_eq!(b.subnet, net("172.17.0.0/16"));
        assert_eq!(b.gateway, Ipv4Addr::new(172, 17, 0, 1));
        let u = ipam
            .create_network("u1", &SubnetRequest::default(), &[])
            .unwrap();
        assert_eq!(u.subnet, net("172.18.0.0/16"));
        let routes = [HostRoute {
            dst: net("172.19.5.0/24"),
            dev: "eth9".into(),
        }];
        let u2 = ipam
            .create_network("u2", &SubnetRequest::default(), &routes)
            .unwrap();
        assert_eq!(
            u2.subnet,
            net("172.20.0.0/16"),
            "skips the host's 172.19.5.0/24"
        );
    }

    #[test]
    fn overlap_names_both_subnets() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = Ipam::new(dir.path());
        let req = |s: &str| SubnetRequest {
            subnet: Some(net(s)),
            ..Default::default()
        };
        ipam.create_network("a", &req("10.9.0.0/16"), &[]).unwrap();
        let err = ipam
            .create_network("b", &req("10.9.3.0/24"), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("10.9.3.0/24") && err.contains("10.9.0.0/16") && err.contains("network a"),
            "{err}"
        );
        let routes = [HostRoute {
            dst: net("192.0.2.0/24"),
            dev: "eth0".into(),
        }];
        let err = ipam
            .create_network("c", &req("192.0.0.0/16"), &routes)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("192.0.2.0/24") && err.contains("host route on eth0"),
            "{err}"
        );
        // the default route alone does not count as an overlap
        let dflt = [HostRoute {
            dst: net("0.0.0.0/0"),
            dev: "eth0".into(),
        }];
        ipam.create_network("d", &req("10.10.0.0/24"), &dflt)
            .unwrap();
    }

    #[test]
    fn allocation_skips_gateway_and_respects_range_and_static_ips() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = Ipam::new(dir.path());
        let req = SubnetRequest {
            subnet: Some(net("10.5.0.0/24")),
            gateway: Some(Ipv4Addr::new(10, 5, 0, 254)),
            ip_range: Some(net("10.5.0.252/30")),
            default_bridge: false,
            ipv6: None,
        };
        ipam.create_network("n", &req, &[]).unwrap();
        // range 10.5.0.252/30 = .252 .253 .254 .255; .254 gateway, .255 broadcast
        assert_eq!(
            ipam.allocate("n", "c1", None).unwrap(),
            Ipv4Addr::new(10, 5, 0, 252)
        );
        assert_eq!(
            ipam.allocate("n", "c2", None).unwrap(),
            Ipv4Addr::new(10, 5, 0, 253)
        );
        assert!(matches!(
            ipam.allocate("n", "c3", None),
            Err(Error::NoFreeAddress { .. })
        ));
        // static addresses may lie outside the range but inside the subnet
        assert_eq!(
            ipam.allocate("n", "c3", Some(Ipv4Addr::new(10, 5, 0, 9)))
                .unwrap(),
            Ipv4Addr::new(10, 5, 0, 9)
        );
        let taken = ipam
            .allocate("n", "c4", Some(Ipv4Addr::new(10, 5, 0, 9)))
            .unwrap_err()
            .to_string();
        assert!(
            taken.contains("10.5.0.9") && taken.contains("c3"),
            "{taken}"
        );
        assert!(matches!(
            ipam.allocate("n", "c4", Some(Ipv4Addr::new(10, 6, 0, 9))),
            Err(Error::AddressOutOfRange { .. })
        ));
        assert_eq!(ipam.release("n", "c1").unwrap(), 1);
        assert_eq!(
            ipam.allocate("n", "c5", None).unwrap(),
            Ipv4Addr::new(10, 5, 0, 252)
        );
    }

    #[test]
    fn parse_subnet_refuses_host_bits() {
        assert_eq!(parse_subnet("10.0.0.0/8").unwrap(), net("10.0.0.0/8"));
        let err = parse_subnet("10.0.0.1/8").unwrap_err().to_string();
        assert!(err.contains("10.0.0.0/8"), "{err}");
        assert!(parse_subnet("banana").is_err());
    }
}
