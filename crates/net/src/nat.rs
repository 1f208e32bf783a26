//! Per-network nftables rules: outbound NAT (masquerade), isolation between
//! berth networks, and `--internal` networks that reach nothing outside.
//!
//! Rules of network `<id>` carry the comment `berth net <id>`.

use ipnet::Ipv4Net;
use nftables::batch::Batch;
use nftables::stmt::Operator;

use crate::error::Result;
use crate::nft::{self, ifname, ip_in, masquerade};

/// What the NAT rules of one network need to know.
#[derive(Debug, Clone)]
pub struct NetworkRules {
    /// The network's id (or name): the tag of its rules.
    pub id: String,
    /// Its bridge.
    pub bridge: String,
    /// Its subnet.
    pub subnet: Ipv4Net,
    /// `--internal`: no outbound traffic, no masquerade, nothing in.
    pub internal: bool,
}

/// The comment that tags the rules of network `id`.
pub fn network_tag(id: &str) -> String {
    format!("berth net {id}")
}

/// Installs the network's rules in one transaction (all or nothing).
///
/// - `ip saddr SUBNET oifname != BRIDGE masquerade` (not for internal ones):
///   containers reach the outside with the host's address;
/// - `oifname BRIDGE ip saddr 127.0.0.0/8 masquerade`: connections to a port
///   published on the host's loopback leave with the bridge's address (see
///   [`crate::sysctl::enable_route_localnet`]);
/// - `iifname BRIDGE oifname @bridges oifname != BRIDGE drop`: no traffic to
///   another berth network (each network drops its own outgoing side);
/// - internal networks also drop anything leaving or entering the bridge
///   from elsewhere.
///
/// Rules are only added if the network has none yet, so repeating the call
/// (a second engine process starting the first container) changes nothing.
///
/// ```no_run
/// use berth_net::nat::{add_network, NetworkRules};
/// add_network(&NetworkRules {
///     id: "1a2b3c4d5e6f".into(),
///     bridge: "br-1a2b3c4d5e6f".into(),
///     subnet: "172.18.0.0/16".parse().unwrap(),
///     internal: false,
/// })?;
/// # Ok::<(), berth_net::Error>(())
/// ```
pub fn add_network(net: &NetworkRules) -> Result<()> {
    let tag = network_tag(&net.id);
    if nft::rule_comments()?.contains(&tag) {
        return Ok(());
    }
    let mut batch = Batch::new();
    nft::skeleton(&mut batch);
    batch.add(nft::bridge_element(&net.bridge));
    let br = net.bridge.as_str();
    let set = format!("@{}", nft::BRIDGES);
    if !net.internal {
        batch.add(nft::rule(
            "postrouting",
            vec![
                ip_in("saddr", net.subnet),
                ifname(false, Operator::NEQ, br),
                masquerade(),
            ],
            tag.clone(),
        ));
    }
    let loopback: Ipv4Net = Ipv4Net::new(std::net::Ipv4Addr::LOCALHOST, 8)
        .unwrap_or_default()
        .trunc();
    batch.add(nft::rule(
        "postrouting",
        vec![
            ifname(false, Operator::EQ, br),
            ip_in("saddr", loopback),
            masquerade(),
        ],
        tag.clone(),
    ));
    batch.add(nft::rule(
        "forward",
        vec![
            ifname(true, Operator::EQ, br),
            ifname(false, Operator::EQ, &set),
            ifname(false, Operator::NEQ, br),
            nft::drop(),
        ],
        tag.clone(),
    ));
    if net.internal {
        batch.add(nft::rule(
            "forward",
            vec![
                ifname(true, Operator::EQ, br),
                ifname(false, Operator::NEQ, br),
                nft::drop(),
            ],
            tag.clone(),
        ));
        batch.add(nft::rule(
            "forward",
            vec![
                ifname(false, Operator::EQ, br),
                ifname(true, Operator::NEQ, br),
                nft::drop(),
            ],
            tag.clone(),
        ));
    }
    nft::apply(batch, &format!("add rules of network {}", net.id))
}

/// Removes the network's rules and its bridge from the bridges set.
pub fn remove_network(id: &str, bridge: &str) -> Result<usize> {
    let tag = network_tag(id);
    let extra = if nft::bridges_in_set()?.iter().any(|b| b == bridge) {
        vec![nft::bridge_element(bridge)]
    } else {
        Vec::new()
    };
    nft::delete_tagged(&|c| c == tag, extra)
}
