//! Docker's `-p` syntax: `[[ip:]hostPort[-end]:]containerPort[-end][/tcp|/udp]`,
//! an IPv6 host address in brackets (`[::1]:8080:80`).

use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP (the default).
    Tcp,
    /// UDP.
    Udp,
}

impl Proto {
    /// `tcp` or `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// One `-p` value, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// Host address to listen on; `None` = all of the host's addresses (of
    /// both families when the container has an IPv6 address).
    pub host_ip: Option<IpAddr>,
    /// Host port range; `None` = random free ports.
    pub host_ports: Option<(u16, u16)>,
    /// Container port range (a single port is `(p, p)`).
    pub container_ports: (u16, u16),
    /// Protocol.
    pub proto: Proto,
}

fn parse_range(value: &str, part: &str) -> Result<(u16, u16)> {
    let port = |p: &str| -> Result<u16> {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(Error::invalid(
                "port spec",
                value,
                format!("invalid port {p:?}"),
            )),
        }
    };
    match part.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (port(a)?, port(b)?);
            if a > b {
                return Err(Error::invalid(
                    "port spec",
                    value,
                    format!("empty range {part}"),
                ));
            }
            Ok((a, b))
        }
        None => {
            let p = port(part)?;
            Ok((p, p))
        }
    }
}

/// Parses Docker's `-p` syntax:
/// `[[ip:]hostPort[-end]:]containerPort[-end][/tcp|/udp]`, an IPv6 `ip` in
/// brackets (`[::1]:8080:80`).
pub fn parse_port_spec(value: &str) -> Result<PortSpec> {
    let (rest, proto) = match value.rsplit_once('/') {
        Some((r, "tcp")) => (r, Proto::Tcp),
        Some((r, "udp")) => (r, Proto::Udp),
        Some((_, p)) => {
            return Err(Error::invalid(
                "port spec",
                value,
                format!("unsupported protocol {p:?}"),
            ));
        }
        None => (value, Proto::Tcp),
    };
    let bad_ip =
        |ip: &str| Error::invalid("port spec", value, format!("invalid host address {ip:?}"));
    let (ip, host, container) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (ip, ports) = bracketed.split_once(']').ok_or_else(|| bad_ip(rest))?;
        let ip: std::net::Ipv6Addr = ip.parse().map_err(|_| bad_ip(ip))?;
        let (h, c) = ports
            .strip_prefix(':')
            .and_then(|p| p.split_once(':'))
            .ok_or_else(|| {
                Error::invalid(
                    "port spec",
                    value,
                    "an IPv6 host address needs host and container ports: [ip]:hostPort:containerPort",
                )
            })?;
        (Some(IpAddr::V6(ip)), Some(h), c)
    } else {
        let parts: Vec<&str> = rest.split(':').collect();
        let (ip, host, container) = match parts.as_slice() {
            [c] => (None, None, *c),
            [h, c] => (None, Some(*h), *c),
            [ip, h, c] => (Some(*ip), Some(*h), *c),
            _ => return Err(Error::invalid("port spec", value, "too many ':'")),
        };
        let ip = match ip {
            Some("") | None => None,
            Some(ip) => Some(IpAddr::V4(ip.parse::<Ipv4Addr>().map_err(|_| bad_ip(ip))?)),
        };
        (ip, host, container)
    };
    // An explicit wildcard (`0.0.0.0`, `[::]`) keeps to its own family, as in
    // Docker; no address at all means every address of both.
    let host_ip = ip;
    let container_ports = parse_range(value, container)?;
    let host_ports = match host {
        Some("") | None => None,
        Some(h) => Some(parse_range(value, h)?),
    };
    if let Some((a, b)) = host_ports {
        let (ca, cb) = container_ports;
        if b - a != cb - ca && ca != cb {
            return Err(Error::invalid(
                "port spec",
                value,
                "host and container port ranges differ in size",
            ));
        }
    }
    Ok(PortSpec {
        host_ip,
        host_ports,
        container_ports,
        proto,
    })
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;

    #[test]
    fn parses_docker_port_specs() {
        let p = |s: &str| parse_port_spec(s).unwrap();
        assert_eq!(
            p("80"),
            PortSpec {
                host_ip: None,
                host_ports: None,
                container_ports: (80, 80),
                proto: Proto::Tcp
            }
        );
        assert_eq!(p("8080:80").host_ports, Some((8080, 8080)));
        assert_eq!(
            p("127.0.0.1:8080:80").host_ip,
            Some(Ipv4Addr::LOCALHOST.into())
        );
        assert_eq!(p("8080:80/udp").proto, Proto::Udp);
        let s = p("127.0.0.1::80");
        assert_eq!(
            (s.host_ip, s.host_ports),
            (Some(Ipv4Addr::LOCALHOST.into()), None)
        );
        assert_eq!(
            p("0.0.0.0:81:80").host_ip,
            Some(Ipv4Addr::UNSPECIFIED.into())
        );
        let s = p("[::1]:8080:80/udp");
        assert_eq!(
            (s.host_ip, s.host_ports, s.proto),
            (
                Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
                Some((8080, 8080)),
                Proto::Udp
            )
        );
        assert_eq!(p("[::]::80").host_ip, Some(Ipv6Addr::UNSPECIFIED.into()));
        assert_eq!(
            p("[fd00:1::5]:8000-8001:80-81").host_ip,
            Some("fd00:1::5".parse::<IpAddr>().unwrap())
        );
        let s = p("8000-8002:80-82");
        assert_eq!(
            (s.host_ports, s.container_ports),
            (Some((8000, 8002)), (80, 82))
        );
        assert_eq!(p("8000-8010:80").host_ports, Some((8000, 8010)));
        for bad in [
            "",
            "0",
            "70000",
            "80/sctp",
            "1:2:3:4",
            "8000-8001:80-85",
            "x:80",
            "90-80",
            "[::1]:80",
            "[::1:80:80",
            "[1.2.3.4]:80:80",
            "::1:80:80",
        ] {
            assert!(parse_port_spec(bad).is_err(), "{bad} should be refused");
        }
        let msg = parse_port_spec("80/sctp").unwrap_err().to_string();
        assert!(msg.contains("80/sctp") && msg.contains("sctp"), "{msg}");
    }
}
