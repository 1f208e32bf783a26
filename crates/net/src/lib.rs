//! berth-net gives containers networks: Linux bridges and veth pairs over
//! netlink ([`bridge`], [`link`]), subnet and address management ([`ipam`]),
//! outbound NAT, isolation and published ports in nftables, for IPv4 and
//! IPv6 ([`nat`], [`ports`], with a userspace [`proxy`] where nftables is
//! missing and for the IPv6 loopback), a small resolver per user network
//! ([`dns`]), and the `/etc/hosts`,
//! `/etc/resolv.conf` and `/etc/hostname` the engine bind-mounts ([`files`]).
//!
//! It keeps its own small state (IPAM, published ports, resolver records) as
//! JSON files in a directory the engine passes in, each rewritten atomically
//! under `flock`, so concurrent berth processes stay consistent. Everything
//! it adds to the kernel is tagged: nftables rules live in table `inet berth`
//! with a comment `berth net <id>` or `berth ctr <id>`, so
//! [`cleanup_stale`] can remove what a crashed process left.
//!
//! Every call is synchronous. Netlink requests run on a current-thread
//! runtime that is gone when the call returns, so the engine can fork
//! containers right after.
//!
//! ```no_run
//! use std::path::Path;
//! use berth_net::{bridge, ipam, link, nat, ports, route};
//!
//! let state = Path::new("/run/berth/net");
//! let ipam = ipam::Ipam::new(state);
//! let net = ipam.create_network("app-net", &ipam::SubnetRequest::default(), &route::host_routes()?)?;
//! bridge::create("br-app", net.gateway, net.subnet.prefix_len())?;
//! nat::add_network(&nat::NetworkRules {
//!     id: "app-net".into(), bridge: "br-app".into(), subnet: net.subnet, subnet6: None,
//!     internal: false,
//! })?;
//! let ip = ipam.allocate("app-net", "c0ffee", None)?;
//! link::attach(&link::Endpoint {
//!     netns: "/proc/4242/ns/net".into(), host_ifname: "vethc0ffee".into(), spare_ifname: None,
//!     ifname: "eth0".into(),
//!     bridge: "br-app".into(), address: ipnet::Ipv4Net::new(ip, net.subnet.prefix_len()).unwrap(),
//!     gateway: Some(net.gateway), bridge_index: None, address6: None, gateway6: None, mac: None,
//! })?;
//! ports::publish(state, "c0ffee", ip, None, &[ports::parse_port_spec("8080:80")?], ports::Mode::detect())?;
//! # Ok::<(), berth_net::Error>(())
//! ```

pub mod addr;
pub mod bridge;
pub mod dns;
pub mod error;
pub mod files;
pub mod ipam;
mod ipam6;
pub mod link;
pub mod nat;
pub mod netns;
pub mod nft;
mod nl;
pub mod ports;
pub mod proxy;
pub mod route;
mod sock;
mod state;
pub mod sysctl;

use std::path::Path;

pub use error::{Error, Result};
pub use nl::{link_exists, link_index};
pub use state::write_atomic;

/// Tells [`cleanup_stale`] what still exists.
pub struct Liveness<'a> {
    /// Whether a container id is still known to the engine.
    pub container: &'a dyn Fn(&str) -> bool,
    /// Whether a network id is still known to the engine.
    pub network: &'a dyn Fn(&str) -> bool,
}

/// What [`cleanup_stale`] removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Cleaned {
    /// nftables rules of gone containers and networks.
    pub rules: usize,
    /// Containers whose published ports were released.
    pub port_owners: usize,
    /// Addresses released by IPAM.
    pub addresses: usize,
}

/// Removes what berth added for containers and networks that no longer exist
/// (after a crash or a `kill -9`): their nftables rules, published-port
/// records and IP addresses; berth's table too once nothing is left in it.
/// It goes on after an error and reports all of them.
pub fn cleanup_stale(state_dir: &Path, live: &Liveness<'_>) -> Result<Cleaned> {
    let mut cleaned = Cleaned::default();
    let mut errors = Vec::new();
    match ports::containers(state_dir) {
        Ok(ids) => {
            for id in ids.iter().filter(|id| !(live.container)(id)) {
                match ports::unpublish(state_dir, id) {
                    Ok(()) => cleaned.port_owners += 1,
                    Err(e) => errors.push(e),
                }
            }
        }
        Err(e) => errors.push(e),
    }
    if nft::available().is_ok() {
        let stale = |c: &str| {
            if let Some(id) = c.strip_prefix("berth ctr ") {
                !(live.container)(id)
            } else if let Some(id) = c.strip_prefix("berth net ") {
                !(live.network)(id)
            } else {
                false
            }
        };
        match nft::delete_tagged(&stale, None) {
            Ok(n) => cleaned.rules += n,
            Err(e) => errors.push(e),
        }
        if let Err(e) = nft::remove_table_if_empty() {
            errors.push(e);
        }
    }
    match ipam::Ipam::new(state_dir).release_stale(live.container) {
        Ok(n) => cleaned.addresses += n,
        Err(e) => errors.push(e),
    }
    Error::collect(errors).map(|()| cleaned)
}
