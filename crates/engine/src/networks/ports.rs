//! Published ports as the user sees them: `-p`/`-P` turned into berth-net specs, and
//! Docker's three views of the result (`inspect`'s `NetworkSettings.Ports`, the `ps`
//! PORTS column, `berth port`).

use std::collections::BTreeMap;

use berth_net::ports::{PortBinding, PortSpec, parse_port_spec};
use berth_store::ContainerState;
use serde_json::{Value, json};

use super::attach::EXTRA_PORTS;
use crate::containers::{ImageConfig, RunOptions};
use crate::{Error, Result};

/// The ports to publish: every `-p`, then with `-P` each `EXPOSE`d port (and
/// `--expose`d one) on a random host port.
pub fn specs(opts: &RunOptions, image: &ImageConfig) -> Result<Vec<PortSpec>> {
    let mut out = Vec::new();
    for p in &opts.publish {
        out.push(parse_port_spec(p).map_err(|e| Error::Invalid {
            flag: "-p/--publish",
            value: p.clone(),
            hint: format!("{e}; use [ip:][hostPort:]containerPort[/tcp|udp], e.g. 8080:80"),
        })?);
    }
    if opts.publish_all {
        for port in image.exposed_ports.keys().chain(opts.expose.iter()) {
            let spec = parse_port_spec(port).map_err(|e| Error::Invalid {
                flag: "--expose",
                value: port.clone(),
                hint: e.to_string(),
            })?;
            if !out.iter().any(|s: &PortSpec| {
                s.container_ports == spec.container_ports && s.proto == spec.proto
            }) {
                out.push(spec);
            }
        }
    }
    Ok(out)
}

/// Refuses a `-p` with an IPv6 host address (`[::1]:8080:80`) for a container on
/// network `net` without IPv6: at create, so nothing is stored. (`specs` are
/// [`specs`]' result: the `-p` values first, in order.)
pub(super) fn check_host_families(
    opts: &RunOptions,
    specs: &[PortSpec],
    net: &berth_store::NetworkRecord,
) -> Result<()> {
    if super::ipv6_enabled(net) {
        return Ok(());
    }
    let v6 = opts
        .publish
        .iter()
        .zip(specs)
        .find(|(_, s)| s.host_ip.is_some_and(|ip| ip.is_ipv6()));
    match v6 {
        Some((p, _)) => Err(Error::Invalid {
            flag: "-p/--publish",
            value: p.clone(),
            hint: format!(
                "an IPv6 host address needs a container with an IPv6 address; network {} has \
                 none (create one with --ipv6), or publish on an IPv4 address",
                net.name
            ),
        }),
        None => Ok(()),
    }
}

/// The ports a running container published.
pub fn bindings(state: &ContainerState) -> Vec<PortBinding> {
    state
        .extra
        .get(EXTRA_PORTS)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

fn key(b: &PortBinding) -> String {
    format!("{}/{}", b.container_port, b.proto.as_str())
}

/// A host address as Docker prints it before a port: `0.0.0.0`, `[::]`.
fn host(b: &PortBinding) -> String {
    match b.host_ip {
        std::net::IpAddr::V4(ip) => ip.to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
    }
}

/// `NetworkSettings.Ports`: every exposed port, published ones with their host
/// addresses, the others `null`.
pub fn inspect_ports(state: &ContainerState, exposed: &[String]) -> Value {
    let mut map: BTreeMap<String, Value> = exposed
        .iter()
        .map(|p| {
            let p = if p.contains('/') {
                p.clone()
            } else {
                format!("{p}/tcp")
            };
            (p, Value::Null)
        })
        .collect();
    for b in bindings(state) {
        let entry = map.entry(key(&b)).or_insert(Value::Null);
        if !entry.is_array() {
            *entry = json!([]);
        }
        if let Some(a) = entry.as_array_mut() {
            a.push(json!({"HostIp": b.host_ip.to_string(), "HostPort": b.host_port.to_string()}));
        }
    }
    json!(map)
}

/// The `ps` PORTS column: `0.0.0.0:8080->80/tcp, [::]:8080->80/tcp,
/// 0.0.0.0:8081-8082->81-82/tcp` (consecutive ports folded into ranges, as
/// Docker does).
pub fn ps_text(state: &ContainerState) -> String {
    let mut b = bindings(state);
    b.sort_by_key(|b| (b.proto.as_str(), b.host_ip, b.container_port, b.host_port));
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let mut j = i;
        while j + 1 < b.len()
            && b[j + 1].proto == b[i].proto
            && b[j + 1].host_ip == b[i].host_ip
            && b[j + 1].container_port == b[j].container_port + 1
            && b[j + 1].host_port == b[j].host_port + 1
        {
            j += 1;
        }
        let (f, l) = (&b[i], &b[j]);
        parts.push(if i == j {
            format!(
                "{}:{}->{}/{}",
                host(f),
                f.host_port,
                f.container_port,
                f.proto.as_str()
            )
        } else {
            format!(
                "{}:{}-{}->{}-{}/{}",
                host(f),
                f.host_port,
                l.host_port,
                f.container_port,
                l.container_port,
                f.proto.as_str()
            )
        });
        i = j + 1;
    }
    parts.join(", ")
}

/// `berth port CTR [PORT[/PROTO]]` lines: `80/tcp -> 0.0.0.0:32768` and, for a
/// container with an IPv6 address, `80/tcp -> [::]:32768` (or only
/// `0.0.0.0:32768` when a port was asked for). `None` when the asked port is not
/// published.
pub fn port_lines(state: &ContainerState, filter: Option<&str>) -> Result<Option<Vec<String>>> {
    let want = match filter {
        Some(f) => {
            let (p, proto) = f.split_once('/').unwrap_or((f, "tcp"));
            let port: u16 = p.parse().map_err(|_| Error::Invalid {
                flag: "PORT",
                value: f.to_owned(),
                hint: "use PORT or PORT/PROTO, e.g. 80/tcp".into(),
            })?;
            Some((port, proto.to_owned()))
        }
        None => None,
    };
    let mut b = bindings(state);
    // Docker's order: by port, IPv4 before IPv6.
    b.sort_by_key(|b| {
        (
            b.container_port,
            b.proto.as_str(),
            b.host_ip.is_ipv6(),
            b.host_port,
        )
    });
    let mut out = Vec::new();
    for b in &b {
        match &want {
            Some((p, proto)) if *p == b.container_port && proto == b.proto.as_str() => {
                out.push(format!("{}:{}", host(b), b.host_port));
            }
            Some(_) => {}
            None => out.push(format!("{} -> {}:{}", key(b), host(b), b.host_port)),
        }
    }
    Ok(if want.is_some() && out.is_empty() {
        None
    } else {
        Some(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_net::ports::{Mode, Proto};

    fn state(list: &[(u16, u16)]) -> ContainerState {
        state_on(list, &["0.0.0.0"])
    }

    fn state_on(list: &[(u16, u16)], hosts: &[&str]) -> ContainerState {
        let b: Vec<PortBinding> = list
            .iter()
            .flat_map(|(h, c)| {
                hosts.iter().map(move |host| PortBinding {
                    container: "c".into(),
                    proto: Proto::Tcp,
                    host_ip: host.parse().unwrap(),
                    host_port: *h,
                    container_ip: if host.contains(':') {
                        "fd00::2".parse().unwrap()
                    } else {
                        "172.18.0.2".parse().unwrap()
                    },
                    container_port: *c,
                    mode: Mode::Nat,
                    rules: Vec::new(),
                })
            })
            .collect();
        let mut s = ContainerState::default();
        s.extra
            .insert(EXTRA_PORTS.into(), serde_json::to_value(b).unwrap());
        s
    }

    #[test]
    fn docker_shapes() {
        let s = state(&[(32768, 80), (8001, 81), (8002, 82)]);
        assert_eq!(
            ps_text(&s),
            "0.0.0.0:32768->80/tcp, 0.0.0.0:8001-8002->81-82/tcp"
        );
        let lines = port_lines(&s, None).unwrap().unwrap();
        assert_eq!(lines[0], "80/tcp -> 0.0.0.0:32768");
        assert_eq!(
            port_lines(&s, Some("81")).unwrap().unwrap(),
            vec!["0.0.0.0:8001"]
        );
        assert_eq!(port_lines(&s, Some("90/udp")).unwrap(), None);
        let v = inspect_ports(&s, &["80/tcp".into(), "443/tcp".into()]);
        assert_eq!(v["80/tcp"][0]["HostPort"], "32768");
        assert!(v["443/tcp"].is_null());
    }

    #[test]
    fn dual_stack_ports_show_both_families_as_docker_does() {
        let s = state_on(&[(8080, 80), (8001, 81), (8002, 82)], &["0.0.0.0", "::"]);
        assert_eq!(
            port_lines(&s, None).unwrap().unwrap(),
            vec![
                "80/tcp -> 0.0.0.0:8080",
                "80/tcp -> [::]:8080",
                "81/tcp -> 0.0.0.0:8001",
                "81/tcp -> [::]:8001",
                "82/tcp -> 0.0.0.0:8002",
                "82/tcp -> [::]:8002",
            ]
        );
        assert_eq!(
            port_lines(&s, Some("80/tcp")).unwrap().unwrap(),
            vec!["0.0.0.0:8080", "[::]:8080"]
        );
        assert_eq!(
            ps_text(&s),
            "0.0.0.0:8080->80/tcp, 0.0.0.0:8001-8002->81-82/tcp, \
             [::]:8080->80/tcp, [::]:8001-8002->81-82/tcp"
        );
        let v = inspect_ports(&s, &[]);
        assert_eq!(v["80/tcp"][1]["HostIp"], "::");
        let lo = state_on(&[(8080, 80)], &["::1"]);
        assert_eq!(
            port_lines(&lo, None).unwrap().unwrap(),
            vec!["80/tcp -> [::1]:8080"]
        );
    }

    #[test]
    fn publish_all_takes_exposed_ports() {
        let mut img = ImageConfig::default();
        img.exposed_ports.insert("80/tcp".into(), json!({}));
        img.exposed_ports.insert("53/udp".into(), json!({}));
        let opts = RunOptions {
            publish: vec!["8080:80".into()],
            publish_all: true,
            ..RunOptions::default()
        };
        let s = specs(&opts, &img).unwrap();
        assert_eq!(s.len(), 2, "{s:?}");
        let bad = RunOptions {
            publish: vec!["80/sctp".into()],
            ..RunOptions::default()
        };
        assert!(
            specs(&bad, &img)
                .unwrap_err()
                .to_string()
                .contains("80/sctp")
        );
    }
}
