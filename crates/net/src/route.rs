//! Routes: the host's table (for IPAM's overlap check) and a container's
//! default route.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use futures_util::TryStreamExt;
use ipnet::Ipv4Net;
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteType};
use rtnetlink::{Handle, RouteMessageBuilder};

use crate::error::Result;
use crate::nl;

/// One IPv4 route of the host's main table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoute {
    /// Destination prefix (`0.0.0.0/0` for the default route).
    pub dst: Ipv4Net,
    /// Output device name (empty when the route has none).
    pub dev: String,
}

/// The unicast IPv4 routes of the main table of the caller's namespace.
pub fn host_routes() -> Result<Vec<HostRoute>> {
    nl::run(|h| async move {
        let names: HashMap<u32, String> = nl::links(&h).await?.into_iter().collect();
        let mut stream = h
            .route()
            .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
            .execute();
        let mut out = Vec::new();
        while let Some(msg) = stream.try_next().await.map_err(nl::err("list routes"))? {
            if msg.header.kind != RouteType::Unicast {
                continue;
            }
            let mut dst = Ipv4Addr::UNSPECIFIED;
            let mut dev = String::new();
            for a in &msg.attributes {
                match a {
                    RouteAttribute::Destination(RouteAddress::Inet(ip)) => dst = *ip,
                    RouteAttribute::Oif(i) => dev = names.get(i).cloned().unwrap_or_default(),
                    _ => {}
                }
            }
            if let Ok(dst) = Ipv4Net::new(dst, msg.header.destination_prefix_length) {
                out.push(HostRoute { dst, dev });
            }
        }
        Ok(out)
    })
}

/// Adds `default via gateway dev index`.
pub(crate) async fn add_default(handle: &Handle, gateway: Ipv4Addr, index: u32) -> Result<()> {
    let msg = RouteMessageBuilder::<Ipv4Addr>::new()
        .gateway(gateway)
        .output_interface(index)
        .build();
    handle
        .route()
        .add(msg)
        .execute()
        .await
        .map_err(nl::err(format!("add default route via {gateway}")))
}

/// Adds `default via gateway dev index` for IPv6.
pub(crate) async fn add_default6(handle: &Handle, gateway: Ipv6Addr, index: u32) -> Result<()> {
    let msg = RouteMessageBuilder::<Ipv6Addr>::new()
        .gateway(gateway)
        .output_interface(index)
        .build();
    handle
        .route()
        .add(msg)
        .execute()
        .await
        .map_err(nl::err(format!("add default IPv6 route via {gateway}")))
}
