//! Interface addresses and link state.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::TryStreamExt;
use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags, AddressHeaderFlags};
use rtnetlink::{Handle, LinkUnspec};

use crate::error::Result;
use crate::nl;

/// Adds `ip/prefix` to link `index` unless it already has it.
pub(crate) async fn ensure_v4(
    handle: &Handle,
    index: u32,
    ip: Ipv4Addr,
    prefix: u8,
    what: &str,
) -> Result<()> {
    if has_v4(handle, index, ip).await? {
        return Ok(());
    }
    handle
        .address()
        .add(index, IpAddr::V4(ip), prefix)
        .execute()
        .await
        .map_err(nl::err(format!("add address {ip}/{prefix} to {what}")))
}

/// Adds `ip/prefix` to link `index` without duplicate address detection (an
/// address berth's IPAM handed out is unique on its network; DAD would keep it
/// "tentative", unusable as a source, for a second or more). An address the
/// link already has is fine.
pub(crate) async fn add_v6(
    handle: &Handle,
    index: u32,
    ip: Ipv6Addr,
    prefix: u8,
    what: &str,
) -> Result<()> {
    let mut req = handle.address().add(index, IpAddr::V6(ip), prefix);
    let msg = req.message_mut();
    msg.header.flags |= AddressHeaderFlags::Nodad;
    msg.attributes
        .push(AddressAttribute::Flags(AddressFlags::Nodad));
    match req.execute().await {
        Ok(()) => Ok(()),
        Err(e) if nl::errno(&e) == Some(libc::EEXIST) => Ok(()),
        Err(e) => Err(nl::err(format!("add address {ip}/{prefix} to {what}"))(e)),
    }
}

/// Adds `ip/prefix` to a link that was just created and so has no address:
/// one request, no listing first.
pub(crate) async fn add_v4_new(
    handle: &Handle,
    index: u32,
    ip: Ipv4Addr,
    prefix: u8,
    what: &str,
) -> Result<()> {
    handle
        .address()
        .add(index, IpAddr::V4(ip), prefix)
        .execute()
        .await
        .map_err(nl::err(format!("add address {ip}/{prefix} to {what}")))
}

async fn has_v4(handle: &Handle, index: u32, ip: Ipv4Addr) -> Result<bool> {
    let mut addrs = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute();
    while let Some(msg) = addrs.try_next().await.map_err(nl::err("list addresses"))? {
        let found = msg.attributes.iter().any(|a| {
            matches!(a, AddressAttribute::Local(IpAddr::V4(a)) | AddressAttribute::Address(IpAddr::V4(a)) if *a == ip)
        });
        if found {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Brings link `index` up.
pub(crate) async fn up(handle: &Handle, index: u32, what: &str) -> Result<()> {
    handle
        .link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(nl::err(format!("bring {what} up")))
}

/// The MAC address berth gives a container without `--mac-address`: a
/// locally administered 02:42 prefix followed by its IPv4 address, as Docker
/// did for years, so it is unique within the network and stable.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// Parses `--mac-address` (`aa:bb:cc:dd:ee:ff`), refusing multicast ones.
pub fn parse_mac(value: &str) -> Result<[u8; 6]> {
    let bad = |reason: &str| crate::Error::invalid("mac address", value, reason);
    let parts: Vec<&str> = value.split([':', '-']).collect();
    if parts.len() != 6 {
        return Err(bad("expected six hex bytes like 02:42:ac:11:00:02"));
    }
    let mut mac = [0u8; 6];
    for (slot, part) in mac.iter_mut().zip(parts) {
        if part.len() != 2 {
            return Err(bad("expected six hex bytes like 02:42:ac:11:00:02"));
        }
        *slot = u8::from_str_radix(part, 16).map_err(|_| bad("not hexadecimal"))?;
    }
    if mac[0] & 1 == 1 {
        return Err(bad("a multicast address cannot be an interface's address"));
    }
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parsing_and_derivation() {
        assert_eq!(
            parse_mac("02:42:AC:11:00:02").unwrap(),
            [2, 0x42, 0xac, 0x11, 0, 2]
        );
        assert!(
            parse_mac("01:00:5e:00:00:01")
                .unwrap_err()
                .to_string()
                .contains("multicast")
        );
        assert!(parse_mac("02:42:ac:11:00").is_err());
        assert!(parse_mac("02:42:ac:11:00:zz").is_err());
        assert_eq!(
            mac_for(Ipv4Addr::new(172, 17, 0, 2)),
            [2, 0x42, 172, 17, 0, 2]
        );
    }
}
