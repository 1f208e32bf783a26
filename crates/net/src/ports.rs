//! Published ports (`-p`): parsing Docker's syntax, choosing host ports that
//! nobody holds, and DNAT rules in nftables (or records for the userspace
//! proxy where nftables is missing).
//!
//! DNAT sits in both `prerouting` (traffic from outside and from other
//! containers) and `output` (the host's own processes, including those that
//! connect to 127.0.0.1: the bridge has `route_localnet` and the network's
//! masquerade rule rewrites the loopback source). This keeps the data path in
//! the kernel with no process per port; Docker's userland proxy exists mostly
//! for hosts without this, which is what [`crate::proxy`] covers here.
//!
//! Rules of container `<id>` carry the comment `berth ctr <id>`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::{nft, state};

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
    /// Host address to listen on; `None` = all of the host's addresses.
    pub host_ip: Option<Ipv4Addr>,
    /// Host port range; `None` = random free ports.
    pub host_ports: Option<(u16, u16)>,
    /// Container port range (a single port is `(p, p)`).
    pub container_ports: (u16, u16),
    /// Protocol.
    pub proto: Proto,
}

/// How published ports are carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// nftables DNAT rules.
    Nat,
    /// A userspace proxy process ([`crate::proxy::serve`]).
    Proxy,
}

impl Mode {
    /// NAT where nftables works, else the proxy.
    pub fn detect() -> Mode {
        if nft::available().is_ok() {
            Mode::Nat
        } else {
            Mode::Proxy
        }
    }
}

/// One published port as it is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortBinding {
    /// The container (tag of its rules).
    pub container: String,
    /// Protocol.
    pub proto: Proto,
    /// Host address (`0.0.0.0` = all).
    pub host_ip: Ipv4Addr,
    /// Host port (chosen by berth when the user left it out).
    pub host_port: u16,
    /// The container's address.
    pub container_ip: Ipv4Addr,
    /// The container's port.
    pub container_port: u16,
    /// How it is carried.
    pub mode: Mode,
    /// Its DNAT rules (Mode::Nat), so unpublishing needs no listing of the
    /// table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<nft::RuleHandle>,
}

/// The comment that tags the rules of container `id`.
pub fn container_tag(id: &str) -> String {
    format!("berth ctr {id}")
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

/// Parses Docker's `-p` syntax: `[[ip:]hostPort[-end]:]containerPort[-end][/tcp|/udp]`.
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
    if rest.starts_with('[') {
        return Err(Error::invalid(
            "port spec",
            value,
            "IPv6 host addresses are not supported yet",
        ));
    }
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, container) = match parts.as_slice() {
        [c] => (None, None, *c),
        [h, c] => (None, Some(*h), *c),
        [ip, h, c] => (Some(*ip), Some(*h), *c),
        _ => return Err(Error::invalid("port spec", value, "too many ':'")),
    };
    let host_ip = match ip {
        Some("") | None => None,
        Some(ip) => Some(ip.parse::<Ipv4Addr>().map_err(|_| {
            Error::invalid("port spec", value, format!("invalid host address {ip:?}"))
        })?),
    };
    let host_ip = host_ip.filter(|ip| !ip.is_unspecified());
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

fn state_path(state_dir: &Path) -> PathBuf {
    state_dir.join("ports.json")
}

fn clash(a: Ipv4Addr, b: Ipv4Addr) -> bool {
    a == b || a.is_unspecified() || b.is_unspecified()
}

/// Whether a host process holds the port (we try to bind it for a moment).
fn host_holds(proto: Proto, ip: Ipv4Addr, port: u16) -> bool {
    let addr = SocketAddr::from((ip, port));
    let r = match proto {
        Proto::Tcp => TcpListener::bind(addr).map(drop),
        Proto::Udp => UdpSocket::bind(addr).map(drop),
    };
    matches!(r, Err(e) if e.kind() == std::io::ErrorKind::AddrInUse)
}

/// A port the kernel considers free right now (bind to port 0).
fn ephemeral(proto: Proto, ip: Ipv4Addr) -> Result<u16> {
    let addr = SocketAddr::from((ip, 0));
    let port = match proto {
        Proto::Tcp => TcpListener::bind(addr).and_then(|l| l.local_addr()),
        Proto::Udp => UdpSocket::bind(addr).and_then(|s| s.local_addr()),
    }
    .map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("choosing a free host port on {ip}: {e}"),
        ))
    })?
    .port();
    Ok(port)
}

fn taken_by(existing: &[PortBinding], proto: Proto, ip: Ipv4Addr, port: u16) -> Option<String> {
    existing
        .iter()
        .find(|b| b.proto == proto && b.host_port == port && clash(b.host_ip, ip))
        .map(|b| format!("container {}", b.container))
}

fn check(existing: &[PortBinding], proto: Proto, ip: Ipv4Addr, port: u16) -> Result<()> {
    let owner = taken_by(existing, proto, ip, port)
        .or_else(|| host_holds(proto, ip, port).then(|| "a host process".to_string()));
    match owner {
        Some(owner) => Err(Error::PortTaken {
            host_ip: IpAddr::V4(ip),
            port,
            proto: proto.as_str(),
            owner,
        }),
        None => Ok(()),
    }
}

fn resolve(
    spec: &PortSpec,
    taken: &[PortBinding],
    container: &str,
    ip: Ipv4Addr,
    mode: Mode,
) -> Result<Vec<PortBinding>> {
    let host_ip = spec.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let (ca, cb) = spec.container_ports;
    let mut out = Vec::new();
    let push = |host_port: u16, container_port: u16, out: &mut Vec<PortBinding>| {
        out.push(PortBinding {
            container: container.to_string(),
            proto: spec.proto,
            host_ip,
            host_port,
            container_ip: ip,
            container_port,
            mode,
            rules: Vec::new(),
        });
    };
    match spec.host_ports {
        // one container port, a host range: the first free port of the range
        Some((ha, hb)) if ca == cb && ha != hb => {
            let mut last = None;
            for hp in ha..=hb {
                match check(taken, spec.proto, host_ip, hp) {
                    Ok(()) => {
                        push(hp, ca, &mut out);
                        return Ok(out);
                    }
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or(Error::invalid(
                "port spec",
                format!("{ha}-{hb}"),
                "empty range",
            )))
        }
        Some((ha, _)) => {
            for cp in ca..=cb {
                let hp = ha + (cp - ca);
                let seen: Vec<PortBinding> = taken.iter().chain(out.iter()).cloned().collect();
                check(&seen, spec.proto, host_ip, hp)?;
                push(hp, cp, &mut out);
            }
            Ok(out)
        }
        None => {
            for cp in ca..=cb {
                let seen: Vec<PortBinding> = taken.iter().chain(out.iter()).cloned().collect();
                let mut chosen = None;
                for _ in 0..64 {
                    let hp = ephemeral(spec.proto, host_ip)?;
                    if taken_by(&seen, spec.proto, host_ip, hp).is_none() {
                        chosen = Some(hp);
                        break;
                    }
                }
                let hp = chosen.ok_or_else(|| {
                    Error::invalid("port spec", format!("{cp}"), "no free host port found")
                })?;
                push(hp, cp, &mut out);
            }
            Ok(out)
        }
    }
}

/// Publishes `specs` for container `container` at `container_ip`.
///
/// Under the ports lock: every host port is checked against other
/// containers' bindings and against host processes (a short bind), random
/// ports are chosen, then all DNAT rules go in as one nftables transaction
/// (Mode::Nat) and the bindings are recorded. Any error leaves nothing
/// behind. The result reports the chosen host ports.
///
/// ```no_run
/// use berth_net::ports::{parse_port_spec, publish, Mode};
/// let specs = [parse_port_spec("8080:80")?, parse_port_spec("53/udp")?];
/// let dir = std::path::Path::new("/run/berth/net");
/// let bound = publish(dir, "c0ffee", "172.18.0.2".parse().unwrap(), &specs, Mode::Nat)?;
/// # Ok::<(), berth_net::Error>(())
/// ```
pub fn publish(
    state_dir: &Path,
    container: &str,
    container_ip: Ipv4Addr,
    specs: &[PortSpec],
    mode: Mode,
) -> Result<Vec<PortBinding>> {
    state::update(&state_path(state_dir), |all: &mut Vec<PortBinding>| {
        let mut new: Vec<PortBinding> = Vec::new();
        for spec in specs {
            let seen: Vec<PortBinding> = all.iter().chain(new.iter()).cloned().collect();
            new.extend(resolve(spec, &seen, container, container_ip, mode)?);
        }
        if mode == Mode::Nat && !new.is_empty() {
            let _table = nft::table_lock(false)?;
            let mut batch = Vec::new();
            let tag = container_tag(container);
            for b in &new {
                for chain in ["prerouting", "output"] {
                    let dst = if b.host_ip.is_unspecified() {
                        nft::to_local_address()
                    } else {
                        nft::daddr_is(b.host_ip)
                    };
                    let expr = vec![
                        dst,
                        nft::dport(b.proto.as_str(), b.host_port),
                        nft::dnat(b.container_ip, b.container_port),
                    ];
                    batch.push(nft::rule(chain, expr, tag.clone()));
                }
            }
            let handles =
                nft::add_all_echo(batch, &format!("publish ports of container {container}"))?;
            // Two rules per binding, in the order they were sent.
            for (b, pair) in new.iter_mut().zip(handles.chunks(2)) {
                b.rules = pair.to_vec();
            }
        }
        all.extend(new.iter().cloned());
        Ok(new)
    })
}

/// Removes every published port of `container` (rules and records).
pub fn unpublish(state_dir: &Path, container: &str) -> Result<()> {
    state::update(&state_path(state_dir), |all: &mut Vec<PortBinding>| {
        let tag = container_tag(container);
        let mine: Vec<&PortBinding> = all
            .iter()
            .filter(|b| b.container == container && b.mode == Mode::Nat)
            .collect();
        // Only NAT bindings have rules. Their handles delete them in one
        // nft call; records without handles (older berth) or a table changed
        // behind berth's back fall back to finding the rules by their tag.
        // Rules whose record was lost in a crash are found by their tag in
        // `cleanup_stale`.
        if !mine.is_empty() {
            let handles: Vec<nft::RuleHandle> =
                mine.iter().flat_map(|b| b.rules.iter().cloned()).collect();
            let complete = mine.iter().all(|b| b.rules.len() == 2);
            let op = format!("unpublish ports of container {container}");
            if !(complete && nft::delete_handles(&handles, &op)?) {
                nft::delete_tagged(&|c| c == tag, None)?;
            }
        }
        all.retain(|b| b.container != container);
        Ok(())
    })
}

/// The ports published for `container` (`berth port`).
pub fn bindings(state_dir: &Path, container: &str) -> Result<Vec<PortBinding>> {
    let path = state_path(state_dir);
    let _lock = state::lock(&state::lock_path(&path))?;
    let all: Vec<PortBinding> = state::read_json(&path)?;
    Ok(all
        .into_iter()
        .filter(|b| b.container == container)
        .collect())
}

/// Containers that have published ports recorded.
pub(crate) fn containers(state_dir: &Path) -> Result<Vec<String>> {
    let path = state_path(state_dir);
    let _lock = state::lock(&state::lock_path(&path))?;
    let all: Vec<PortBinding> = state::read_json(&path)?;
    let mut ids: Vec<String> = all.into_iter().map(|b| b.container).collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

#[cfg(test)]
mod tests {
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
        assert_eq!(p("8080:80/udp").proto, Proto::Udp);
        let s = p("127.0.0.1:8080:80");
        assert_eq!(
            (s.host_ip, s.host_ports),
            (Some(Ipv4Addr::LOCALHOST), Some((8080, 8080)))
        );
        let s = p("127.0.0.1::80");
        assert_eq!((s.host_ip, s.host_ports), (Some(Ipv4Addr::LOCALHOST), None));
        assert_eq!(p("0.0.0.0:81:80").host_ip, None);
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
            "[::1]:80:80",
        ] {
            assert!(parse_port_spec(bad).is_err(), "{bad} should be refused");
        }
        let msg = parse_port_spec("80/sctp").unwrap_err().to_string();
        assert!(msg.contains("80/sctp") && msg.contains("sctp"), "{msg}");
    }

    #[test]
    fn clashes_with_wildcards() {
        let any = Ipv4Addr::UNSPECIFIED;
        let lo = Ipv4Addr::LOCALHOST;
        assert!(clash(any, lo) && clash(lo, any) && clash(lo, lo));
        assert!(!clash(lo, Ipv4Addr::new(127, 0, 0, 2)));
    }
}
