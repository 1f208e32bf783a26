//! The one error type of berth-net.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;

/// Everything that can go wrong while giving containers networks.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem operation failed (`fs_err` errors name their path).
    #[error(transparent)]
    Io(#[from] std::io::Error),

    /// A netlink request was refused by the kernel.
    #[error("netlink: {op}: {source}")]
    Netlink {
        /// What berth asked for, e.g. `create bridge br-1234`.
        op: String,
        /// The kernel's answer.
        #[source]
        source: rtnetlink::Error,
    },

    /// The host lacks a kernel feature or tool that the operation needs.
    #[error("{feature} is not available on this host: {detail}\nhint: {hint}")]
    Unsupported {
        /// The missing feature (`bridge`, `veth`, `nftables`).
        feature: &'static str,
        /// What the kernel or tool said.
        detail: String,
        /// What the user can do.
        hint: &'static str,
    },

    /// A network's bridge is gone or was replaced since berth brought the
    /// network up (someone deleted it); the caller brings the network up again.
    #[error("bridge {bridge} is missing or was replaced")]
    BridgeChanged {
        /// The bridge's name.
        bridge: String,
    },

    /// An nftables transaction failed.
    #[error("nftables: {op}: {detail}")]
    Nft {
        /// What berth tried to do.
        op: String,
        /// The error from `nft`.
        detail: String,
    },

    /// A system call failed.
    #[error("{what}: {source}")]
    Sys {
        /// The call and its object, e.g. `setns /run/netns/x`.
        what: String,
        /// The errno.
        #[source]
        source: nix::Error,
    },

    /// A requested subnet overlaps another berth network or a host route.
    #[error(
        "subnet {requested} overlaps {existing} ({owner})\nhint: choose another --subnet or remove the other network"
    )]
    SubnetOverlap {
        /// The subnet asked for.
        requested: IpNet,
        /// The subnet it collides with.
        existing: IpNet,
        /// Who owns the other subnet (`network NAME` or `host route on DEV`).
        owner: String,
    },

    /// No subnet of the default pools is free.
    #[error(
        "all predefined address pools have been fully subnetted\nhint: pass --subnet explicitly or remove unused networks"
    )]
    PoolExhausted,

    /// A network name is already recorded by IPAM.
    #[error("network {0} already exists")]
    NetworkExists(String),

    /// A network name is not known.
    #[error("network {0} not found")]
    NetworkNotFound(String),

    /// An address is already handed out.
    #[error("address {ip} is already in use on network {network} (by {owner})")]
    AddressInUse {
        /// The address.
        ip: IpAddr,
        /// The network.
        network: String,
        /// Its current owner.
        owner: String,
    },

    /// A static address or gateway lies outside the network's subnet or range.
    #[error("address {ip} is not in {range} of network {network}")]
    AddressOutOfRange {
        /// The address.
        ip: IpAddr,
        /// The subnet or ip-range it must be in.
        range: IpNet,
        /// The network.
        network: String,
    },

    /// Every address of a network's range is allocated.
    #[error("no free address left in {range} on network {network}")]
    NoFreeAddress {
        /// The exhausted range.
        range: IpNet,
        /// The network.
        network: String,
    },

    /// A user-supplied value could not be parsed.
    #[error("invalid {what} {value:?}: {reason}")]
    Invalid {
        /// What it was meant to be (`port spec`, `subnet`, `mac address`).
        what: &'static str,
        /// The value as given.
        value: String,
        /// Why it is refused.
        reason: String,
    },

    /// A host port is already published or bound.
    #[error(
        "bind for {host_ip}:{port}/{proto} failed: port is already allocated ({owner})\nhint: publish another host port or stop whatever holds it"
    )]
    PortTaken {
        /// The host address.
        host_ip: IpAddr,
        /// The host port.
        port: u16,
        /// `tcp` or `udp`.
        proto: &'static str,
        /// `container ID` or `a host process`.
        owner: String,
    },

    /// A state file holds something berth cannot read.
    #[error("corrupt state file {path}: {source}")]
    State {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },

    /// A DNS message could not be handled.
    #[error("dns: {0}")]
    Dns(String),

    /// Teardown met several errors; it went on after each.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Many(Vec<Error>),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn sys(what: impl Into<String>, source: nix::Error) -> Self {
        Error::Sys {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn invalid(
        what: &'static str,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            what,
            value: value.into(),
            reason: reason.into(),
        }
    }

    /// Turns a list of teardown errors into one result.
    pub(crate) fn collect(mut errors: Vec<Error>) -> Result<()> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Many(errors)),
        }
    }
}
