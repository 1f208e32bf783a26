//! One container on one network: bringing the network up on first use (bridge,
//! nftables rules, marker), the container's addresses from IPAM, its veth, its DNS
//! record; and the reverse.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_net::ipam::Ipam;
use berth_net::{bridge, dns, link, nat};
use berth_store::NetworkRecord;
use ipnet::{Ipv4Net, Ipv6Net};

use super::attach::{Endpoint, parse_ip, parse_ip6, spare_veth_name, veth_name};
use super::{DEFAULT_NETWORK, bridge_name, net_key, net_state_dir, resolver};
use crate::containers::short;
use crate::{Engine, Error, Result};

/// Whether nftables can be used, asked once per process: each question runs `nft`,
/// a few milliseconds that a `run` would otherwise pay several times.
pub(super) fn nft_available() -> bool {
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
///
/// Its directory names the nftables table the rules are in (`inet berth`): a network
/// brought up by an older berth (rules in `table ip berth`, marker in `up/`) is not
/// "up" for this one, so its first container brings it up again, and the old rules
/// are removed then ([`legacy_marker`]).
fn up_marker(key: &str) -> PathBuf {
    net_state_dir().join("up-inet").join(key)
}

/// The marker of an older berth that kept its rules in `table ip berth`.
fn legacy_marker(key: &str) -> PathBuf {
    net_state_dir().join("up").join(key)
}

/// The bridge's interface index recorded by the last [`bring_up`] of network `key`,
/// if the network is (believed to be) up.
fn recorded_up(key: &str) -> Option<u32> {
    fs_err::read_to_string(up_marker(key))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
}

/// Makes network `key`'s bridge (with its IPv6 gateway on a dual-stack network) and
/// nftables rules, and records the bridge's index in the marker. They stay while the
/// network exists (as Docker's do), so a container pays only for its own veth: that
/// the bridge is still the one recorded is checked by [`link::attach`] on its own
/// netlink socket. Call with the network's lock held.
fn bring_up(net: &NetworkRecord, key: &str, addrs: &berth_net::ipam::NetworkAddrs) -> Result<()> {
    let br = bridge_name(net);
    bridge::create(&br, addrs.gateway, addrs.subnet.prefix_len())?;
    if let Some(v6) = addrs.v6 {
        bridge::add_v6(&br, v6.gateway, v6.subnet.prefix_len())?;
    }
    let rules = nat::add_network(&nat::NetworkRules {
        id: key.to_owned(),
        bridge: br.clone(),
        subnet: addrs.subnet,
        subnet6: addrs.v6.map(|v6| v6.subnet),
        internal: net.internal,
    })
    .and_then(|()| {
        // The rules an older berth gave this network in `table ip berth` go now
        // that the `inet` table has them.
        if legacy_marker(key).exists() {
            nat::remove_legacy_network(key, &br)?;
            // Gone already is as good as removed.
            let _ = fs_err::remove_file(legacy_marker(key));
        }
        Ok(())
    });
    // Without nftables a network works without NAT and isolation (ports go through
    // the userspace proxy); the check runs only then, as it costs an `nft` process.
    if let Err(e) = rules
        && nft_available()
    {
        return Err(e.into());
    }
    // Containers of a dual-stack network reach beyond their bridge over IPv6 only
    // with the host forwarding IPv6 (internal ones reach nothing beyond it).
    if addrs.v6.is_some() && !net.internal {
        berth_net::sysctl::enable_ipv6_forward()?;
    }
    if let Some(index) = berth_net::link_index(&br)? {
        berth_net::write_atomic(&up_marker(key), index.to_string().as_bytes())?;
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
/// lock held (or when nothing else can use it). False when it is not idle.
fn down_if_idle(net: &NetworkRecord, key: &str) -> Result<bool> {
    if !idle(key)? {
        return Ok(false);
    }
    let mut errors = Vec::new();
    let marker = up_marker(key);
    if let Err(e) = fs_err::remove_file(&marker)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        errors.push(berth_net::Error::Io(e));
    }
    let bridge = bridge_name(net);
    // An older berth's marker means its rules may still be in `table ip berth`.
    let legacy = legacy_marker(key).exists();
    // The rules, the bridge and the resolver are independent of each other, and each
    // mostly waits (on `nft`, on the kernel's RCU grace periods that unregistering a
    // device takes, on the resolver's exit): the rules go on a thread of their own.
    let (rules, deleted, stopped) = std::thread::scope(|s| {
        // No availability check first (one `nft` run less): where nftables is
        // missing, berth never added anything to it.
        let rules = s.spawn(|| nat::remove_network_and_empty_table(key, &bridge, legacy));
        let deleted = bridge::delete(&bridge);
        let stopped = resolver::stop(&resolver::dir(key));
        let rules = rules.join().unwrap_or_else(|_| {
            Err(berth_net::Error::Nft {
                op: format!("remove the rules of network {key}"),
                detail: "the worker thread panicked".into(),
            })
        });
        (rules, deleted, stopped)
    });
    match rules {
        Ok(_) | Err(berth_net::Error::Unsupported { .. }) => {
            if legacy {
                let _ = fs_err::remove_file(legacy_marker(key));
            }
        }
        Err(e) => errors.push(e),
    }
    if let Err(e) = deleted {
        errors.push(e);
    }
    match errors.len() {
        0 => stopped.map(|()| true),
        _ => Err(berth_net::Error::Many(errors).into()),
    }
}

/// Whether no address is handed out on network `key` (no container is plugged in).
fn idle(key: &str) -> Result<bool> {
    match Ipam::new(&net_state_dir()).allocations(key) {
        Ok(a) => Ok(a.is_empty()),
        Err(berth_net::Error::NetworkNotFound(_)) => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// [`down_if_idle`] under the network's lock (for `network rm` and `prune`).
pub(super) fn network_down_if_idle(net: &NetworkRecord, key: &str) -> Result<bool> {
    let _l = lock(key)?;
    down_if_idle(net, key)
}

/// [`network_down_if_idle`] once the network is idle: polls until no container is
/// plugged in (then takes it down and returns true) or `give_up` says to stop waiting.
pub(super) fn network_down_when_idle(
    net: &NetworkRecord,
    key: &str,
    give_up: &dyn Fn() -> bool,
) -> Result<bool> {
    loop {
        // Polled without the lock; checked again under it (a container may join).
        if idle(key)? && network_down_if_idle(net, key)? {
            return Ok(true);
        }
        if give_up() {
            return Ok(false);
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// The container an endpoint is made for, as the network's resolver knows it.
pub(super) struct Member<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its `--link` aliases on user-defined networks (see [`super::links::dns_links`]).
    pub links: BTreeMap<String, String>,
}

impl Engine {
    /// Plugs the container into one network: takes its addresses (one IPAM update),
    /// brings the network up if needed (its first use since boot or since a `network
    /// prune`, or its bridge was deleted behind berth's back), makes the veth, adds
    /// the DNS record. `v6_route`: give the container its default IPv6 route here
    /// (the first dual-stack network of its primary order).
    pub(super) fn endpoint_up(
        &self,
        ctr: &Member<'_>,
        ns: &Path,
        n: usize,
        ep: &mut Endpoint,
        v6_route: bool,
    ) -> Result<()> {
        let (id, name) = (ctr.id, ctr.name);
        let net = self.store().get_network(&ep.network_id)?;
        let key = net_key(&net);
        let ipam = Ipam::new(&net_state_dir());
        let _l = lock(&key)?;
        let want = match &ep.ipam_config {
            Some(c) if !c.ipv4_address.is_empty() => Some(parse_ip("--ip", &c.ipv4_address)?),
            _ => None,
        };
        let want6 = match &ep.ipam_config {
            Some(c) if !c.ipv6_address.is_empty() => Some(parse_ip6("--ip6", &c.ipv6_address)?),
            _ => None,
        };
        let got = ipam
            .allocate_endpoint(&key, id, want, want6)
            .map_err(|e| match e {
                berth_net::Error::NetworkNotFound(_) => {
                    berth_net::Error::NetworkNotFound(net.name.clone())
                }
                e => e,
            })?;
        let addrs = got.network;
        let (ip, ip6) = (got.ipv4, got.ipv6);
        let br = bridge_name(&net);
        let mut made = None;
        let up = (|| -> Result<()> {
            let mac = match ep.mac_requested.as_str() {
                "" => None,
                m => Some(berth_net::addr::parse_mac(m)?),
            };
            let mut lep = link::Endpoint {
                netns: ns.to_path_buf(),
                host_ifname: veth_name(id, n),
                spare_ifname: Some(spare_veth_name(id, n)),
                ifname: format!("eth{n}"),
                bridge: br.clone(),
                bridge_index: None,
                address: Ipv4Net::new(ip, addrs.subnet.prefix_len())
                    .map_err(|e| Error::Monitor(format!("address {ip}: {e}")))?,
                gateway: (n == 0).then_some(addrs.gateway),
                address6: match (ip6, addrs.v6) {
                    (Some(a), Some(v6)) => Some(
                        Ipv6Net::new(a, v6.subnet.prefix_len())
                            .map_err(|e| Error::Monitor(format!("address {a}: {e}")))?,
                    ),
                    _ => None,
                },
                gateway6: addrs.v6.filter(|_| v6_route).map(|v6| v6.gateway),
                mac,
            };
            // The common case costs no extra netlink round: attach checks the
            // bridge against the marker and says if the network must be brought up.
            lep.bridge_index = recorded_up(&key);
            if lep.bridge_index.is_none() {
                bring_up(&net, &key, &addrs)?;
                lep.bridge_index = recorded_up(&key);
            }
            let host_ifname = match link::attach(&lep) {
                Err(berth_net::Error::BridgeChanged { .. }) => {
                    bring_up(&net, &key, &addrs)?;
                    lep.bridge_index = None;
                    link::attach(&lep)?
                }
                other => other?,
            };
            made = Some(host_ifname.clone());
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
                    addrs.v6.map(|v6| v6.subnet),
                    &resolver::upstreams(),
                )?;
                dns::add_record(
                    &rdir,
                    dns::Record {
                        container: id.to_owned(),
                        names,
                        ipv4: ip,
                        ipv6: ip6,
                        links: ctr.links.clone(),
                    },
                )?;
                resolver::ensure(&rdir)?;
            }
            Ok(())
        })();
        if let Err(e) = up {
            if let Some(veth) = &made {
                let _ = link::detach(veth);
            }
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
        match (ip6, addrs.v6) {
            (Some(a), Some(v6)) => {
                ep.global_ipv6_address = a.to_string();
                ep.global_ipv6_prefix_len = v6.subnet.prefix_len();
                ep.ipv6_gateway = v6.gateway.to_string();
            }
            _ => {
                ep.global_ipv6_address.clear();
                ep.global_ipv6_prefix_len = 0;
                ep.ipv6_gateway.clear();
            }
        }
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
}
