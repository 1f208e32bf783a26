//! `berth network inspect` in Docker's JSON shape, and a container's
//! `NetworkSettings`.

use berth_store::{ContainerRecord, NetworkRecord};
use serde_json::{Map, Value, json};

use super::attach::attachments;
use super::{bridge_name, net_key, net_state_dir, ports};
use crate::containers::inspect::rfc3339;
use crate::{Engine, Result};

/// One network as `docker network inspect` shows it.
pub fn network_json(engine: &Engine, net: &NetworkRecord) -> Result<Value> {
    let mut containers = Map::new();
    for c in engine
        .store()
        .list_containers(&berth_store::ContainerFilter::default())?
    {
        for ep in attachments(&c.state) {
            if ep.network_id == net.id && !ep.ip_address.is_empty() {
                containers.insert(
                    c.id.clone(),
                    json!({
                        "Name": c.name,
                        "EndpointID": ep.endpoint_id,
                        "MacAddress": ep.mac_address,
                        "IPv4Address": format!("{}/{}", ep.ip_address, ep.ip_prefix_len),
                        "IPv6Address": if ep.global_ipv6_address.is_empty() {
                            String::new()
                        } else {
                            format!("{}/{}", ep.global_ipv6_address, ep.global_ipv6_prefix_len)
                        },
                    }),
                );
            }
        }
    }
    let addrs = berth_net::ipam::Ipam::new(&net_state_dir())
        .network(&net_key(net))
        .ok()
        .flatten();
    let range = addrs
        .map(|a| a.range)
        .filter(|r| Some(r.to_string()) != net.subnet);
    let mut config = json!({"Subnet": net.subnet, "Gateway": net.gateway});
    if let Some(r) = range {
        config["IPRange"] = json!(r.to_string());
    }
    let mut configs = vec![config];
    if let Some(v6) = addrs.and_then(|a| a.v6) {
        configs.push(json!({"Subnet": v6.subnet.to_string(), "Gateway": v6.gateway.to_string()}));
    }
    let mut options = json!(net.options);
    if net.name == super::DEFAULT_NETWORK {
        options["com.docker.network.bridge.name"] = json!(bridge_name(net));
        options["com.docker.network.bridge.default_bridge"] = json!("true");
    }
    Ok(json!({
        "Name": net.name,
        "Id": net.id,
        "Created": rfc3339(Some(net.created)),
        "Scope": "local",
        "Driver": net.driver,
        "EnableIPv6": super::ipv6_enabled(net),
        "IPAM": {"Driver": "default", "Options": {}, "Config": configs},
        "Internal": net.internal,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": containers,
        "Options": options,
        "Labels": net.labels,
    }))
}

/// A container's `NetworkSettings` (Docker's shape).
pub fn settings(rec: &ContainerRecord, exposed: &[String]) -> Value {
    let eps = attachments(&rec.state);
    let mut networks = Map::new();
    for ep in &eps {
        let mut v = serde_json::to_value(ep).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("NetworkName");
            o.remove("MacRequested");
        }
        networks.insert(ep.network.clone(), v);
    }
    let primary = eps.first().filter(|e| e.network == super::DEFAULT_NETWORK);
    let field = |f: fn(&super::Endpoint) -> String| primary.map(f).unwrap_or_default();
    json!({
        "Bridge": "",
        "SandboxID": "",
        "SandboxKey": if rec.state.status == berth_store::ContainerStatus::Running && !eps.is_empty() {
            format!("/proc/{}/ns/net", rec.state.pid.unwrap_or(0))
        } else {
            String::new()
        },
        "Ports": ports::inspect_ports(&rec.state, exposed),
        "IPAddress": field(|e| e.ip_address.clone()),
        "IPPrefixLen": primary.map_or(0, |e| e.ip_prefix_len),
        "Gateway": field(|e| e.gateway.clone()),
        "MacAddress": field(|e| e.mac_address.clone()),
        "GlobalIPv6Address": field(|e| e.global_ipv6_address.clone()),
        "GlobalIPv6PrefixLen": primary.map_or(0, |e| e.global_ipv6_prefix_len),
        "IPv6Gateway": field(|e| e.ipv6_gateway.clone()),
        "Networks": networks,
    })
}
