//! A container's end of a network: a veth pair whose host end joins the
//! network's bridge and whose other end lives in the container's network
//! namespace as `eth0` (or `ethN` for further networks).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;

use ipnet::{Ipv4Net, Ipv6Net};
use nix::sched::CloneFlags;
use rtnetlink::packet_route::link::{InfoData, InfoVeth};
use rtnetlink::{Handle, LinkBridgePort, LinkMessageBuilder, LinkUnspec, LinkVeth};

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
    /// A second name of the same container's, taken when `host_ifname` still
    /// belongs to the container's previous pair, which the kernel destroys with
    /// that start's namespace in the background: a restart then neither waits
    /// for that nor deletes the old pair itself.
    pub spare_ifname: Option<String>,
    /// Name inside the container (`eth0`).
    pub ifname: String,
    /// The network's bridge.
    pub bridge: String,
    /// The interface index the bridge is expected to have (from when the
    /// network was brought up), if known: a bridge missing or replaced behind
    /// berth's back is then reported as [`Error::BridgeChanged`] before
    /// anything is made, so the caller can bring the network up again.
    pub bridge_index: Option<u32>,
    /// The container's address and the network's prefix length.
    pub address: Ipv4Net,
    /// Add a default route via this gateway (only for the primary network).
    pub gateway: Option<Ipv4Addr>,
    /// The container's IPv6 address on a dual-stack network.
    pub address6: Option<Ipv6Net>,
    /// Add a default IPv6 route via this gateway.
    pub gateway6: Option<Ipv6Addr>,
    /// `--mac-address`; default: [`addr::mac_for`] of the address.
    pub mac: Option<[u8; 6]>,
}

/// Creates the veth pair with its inner end directly in the container's
/// namespace (no window where it sits in the host under a temporary name),
/// with the host end enslaved to the bridge and up from the start, and
/// configures the inner side: address(es), `lo` up, default route(s).
/// On failure nothing is left: deleting the host end removes its peer too.
///
/// Everything goes over two netlink sockets on one short-lived runtime: one
/// in the caller's namespace and one made inside the container's (the
/// calling thread enters it only while the socket is created; a socket
/// stays in the namespace it was made in). IPv6 addresses skip duplicate
/// address detection, so nothing waits.
///
/// ```no_run
/// use berth_net::link::{attach, Endpoint};
/// let ep = Endpoint {
///     netns: "/proc/4242/ns/net".into(),
///     host_ifname: "veth1a2b3c4".into(),
///     spare_ifname: None,
///     ifname: "eth0".into(),
///     bridge: "br-1a2b3c4d5e6f".into(),
///     bridge_index: None,
///     address: "172.18.0.2/16".parse().unwrap(),
///     gateway: Some("172.18.0.1".parse().unwrap()),
///     address6: Some("fd00:1::2/64".parse().unwrap()),
///     gateway6: Some("fd00:1::1".parse().unwrap()),
///     mac: None,
/// };
/// let host_end = attach(&ep)?;
/// # Ok::<(), berth_net::Error>(())
/// ```
///
/// Returns the name the host end got: `host_ifname`, or `spare_ifname` when the
/// first was taken.
pub fn attach(ep: &Endpoint) -> Result<String> {
    bridge::check_name(&ep.host_ifname)?;
    if let Some(spare) = &ep.spare_ifname {
        bridge::check_name(spare)?;
    }
    bridge::check_name(&ep.ifname)?;
    let ns = netns::open(&ep.netns)?;
    let mac = ep.mac.unwrap_or_else(|| addr::mac_for(ep.address.addr()));
    let mut made = None;
    let result = nl::run(|h| {
        let made = &mut made;
        async move {
            let name = host_side(&h, ep, &ns, mac).await?;
            *made = Some(name.clone());
            let inner = connect_in(&ns, &ep.netns)?;
            inner_side(&inner, ep).await?;
            Ok(name)
        }
    });
    if result.is_err()
        && let Some(name) = made
    {
        let _ = detach(&name);
    }
    result
}

/// A netlink handle whose socket lives in namespace `ns`, served by the
/// current runtime.
fn connect_in(ns: &impl AsFd, path: &std::path::Path) -> Result<Handle> {
    let home = netns::open(std::path::Path::new(netns::THREAD_NETNS))?;
    nix::sched::setns(ns.as_fd(), CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::sys(format!("setns {}", path.display()), e))?;
    let made = rtnetlink::new_connection();
    // Always go home before anything else: this thread must not stay there.
    nix::sched::setns(home.as_fd(), CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::sys("setns back to the host netns", e))?;
    let (conn, handle, _) = made.map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("opening netlink socket in {}: {e}", path.display()),
        ))
    })?;
    tokio::spawn(conn);
    Ok(handle)
}

/// Makes the pair; returns the host end's name.
async fn host_side(h: &Handle, ep: &Endpoint, ns: &impl AsRawFd, mac: [u8; 6]) -> Result<String> {
    let br = match (nl::link_by_name(h, &ep.bridge).await?, ep.bridge_index) {
        (Some(l), Some(want)) if l.header.index != want => {
            return Err(Error::BridgeChanged {
                bridge: ep.bridge.clone(),
            });
        }
        (Some(l), _) => l.header.index,
        (None, Some(_)) => {
            return Err(Error::BridgeChanged {
                bridge: ep.bridge.clone(),
            });
        }
        (None, None) => nl::index_of(h, &ep.bridge).await?,
    };
    let peer = LinkMessageBuilder::<LinkUnspec>::new()
        .name(ep.ifname.clone())
        .address(mac.to_vec())
        .setns_by_fd(ns.as_raw_fd())
        .build();
    // The host end is enslaved and up from its creation; the peer cannot be (the
    // kernel opens it before the pair is linked, and veth_open says ENOTCONN).
    let veth = |name: &str| {
        LinkVeth::new(name, &ep.ifname)
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer.clone())))
            .controller(br)
            .up()
            .build()
    };
    let taken = |r: &std::result::Result<(), rtnetlink::Error>| matches!(r, Err(e) if nl::errno(e) == Some(libc::EEXIST));
    let mut name = &ep.host_ifname;
    let mut added = h.link().add(veth(name)).execute().await;
    if taken(&added)
        && let Some(spare) = &ep.spare_ifname
    {
        name = spare;
        added = h.link().add(veth(name)).execute().await;
    }
    // Both names still belong to the container's previous pairs, on their way out
    // with namespaces the kernel destroys in the background (see `detach`): the
    // last one tried is deleted here, or it vanishes between the refusal and the
    // look-up (the kernel's cleanup ran in between). Either way the name is then free.
    for _ in 0..3 {
        if !taken(&added) {
            break;
        }
        if let Some(old) = nl::link_by_name(h, name).await? {
            match h.link().del(old.header.index).execute().await {
                Ok(()) => {}
                Err(e) if nl::errno(&e) == Some(libc::ENODEV) => {}
                Err(e) => return Err(nl::err(format!("delete old veth {name}"))(e)),
            }
        }
        added = h.link().add(veth(name)).execute().await;
    }
    if let Err(e) = added {
        return Err(match nl::errno(&e) {
            Some(libc::EOPNOTSUPP) => Error::Unsupported {
                feature: "veth",
                detail: e.to_string(),
                hint: "load the veth module (modprobe veth) or use --network host",
            },
            _ => nl::err(format!("create veth {name} in {}", ep.netns.display()))(e),
        });
    }
    let host = nl::index_of(h, name).await?;
    // Hairpin mode lets a frame leave through the port it came in on:
    // a container reaching its own published port via the host's
    // address is DNATed back to itself through this very port.
    let hairpin = h
        .link()
        .set_port(LinkBridgePort::new(host).hairpin(true).build())
        .execute()
        .await;
    if let Err(e) = hairpin {
        let _ = h.link().del(host).execute().await;
        return Err(nl::err(format!("set hairpin mode on {name}"))(e));
    }
    Ok(name.clone())
}

async fn inner_side(h: &Handle, ep: &Endpoint) -> Result<()> {
    // A fresh namespace: `lo` is index 1, and the new veth end has no address.
    let lo = nl::index_of(h, "lo").await?;
    addr::up(h, lo, "lo").await?;
    let idx = nl::index_of(h, &ep.ifname).await?;
    addr::add_v4_new(
        h,
        idx,
        ep.address.addr(),
        ep.address.prefix_len(),
        &ep.ifname,
    )
    .await?;
    addr::up(h, idx, &ep.ifname).await?;
    if let Some(gw) = ep.gateway {
        route::add_default(h, gw, idx).await?;
    }
    if let Some(a6) = ep.address6 {
        addr::add_v6(h, idx, a6.addr(), a6.prefix_len(), &ep.ifname).await?;
        if let Some(gw) = ep.gateway6 {
            route::add_default6(h, gw, idx).await?;
        }
    }
    Ok(())
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
