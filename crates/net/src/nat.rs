//! Per-network nftables rules: outbound NAT (masquerade), isolation between
//! berth networks, and `--internal` networks that reach nothing outside.
//!
//! Rules of network `<id>` carry the comment `berth net <id>`.
//!
//! berth's forward chain accepts by default; a drop policy in another
//! table (an iptables `FORWARD DROP` left by Docker, a firewalld zone) still
//! applies, as netfilter runs every table's hooks. Such hosts need an
//! accept for the bridges there.

use ipnet::Ipv4Net;
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
/// - `ip saddr SUBNET oifname BRIDGE ct status dnat masquerade`: hairpin
///   traffic to a published port from the same network;
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
    let _table = nft::table_lock(false)?;
    let tag = network_tag(&net.id);
    if nft::rule_comments()?.contains(&tag) {
        return Ok(());
    }
    let mut batch = vec![nft::bridge_element(&net.bridge)];
    let br = net.bridge.as_str();
    let set = format!("@{}", nft::BRIDGES);
    if !net.internal {
        batch.push(nft::rule(
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
    batch.push(nft::rule(
        "postrouting",
        vec![
            ifname(false, Operator::EQ, br),
            ip_in("saddr", loopback),
            masquerade(),
        ],
        tag.clone(),
    ));
    // Hairpin: a container reaching a published port of its own network
    // through the host's address gets the gateway as source, so the reply
    // goes back through the host's conntrack instead of straight across
    // the bridge (where the client would not recognise it). The source is
    // matched by subnet: postrouting has no input interface.
    batch.push(nft::rule(
        "postrouting",
        vec![
            ip_in("saddr", net.subnet),
            ifname(false, Operator::EQ, br),
            nft::ct_dnat(),
            masquerade(),
        ],
        tag.clone(),
    ));
    batch.push(nft::rule(
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
        batch.push(nft::rule(
            "forward",
            vec![
                ifname(true, Operator::EQ, br),
                ifname(false, Operator::NEQ, br),
                nft::drop(),
            ],
            tag.clone(),
        ));
        batch.push(nft::rule(
            "forward",
            vec![
                ifname(false, Operator::EQ, br),
                ifname(true, Operator::NEQ, br),
                nft::drop(),
            ],
            tag.clone(),
        ));
    }
    nft::add_all(batch, &format!("add rules of network {}", net.id))
}

/// Removes the network's rules and its bridge from the bridges set (one
/// listing, one transaction).
pub fn remove_network(id: &str, bridge: &str) -> Result<usize> {
    let tag = network_tag(id);
    nft::delete_tagged(&|c| c == tag, Some(bridge))
}

/// [`remove_network`], and berth's whole table when this network was the last thing
/// in it, in one listing and one transaction.
pub fn remove_network_and_empty_table(id: &str, bridge: &str) -> Result<usize> {
    let tag = network_tag(id);
    nft::delete_tagged_and_empty_table(&|c| c == tag, Some(bridge))
}
