//! A container's end of a network: a veth pair whose host end joins the
//! network's bridge and whose other end lives in the container's network
//! namespace as `eth0` (or `ethN` for further networks).

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use ipnet::Ipv4Net;
use rtnetlink::packet_route::link::{InfoData, InfoVeth};
use rtnetlink::{LinkBridgePort, LinkMessageBuilder, LinkUnspec, LinkVeth};

use crate::error::{Error, Result};
use crate::{addr, bridge, netns, nl, route};

/// Everything needed to plug one container into one network.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The container's network namespace: `/proc/PID/ns/net` or a pinned file.
    pub netns: PathBuf,
    /// Name of the host end, ≤ 15 bytes, unique on the host (e.g. `veth` +
    /// 7 hex digits of the container id). berth's teardown deletes it.
    pub host_ifname: String,
    /// Name inside the container (`eth0`).
    pub ifname: String,
    /// The network's bridge.
    pub bridge: String,
    /// The container's address and the network's prefix length.
    pub address: Ipv4Net,
    /// Add a default route via this gateway (only for the primary network).
    pub gateway: Option<Ipv4Addr>,
    /// `--mac-address`; default: [`addr::mac_for`] of the address.
    pub mac: Option<[u8; 6]>,
}

/// Creates the veth pair with its inner end directly in the container's
/// namespace (no window where it sits in the host under a temporary name),
/// enslaves the host end to the bridge, and configures the inner side:
/// MAC, address, `lo` and the interface up, default route. On failure
/// nothing is left: deleting the host end removes its peer too.
///
/// ```no_run
/// use berth_net::link::{attach, Endpoint};
/// let ep = Endpoint {
///     netns: "/proc/4242/ns/net".into(),
///     host_ifname: "veth1a2b3c4".into(),
///     ifname: "eth0".into(),
///     bridge: "br-1a2b3c4d5e6f".into(),
///     address: "172.18.0.2/16".parse().unwrap(),
///     gateway: Some("172.18.0.1".parse().unwrap()),
///     mac: None,
/// };
/// attach(&ep)?;
/// # Ok::<(), berth_net::Error>(())
/// ```
pub fn attach(ep: &Endpoint) -> Result<()> {
    bridge::check_name(&ep.host_ifname)?;
    bridge::check_name(&ep.ifname)?;
    let ns = netns::open(&ep.netns)?;
    let mac = ep.mac.unwrap_or_else(|| addr::mac_for(ep.address.addr()));
    let host_side = nl::run(|h| async move {
        let br = nl::index_of(&h, &ep.bridge).await?;
        let peer = LinkMessageBuilder::<LinkUnspec>::new()
            .name(ep.ifname.clone())
            .address(mac.to_vec())
            .setns_by_fd(ns.as_raw_fd())
            .build();
        let veth = LinkVeth::new(&ep.host_ifname, &ep.ifname)
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
            .build();
        let mut added = h.link().add(veth.clone()).execute().await;
        if let Err(e) = &added
            && nl::errno(e) == Some(libc::EEXIST)
            && let Some(old) = nl::link_by_name(&h, &ep.host_ifname).await?
        {
            // The same container's previous veth, still on its way out with a
            // namespace the kernel destroys in the background (see `detach`).
            match h.link().del(old.header.index).execute().await {
                Ok(()) => {}
                Err(e) if nl::errno(&e) == Some(libc::ENODEV) => {}
                Err(e) => return Err(nl::err(format!("delete old veth {}", ep.host_ifname))(e)),
            }
            added = h.link().add(veth).execute().await;
        }
        if let Err(e) = added {
            return Err(match nl::errno(&e) {
                Some(libc::EOPNOTSUPP) => Error::Unsupported {
                    feature: "veth",
                    detail: e.to_string(),
                    hint: "load the veth module (modprobe veth) or use --network host",
                },
                _ => nl::err(format!(
                    "create veth {} in {}",
                    ep.host_ifname,
                    ep.netns.display()
                ))(e),
            });
        }
        let host = nl::index_of(&h, &ep.host_ifname).await?;
        h.link()
            .set(LinkUnspec::new_with_index(host).controller(br).up().build())
            .execute()
            .await
            .map_err(nl::err(format!(
                "attach {} to bridge {}",
                ep.host_ifname, ep.bridge
            )))?;
        // Hairpin mode lets a frame leave through the port it came in on:
        // a container reaching its own published port via the host's
        // address is DNATed back to itself through this very port.
        h.link()
            .set_port(LinkBridgePort::new(host).hairpin(true).build())
            .execute()
            .await
            .map_err(nl::err(format!("set hairpin mode on {}", ep.host_ifname)))
    });
    if let Err(e) = host_side {
        let _ = detach(&ep.host_ifname);
        return Err(e);
    }
    let inner = netns::run_in(&ep.netns, || {
        nl::run(|h| async move {
            let lo = nl::index_of(&h, "lo").await?;
            addr::up(&h, lo, "lo").await?;
            let idx = nl::index_of(&h, &ep.ifname).await?;
            addr::ensure_v4(
                &h,
                idx,
                ep.address.addr(),
                ep.address.prefix_len(),
                &ep.ifname,
            )
            .await?;
            addr::up(&h, idx, &ep.ifname).await?;
            if let Some(gw) = ep.gateway {
                route::add_default(&h, gw, idx).await?;
            }
            Ok(())
        })
    });
    if inner.is_err() {
        let _ = detach(&ep.host_ifname);
    }
    inner
}

/// Deletes the host end `host_ifname` (and with it the container's end).
/// Missing is fine: the pair vanishes by itself when the namespace dies.
///
/// Deleting a veth waits for an RCU grace period in the kernel (~20 ms
/// here); when the container's namespace is being destroyed anyway, the
/// engine skips this call and lets the kernel remove the pair in the
/// background ([`attach`] copes with a pair of the same name still on its
/// way out).
pub fn detach(host_ifname: &str) -> Result<()> {
    nl::run(|h| async move {
        match nl::link_by_name(&h, host_ifname).await? {
            Some(link) => match h.link().del(link.header.index).execute().await {
                Ok(()) => Ok(()),
                Err(e) if nl::errno(&e) == Some(libc::ENODEV) => Ok(()),
                Err(e) => Err(nl::err(format!("delete veth {host_ifname}"))(e)),
            },
            None => Ok(()),
        }
    })
}
