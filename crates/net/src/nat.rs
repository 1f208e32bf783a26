//! Per-network nftables rules: outbound NAT (masquerade), isolation between
//! berth networks, and `--internal` networks that reach nothing outside.
//!
//! Rules of network `<id>` carry the comment `berth net <id>`. They live in
//! berth's `inet` table, so a dual-stack network's IPv6 traffic is isolated
//! by the same interface rules as its IPv4 traffic, and its IPv6 subnet is
//! masqueraded as Docker does with `ip6tables` enabled.
//!
//! berth's forward chain accepts by default; a drop policy in another
//! table (an iptables `FORWARD DROP` left by Docker, a firewalld zone) still
//! applies, as netfilter runs every table's hooks. Such hosts need an
//! accept for the bridges there.

use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
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
    /// Its IPv6 subnet (`--ipv6` networks).
    pub subnet6: Option<Ipv6Net>,
    /// `--internal`: no outbound traffic, no masquerade, nothing in.
    pub internal: bool,
}

/// The comment that tags the rules of network `id`.
pub fn network_tag(id: &str) -> String {
    format!("berth net {id}")
}

/// Installs the network's rules in one transaction (all or nothing).
///
/// - `ip saddr SUBNET oifname != BRIDGE masquerade` (not for internal ones),
///   and the same for `ip6 saddr SUBNET6`: containers reach the outside with
///   the host's address;
/// - `oifname BRIDGE ip saddr 127.0.0.0/8 masquerade`: connections to a port
///   published on the host's loopback leave with the bridge's address (see
///   [`crate::sysctl::enable_route_localnet`]);
/// - `iifname BRIDGE oifname @bridges oifname != BRIDGE drop`: no traffic to
///   another berth network (each network drops its own outgoing side);
/// - `ip saddr SUBNET oifname BRIDGE ct status dnat masquerade` (and `ip6`):
///   hairpin traffic to a published port from the same network;
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
///     subnet6: Some("fd00:18::/64".parse().unwrap()),
///     internal: false,
/// })?;
/// # Ok::<(), berth_net::Error>(())
/// ```
pub fn add_network(net: &NetworkRules) -> Result<()> {
    let _table = nft::table_lock(false)?;
    let tag = network_tag(&net.id);
    if nft::own_rule_comments()?.contains(&tag) {
        return Ok(());
    }
    let mut batch = vec![nft::bridge_element(&net.bridge)];
    let br = net.bridge.as_str();
    let set = format!("@{}", nft::BRIDGES);
    let subnets: Vec<IpNet> = std::iter::once(IpNet::V4(net.subnet))
        .chain(net.subnet6.map(IpNet::V6))
        .collect();
    for &subnet in &subnets {
        if !net.internal {
            batch.push(nft::rule(
                "postrouting",
                vec![
                    ip_in("saddr", subnet),
                    ifname(false, Operator::NEQ, br),
                    masquerade(),
                ],
                tag.clone(),
            ));
        }
        // Hairpin: a container reaching a published port of its own network
        // through the host's address gets the gateway as source, so the reply
        // goes back through the host's conntrack instead of straight across
        // the bridge (where the client would not recognise it). The source is
        // matched by subnet: postrouting has no input interface.
        batch.push(nft::rule(
            "postrouting",
            vec![
                ip_in("saddr", subnet),
                ifname(false, Operator::EQ, br),
                nft::ct_dnat(),
                masquerade(),
            ],
            tag.clone(),
        ));
    }
    // IPv4 only: the kernel never routes IPv6 packets from ::1 off the
    // loopback device (there is no route_localnet for IPv6), so `[::1]:PORT`
    // goes through the userspace proxy instead (see `crate::ports`).
    let loopback = Ipv4Net::new(Ipv4Addr::LOCALHOST, 8)
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
/// in it, in one listing and one transaction. With `legacy` (the network was
/// brought up by a berth that used `table ip berth`), its rules there go too,
/// and that table with them when it is empty.
pub fn remove_network_and_empty_table(id: &str, bridge: &str, legacy: bool) -> Result<usize> {
    let tag = network_tag(id);
    let tables = if legacy {
        nft::Tables::Both
    } else {
        nft::Tables::Own
    };
    nft::delete_tagged_and_empty_table(&|c| c == tag, Some(bridge), tables)
}

/// Removes the rules an older berth gave network `id` in `table ip berth` (and its
/// bridge from that table's set), and that table when nothing is left in it: for a
/// network brought up again by this berth, whose rules are now in `table inet berth`.
pub fn remove_legacy_network(id: &str, bridge: &str) -> Result<usize> {
    let tag = network_tag(id);
    nft::delete_tagged_and_empty_table(&|c| c == tag, Some(bridge), nft::Tables::Legacy)
}
