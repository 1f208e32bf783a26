//! The host side of a network: one Linux bridge holding the gateway address.

use std::net::{Ipv4Addr, Ipv6Addr};

use rtnetlink::LinkBridge;

use crate::error::{Error, Result};
use crate::{addr, nl, sysctl};

/// Creates bridge `name` with `gateway/prefix` and brings it up; an existing
/// bridge is completed instead (idempotent). Returns whether it was created.
///
/// Also enables IPv4 forwarding and `route_localnet` on the bridge (see
/// [`sysctl`]).
///
/// ```no_run
/// use std::net::{Ipv4Addr, Ipv6Addr};
/// berth_net::bridge::create("br-1a2b3c4d5e6f", Ipv4Addr::new(172, 18, 0, 1), 16)?;
/// # Ok::<(), berth_net::Error>(())
/// ```
pub fn create(name: &str, gateway: Ipv4Addr, prefix: u8) -> Result<bool> {
    check_name(name)?;
    let created = nl::run(|h| async move {
        let mut created = false;
        let index = match nl::link_by_name(&h, name).await? {
            Some(link) => link.header.index,
            None => {
                if let Err(e) = h.link().add(LinkBridge::new(name).build()).execute().await {
                    return Err(match nl::errno(&e) {
                        Some(libc::EOPNOTSUPP) => Error::Unsupported {
                            feature: "bridge",
                            detail: e.to_string(),
                            hint: "load the bridge module (modprobe bridge) or use --network host",
                        },
                        _ => nl::err(format!("create bridge {name}"))(e),
                    });
                }
                created = true;
                nl::index_of(&h, name).await?
            }
        };
        let result = async {
            addr::ensure_v4(&h, index, gateway, prefix, name).await?;
            addr::up(&h, index, name).await
        }
        .await;
        if result.is_err() && created {
            let _ = h.link().del(index).execute().await;
        }
        result.map(|()| created)
    })?;
    let sys = sysctl::enable_route_localnet(name).and_then(|()| sysctl::enable_ip_forward());
    if let Err(e) = sys {
        if created {
            let _ = delete(name);
        }
        return Err(e);
    }
    Ok(created)
}

/// Gives bridge `name` (made by [`create`]) the IPv6 gateway of a dual-stack
/// network, without duplicate address detection, and lets it hold IPv6
/// addresses. Idempotent.
///
/// ```no_run
/// berth_net::bridge::add_v6("br-1a2b3c4d5e6f", "fd00:1::1".parse().unwrap(), 64)?;
/// # Ok::<(), berth_net::Error>(())
/// ```
pub fn add_v6(name: &str, gateway: Ipv6Addr, prefix: u8) -> Result<()> {
    sysctl::enable_ipv6_on(name)?;
    nl::run(|h| async move {
        let index = nl::index_of(&h, name).await?;
        addr::add_v6(&h, index, gateway, prefix, name).await
    })
}

/// Deletes bridge `name` if it exists. Ports still attached are detached,
/// not deleted (their containers keep running, unreachable).
pub fn delete(name: &str) -> Result<()> {
    nl::run(|h| async move {
        match nl::link_by_name(&h, name).await? {
            Some(link) => h
                .link()
                .del(link.header.index)
                .execute()
                .await
                .map_err(nl::err(format!("delete bridge {name}"))),
            None => Ok(()),
        }
    })
}

/// Interface names are at most 15 bytes (IFNAMSIZ - 1), without `/` or
/// whitespace; the kernel's error for a long name is a bare EINVAL.
pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 15
        || name.contains(['/', ' ', ':'])
        || name == "."
        || name == ".."
    {
        return Err(Error::invalid(
            "interface name",
            name,
            "must be 1 to 15 bytes without '/', ':' or spaces",
        ));
    }
    Ok(())
}
