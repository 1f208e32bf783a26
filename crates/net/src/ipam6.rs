//! The IPv6 half of a dual-stack network's IPAM: its subnet (given, or a random
//! unique local /64 as current Docker picks), gateway and handed-out addresses.
//! Kept in the same state file and under the same lock as the IPv4 half, so one
//! update allocates (or releases) both addresses of a container.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::net::{IpAddr, Ipv6Addr};

use ipnet::{IpNet, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a dual-stack network asks for on the IPv6 side; `None` is chosen by IPAM.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubnetRequest6 {
    /// `--subnet` with an IPv6 prefix; default: a random `fdXX:XXXX:XXXX::/64`.
    pub subnet: Option<Ipv6Net>,
    /// `--gateway` with an IPv6 address; default: the subnet's first address.
    pub gateway: Option<Ipv6Addr>,
}

/// The IPv6 addresses a network owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAddrs6 {
    /// The subnet (the bridge's on-link prefix).
    pub subnet: Ipv6Net,
    /// The bridge's address and the containers' default IPv6 route.
    pub gateway: Ipv6Addr,
}

/// The IPv6 state of one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NetState6 {
    #[serde(flatten)]
    pub(crate) addrs: NetworkAddrs6,
    /// Address → owner.
    #[serde(default)]
    pub(crate) allocations: BTreeMap<Ipv6Addr, String>,
    /// The last dynamic address handed out (see the IPv4 side's `last`).
    #[serde(default)]
    pub(crate) last: Option<Ipv6Addr>,
}

/// Parses an IPv6 `--subnet`, refusing host bits and prefixes too small for a
/// bridge (more than /126).
pub fn parse_subnet6(value: &str) -> Result<Ipv6Net> {
    let net: Ipv6Net = value
        .parse()
        .map_err(|e| Error::invalid("subnet", value, format!("{e}")))?;
    if net.trunc() != net {
        return Err(Error::invalid(
            "subnet",
            value,
            format!("host bits are set; it should be {}", net.trunc()),
        ));
    }
    if net.prefix_len() > 126 {
        return Err(Error::invalid(
            "subnet",
            value,
            "a bridge network needs at least a /126",
        ));
    }
    Ok(net)
}

/// A random unique local /64 (RFC 4193: `fd` + a 40-bit random global id, subnet
/// id 0), which is what current Docker gives an `--ipv6` network without a subnet.
pub(crate) fn random_ula() -> Result<Ipv6Net> {
    let mut id = [0u8; 5];
    fs_err::File::open("/dev/urandom")?.read_exact(&mut id)?;
    let mut octets = [0u8; 16];
    octets[0] = 0xfd;
    octets[1..6].copy_from_slice(&id);
    Ipv6Net::new(Ipv6Addr::from(octets), 64)
        .map_err(|e| Error::invalid("subnet", format!("{octets:?}"), e.to_string()))
}

/// Checks `subnet` against the IPv6 subnets of the other networks.
pub(crate) fn check_free6<'a>(
    others: impl IntoIterator<Item = (&'a String, &'a NetState6)>,
    subnet: Ipv6Net,
) -> Result<()> {
    for (name, n) in others {
        let e = n.addrs.subnet;
        if e.contains(&subnet.network()) || subnet.contains(&e.network()) {
            return Err(Error::SubnetOverlap {
                requested: IpNet::V6(subnet),
                existing: IpNet::V6(e),
                owner: format!("network {name}"),
            });
        }
    }
    Ok(())
}

/// The IPv6 side of a new network: the subnet asked for or a random ULA that no
/// other network uses, and its gateway.
pub(crate) fn new_state<'a>(
    name: &str,
    req: &SubnetRequest6,
    others: impl IntoIterator<Item = (&'a String, &'a NetState6)> + Clone,
) -> Result<NetState6> {
    let subnet = match req.subnet {
        Some(s) => {
            check_free6(others, s)?;
            s
        }
        None => {
            // 40 random bits: a clash is all but impossible, but cheap to rule out.
            let mut tries = 0;
            loop {
                let s = random_ula()?;
                match check_free6(others.clone(), s) {
                    Ok(()) => break s,
                    Err(e) if tries >= 8 => return Err(e),
                    Err(_) => tries += 1,
                }
            }
        }
    };
    let first = Ipv6Addr::from(u128::from(subnet.network()) + 1);
    let gateway = req.gateway.unwrap_or(first);
    if !subnet.contains(&gateway) || gateway == subnet.network() {
        return Err(Error::AddressOutOfRange {
            ip: IpAddr::V6(gateway),
            range: IpNet::V6(subnet),
            network: name.to_string(),
        });
    }
    Ok(NetState6 {
        addrs: NetworkAddrs6 { subnet, gateway },
        allocations: BTreeMap::new(),
        last: None,
    })
}

impl NetState6 {
    /// Hands out `want` (`--ip6`) or the next free address to `owner`.
    pub(crate) fn allocate(
        &mut self,
        network: &str,
        owner: &str,
        want: Option<Ipv6Addr>,
    ) -> Result<Ipv6Addr> {
        let a = self.addrs;
        let ip = match want {
            Some(ip) => {
                if !a.subnet.contains(&ip) || ip == a.subnet.network() {
                    return Err(Error::AddressOutOfRange {
                        ip: IpAddr::V6(ip),
                        range: IpNet::V6(a.subnet),
                        network: network.to_string(),
                    });
                }
                let taken = if ip == a.gateway {
                    Some("the gateway".to_string())
                } else {
                    self.allocations.get(&ip).cloned()
                };
                if let Some(owner) = taken {
                    return Err(Error::AddressInUse {
                        ip: IpAddr::V6(ip),
                        network: network.to_string(),
                        owner,
                    });
                }
                ip
            }
            None => {
                let ip = self.next_free().ok_or_else(|| Error::NoFreeAddress {
                    range: IpNet::V6(a.subnet),
                    network: network.to_string(),
                })?;
                self.last = Some(ip);
                ip
            }
        };
        self.allocations.insert(ip, owner.to_string());
        Ok(ip)
    }

    /// The next usable address after the last one handed out, wrapping around.
    /// Among any `allocations + 2` consecutive addresses one is free (only the
    /// subnet-router address and the gateway are reserved), so the walk is short
    /// even in a /64.
    fn next_free(&self) -> Option<Ipv6Addr> {
        let a = self.addrs;
        let lo = u128::from(a.subnet.network());
        let span = u128::from(a.subnet.broadcast()) - lo; // size - 1
        let start = self
            .last
            .map(u128::from)
            .filter(|l| a.subnet.contains(&Ipv6Addr::from(*l)))
            .map_or(1, |l| l - lo + 1);
        let tries = (self.allocations.len() as u128 + 3).min(span.saturating_add(1));
        (0..tries)
            .map(|i| {
                let off = (start + i) % (span.saturating_add(1)).max(1);
                Ipv6Addr::from(lo + off)
            })
            .find(|ip| {
                *ip != a.subnet.network() && *ip != a.gateway && !self.allocations.contains_key(ip)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(subnet: &str) -> NetState6 {
        new_state(
            "n",
            &SubnetRequest6 {
                subnet: Some(subnet.parse().unwrap()),
                gateway: None,
            },
            std::iter::empty(),
        )
        .unwrap()
    }

    #[test]
    fn random_ula_is_a_fd_slash_64() {
        let a = random_ula().unwrap();
        let b = random_ula().unwrap();
        assert_eq!(a.prefix_len(), 64);
        assert_eq!(a.network().octets()[0], 0xfd);
        assert_eq!(a.trunc(), a);
        assert_ne!(a, b, "40 random bits");
    }

    #[test]
    fn addresses_are_never_handed_out_twice_and_wrap_in_small_subnets() {
        let mut s = state("fd00:1::/125"); // ::0 router, ::1 gateway, ::2 … ::7
        let got: Vec<Ipv6Addr> = (0..6)
            .map(|i| s.allocate("n", &format!("c{i}"), None).unwrap())
            .collect();
        let want: Vec<Ipv6Addr> = (2..8)
            .map(|i| format!("fd00:1::{i}").parse().unwrap())
            .collect();
        assert_eq!(got, want);
        assert!(matches!(
            s.allocate("n", "c9", None),
            Err(Error::NoFreeAddress { .. })
        ));
        s.allocations.retain(|_, o| o != "c2");
        assert_eq!(
            s.allocate("n", "c9", None).unwrap(),
            "fd00:1::4".parse::<Ipv6Addr>().unwrap(),
            "the freed address, after wrapping"
        );
        let err = s
            .allocate("n", "c10", Some("fd00:1::4".parse().unwrap()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("fd00:1::4") && err.contains("c9"), "{err}");
        assert!(matches!(
            s.allocate("n", "c10", Some("fd00:1::1".parse().unwrap())),
            Err(Error::AddressInUse { .. })
        ));
        assert!(matches!(
            s.allocate("n", "c10", Some("fd00:2::4".parse().unwrap())),
            Err(Error::AddressOutOfRange { .. })
        ));
    }

    #[test]
    fn overlapping_v6_subnets_are_refused_and_bad_ones_parsed_out() {
        let a = state("fd00:aa::/64");
        let others = [("a".to_string(), a)];
        let err = new_state(
            "b",
            &SubnetRequest6 {
                subnet: Some("fd00:aa::/48".parse().unwrap()),
                gateway: None,
            },
            others.iter().map(|(k, v)| (k, v)),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("fd00:aa::/48")
                && err.contains("fd00:aa::/64")
                && err.contains("network a"),
            "{err}"
        );
        assert!(
            parse_subnet6("fd00::1/64")
                .unwrap_err()
                .to_string()
                .contains("fd00::/64")
        );
        assert!(parse_subnet6("fd00::/127").is_err());
        let gw = new_state(
            "c",
            &SubnetRequest6 {
                subnet: Some("fd00:cc::/64".parse().unwrap()),
                gateway: Some("fd00:dd::1".parse().unwrap()),
            },
            std::iter::empty(),
        );
        assert!(matches!(gw, Err(Error::AddressOutOfRange { .. })));
    }
}
