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
//! A container with an IPv6 address publishes on both families, as Docker
//! does: `-p 8080:80` is `0.0.0.0:8080` and `[::]:8080`, each DNATed to the
//! container's address of that family, and `-p [::1]:8080:80` binds only
//! there. The kernel never routes an IPv6 packet from `::1` off the loopback
//! device (IPv6 has no `route_localnet`), so the IPv6 loopback is served by the
//! userspace proxy ([`proxy_listen`]), as Docker's `docker-proxy` serves it.
//!
//! Rules of container `<id>` carry the comment `berth ctr <id>`. The IPv6
//! bindings are kept in `ports6.json` next to `ports.json`, under its lock, so
//! a berth from before IPv6 support that reads `ports.json` still can.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use nftables::stmt::Operator;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::{nft, sock, state};

mod spec;

pub use spec::{PortSpec, Proto, parse_port_spec};

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
    /// Host address (`0.0.0.0` or `::` = all of that family).
    pub host_ip: IpAddr,
    /// Host port (chosen by berth when the user left it out).
    pub host_port: u16,
    /// The container's address (of the host address's family).
    pub container_ip: IpAddr,
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

fn state_path(state_dir: &Path) -> PathBuf {
    state_dir.join("ports.json")
}

fn state_path6(state_dir: &Path) -> PathBuf {
    state_dir.join("ports6.json")
}

/// Reads both files; call with `ports.json`'s lock held.
fn read_all(state_dir: &Path) -> Result<Vec<PortBinding>> {
    let mut all: Vec<PortBinding> = state::read_json(&state_path(state_dir))?;
    all.extend(state::read_json::<Vec<PortBinding>>(&state_path6(
        state_dir,
    ))?);
    Ok(all)
}

/// Read-modify-write of every binding under `ports.json`'s lock. IPv4
/// bindings go to `ports.json`, IPv6 ones to `ports6.json`, which is written
/// only when it changed.
fn update<R>(state_dir: &Path, f: impl FnOnce(&mut Vec<PortBinding>) -> Result<R>) -> Result<R> {
    let path = state_path(state_dir);
    let _lock = state::lock(&state::lock_path(&path))?;
    let mut all = read_all(state_dir)?;
    let old6: Vec<PortBinding> = all
        .iter()
        .filter(|b| b.host_ip.is_ipv6())
        .cloned()
        .collect();
    let out = f(&mut all)?;
    let (v6, v4): (Vec<PortBinding>, Vec<PortBinding>) =
        all.into_iter().partition(|b| b.host_ip.is_ipv6());
    state::write_json(&path, &v4)?;
    if v6 != old6 {
        state::write_json(&state_path6(state_dir), &v6)?;
    }
    Ok(out)
}

/// Whether two host addresses overlap: the same family, and equal or one of
/// them that family's wildcard.
fn clash(a: IpAddr, b: IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4() && (a == b || a.is_unspecified() || b.is_unspecified())
}

/// Where the userspace proxy listens for `b`, if anywhere: on the binding's own
/// address in [`Mode::Proxy`]; for a NAT binding on IPv6 that covers the
/// loopback (`::` or `::1`), on `[::1]:PORT`, which DNAT cannot serve.
pub fn proxy_listen(b: &PortBinding) -> Option<SocketAddr> {
    match (b.mode, b.host_ip) {
        (Mode::Proxy, ip) => Some(SocketAddr::from((ip, b.host_port))),
        (Mode::Nat, IpAddr::V6(ip)) if ip.is_unspecified() || ip.is_loopback() => {
            Some(SocketAddr::from((Ipv6Addr::LOCALHOST, b.host_port)))
        }
        (Mode::Nat, _) => None,
    }
}

/// How many DNAT rules a NAT binding has: one in prerouting and one in
/// output, none for the IPv6 loopback (the proxy's).
fn rule_count(b: &PortBinding) -> usize {
    match b.host_ip {
        IpAddr::V6(ip) if ip.is_loopback() => 0,
        _ => 2,
    }
}

/// The DNAT rules of one NAT binding (see [`rule_count`]).
fn dnat_rules(b: &PortBinding, tag: &str) -> Vec<nftables::schema::NfListObject<'static>> {
    if rule_count(b) == 0 {
        return Vec::new();
    }
    let mut dst = Vec::new();
    if b.host_ip.is_unspecified() {
        dst.push(nft::nfproto(b.host_ip));
        dst.push(nft::to_local_address());
        if b.host_ip.is_ipv6() {
            // `[::1]` is the proxy's (see the module's notes).
            dst.push(nft::daddr(Operator::NEQ, IpAddr::V6(Ipv6Addr::LOCALHOST)));
        }
    } else {
        dst.push(nft::daddr(Operator::EQ, b.host_ip));
    }
    ["prerouting", "output"]
        .into_iter()
        .map(|chain| {
            let mut expr = dst.clone();
            expr.push(nft::dport(b.proto.as_str(), b.host_port));
            expr.push(nft::dnat(b.container_ip, b.container_port));
            nft::rule(chain, expr, tag.to_string())
        })
        .collect()
}

/// Whether a host process holds the port (we try to bind it for a moment).
fn host_holds(proto: Proto, ip: IpAddr, port: u16) -> bool {
    let addr = SocketAddr::from((ip, port));
    let r = match proto {
        Proto::Tcp => sock::tcp_listener(addr).map(drop),
        Proto::Udp => sock::udp_socket(addr).map(drop),
    };
    matches!(r, Err(e) if e.kind() == std::io::ErrorKind::AddrInUse)
}

/// A port the kernel considers free right now (bind to port 0).
fn ephemeral(proto: Proto, ip: IpAddr) -> Result<u16> {
    let addr = SocketAddr::from((ip, 0));
    let port = match proto {
        Proto::Tcp => sock::tcp_listener(addr).and_then(|l| l.local_addr()),
        Proto::Udp => sock::udp_socket(addr).and_then(|s| s.local_addr()),
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

fn taken_by(existing: &[PortBinding], proto: Proto, ip: IpAddr, port: u16) -> Option<String> {
    existing
        .iter()
        .find(|b| b.proto == proto && b.host_port == port && clash(b.host_ip, ip))
        .map(|b| format!("container {}", b.container))
}

fn check(existing: &[PortBinding], proto: Proto, ip: IpAddr, port: u16) -> Result<()> {
    let owner = taken_by(existing, proto, ip, port)
        .or_else(|| host_holds(proto, ip, port).then(|| "a host process".to_string()));
    match owner {
        Some(owner) => Err(Error::PortTaken {
            host_ip: ip,
            port,
            proto: proto.as_str(),
            owner,
        }),
        None => Ok(()),
    }
}

/// The (host, container) address pairs one spec publishes on: its host
/// address, or every address of the host in each family the container has.
fn targets(
    spec: &PortSpec,
    value: &dyn Fn() -> String,
    ip: Ipv4Addr,
    ip6: Option<Ipv6Addr>,
) -> Result<Vec<(IpAddr, IpAddr)>> {
    let v4 = |host: IpAddr| (host, IpAddr::V4(ip));
    Ok(match (spec.host_ip, ip6) {
        (None, None) => vec![v4(Ipv4Addr::UNSPECIFIED.into())],
        (None, Some(ip6)) => vec![
            v4(Ipv4Addr::UNSPECIFIED.into()),
            (Ipv6Addr::UNSPECIFIED.into(), IpAddr::V6(ip6)),
        ],
        (Some(host @ IpAddr::V4(_)), _) => vec![v4(host)],
        (Some(host @ IpAddr::V6(_)), Some(ip6)) => vec![(host, IpAddr::V6(ip6))],
        (Some(IpAddr::V6(_)), None) => {
            return Err(Error::invalid(
                "port spec",
                value(),
                "the container has no IPv6 address to publish on an IPv6 host address; \
                 connect it to a network created with --ipv6, or publish on an IPv4 address",
            ));
        }
    })
}

fn check_all(
    seen: &[PortBinding],
    proto: Proto,
    pairs: &[(IpAddr, IpAddr)],
    port: u16,
) -> Result<()> {
    pairs
        .iter()
        .try_for_each(|(host, _)| check(seen, proto, *host, port))
}

fn resolve(
    spec: &PortSpec,
    taken: &[PortBinding],
    container: &str,
    pairs: &[(IpAddr, IpAddr)],
    mode: Mode,
) -> Result<Vec<PortBinding>> {
    let (ca, cb) = spec.container_ports;
    let mut out = Vec::new();
    let push = |host_port: u16, container_port: u16, out: &mut Vec<PortBinding>| {
        for &(host_ip, container_ip) in pairs {
            out.push(PortBinding {
                container: container.to_string(),
                proto: spec.proto,
                host_ip,
                host_port,
                container_ip,
                container_port,
                mode,
                rules: Vec::new(),
            });
        }
    };
    match spec.host_ports {
        // one container port, a host range: the first free port of the range
        Some((ha, hb)) if ca == cb && ha != hb => {
            let mut last = None;
            for hp in ha..=hb {
                match check_all(taken, spec.proto, pairs, hp) {
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
                check_all(&seen, spec.proto, pairs, hp)?;
                push(hp, cp, &mut out);
            }
            Ok(out)
        }
        None => {
            // One port for every address, as Docker gives `0.0.0.0` and `::`
            // the same one: the kernel's choice for the first address, if
            // the others have it free too.
            let first = pairs
                .first()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.0);
            for cp in ca..=cb {
                let seen: Vec<PortBinding> = taken.iter().chain(out.iter()).cloned().collect();
                let mut chosen = None;
                for _ in 0..64 {
                    let hp = ephemeral(spec.proto, first)?;
                    let free = pairs
                        .iter()
                        .all(|(host, _)| taken_by(&seen, spec.proto, *host, hp).is_none())
                        && pairs[1..]
                            .iter()
                            .all(|(host, _)| !host_holds(spec.proto, *host, hp));
                    if free {
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

/// Publishes `specs` for container `container` at `container_ip` (and
/// `container_ip6` on a dual-stack network: then a spec without a host address
/// publishes on both families).
///
/// Under the ports lock: every host port is checked against other
/// containers' bindings and against host processes (a short bind), random
/// ports are chosen, then all DNAT rules go in as one nftables transaction
/// (Mode::Nat) and the bindings are recorded. Any error leaves nothing
/// behind. The result reports the chosen host ports; bindings with a
/// [`proxy_listen`] address need `berth __proxy` running ([`crate::proxy`]).
///
/// ```no_run
/// use berth_net::ports::{parse_port_spec, publish, Mode};
/// let specs = [parse_port_spec("8080:80")?, parse_port_spec("53/udp")?];
/// let dir = std::path::Path::new("/run/berth/net");
/// let bound = publish(dir, "c0ffee", "172.18.0.2".parse().unwrap(), None, &specs, Mode::Nat)?;
/// # Ok::<(), berth_net::Error>(())
/// ```
pub fn publish(
    state_dir: &Path,
    container: &str,
    container_ip: Ipv4Addr,
    container_ip6: Option<Ipv6Addr>,
    specs: &[PortSpec],
    mode: Mode,
) -> Result<Vec<PortBinding>> {
    update(state_dir, |all: &mut Vec<PortBinding>| {
        let mut new: Vec<PortBinding> = Vec::new();
        for spec in specs {
            let seen: Vec<PortBinding> = all.iter().chain(new.iter()).cloned().collect();
            let value = || {
                let (a, b) = spec.container_ports;
                format!("{a}-{b}/{}", spec.proto.as_str())
            };
            let pairs = targets(spec, &value, container_ip, container_ip6)?;
            new.extend(resolve(spec, &seen, container, &pairs, mode)?);
        }
        let tag = container_tag(container);
        let batch: Vec<_> = match mode {
            Mode::Nat => new.iter().flat_map(|b| dnat_rules(b, &tag)).collect(),
            Mode::Proxy => Vec::new(),
        };
        if !batch.is_empty() {
            let _table = nft::table_lock(false)?;
            let handles =
                nft::add_all_echo(batch, &format!("publish ports of container {container}"))?;
            // The rules of each binding, in the order they were sent.
            let mut handles = handles.into_iter();
            for b in &mut new {
                b.rules = handles.by_ref().take(rule_count(b)).collect();
            }
        }
        all.extend(new.iter().cloned());
        Ok(new)
    })
}

/// Removes every published port of `container` (rules and records).
pub fn unpublish(state_dir: &Path, container: &str) -> Result<()> {
    update(state_dir, |all: &mut Vec<PortBinding>| {
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
        if mine.iter().any(|b| rule_count(b) > 0) {
            let handles: Vec<nft::RuleHandle> =
                mine.iter().flat_map(|b| b.rules.iter().cloned()).collect();
            let complete = mine.iter().all(|b| b.rules.len() == rule_count(b));
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
    Ok(read_all(state_dir)?
        .into_iter()
        .filter(|b| b.container == container)
        .collect())
}

/// Containers that have published ports recorded.
pub(crate) fn containers(state_dir: &Path) -> Result<Vec<String>> {
    let path = state_path(state_dir);
    let _lock = state::lock(&state::lock_path(&path))?;
    let mut ids: Vec<String> = read_all(state_dir)?
        .into_iter()
        .map(|b| b.container)
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clashes_with_wildcards_of_the_same_family_only() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let (any, lo) = (ip("0.0.0.0"), ip("127.0.0.1"));
        assert!(clash(any, lo) && clash(lo, any) && clash(lo, lo));
        assert!(!clash(lo, ip("127.0.0.2")));
        let (any6, lo6) = (ip("::"), ip("::1"));
        assert!(clash(any6, lo6) && clash(lo6, any6));
        assert!(!clash(any, any6) && !clash(any6, lo) && !clash(lo6, any));
    }

    #[test]
    fn dual_stack_containers_publish_on_both_families() {
        let spec = parse_port_spec("8080:80").unwrap();
        let none = || String::new();
        let v4 = Ipv4Addr::new(172, 18, 0, 2);
        let v6: Ipv6Addr = "fd00:18::2".parse().unwrap();
        let pairs = targets(&spec, &none, v4, Some(v6)).unwrap();
        assert_eq!(
            pairs,
            vec![
                (Ipv4Addr::UNSPECIFIED.into(), v4.into()),
                (Ipv6Addr::UNSPECIFIED.into(), v6.into())
            ]
        );
        assert_eq!(targets(&spec, &none, v4, None).unwrap().len(), 1);
        let lo6 = parse_port_spec("[::1]:8080:80").unwrap();
        assert_eq!(
            targets(&lo6, &none, v4, Some(v6)).unwrap(),
            vec![(Ipv6Addr::LOCALHOST.into(), v6.into())]
        );
        let err = targets(&lo6, &|| "[::1]:8080:80".into(), v4, None).unwrap_err();
        assert!(err.to_string().contains("--ipv6"), "{err}");
        let lo4 = parse_port_spec("127.0.0.1:8080:80").unwrap();
        assert_eq!(targets(&lo4, &none, v4, Some(v6)).unwrap().len(), 1);
    }

    #[test]
    fn the_ipv6_loopback_goes_through_the_proxy() {
        let b = |host: &str, mode| PortBinding {
            container: "c".into(),
            proto: Proto::Tcp,
            host_ip: host.parse().unwrap(),
            host_port: 8080,
            container_ip: "fd00::2".parse().unwrap(),
            container_port: 80,
            mode,
            rules: Vec::new(),
        };
        let lo6: SocketAddr = "[::1]:8080".parse().unwrap();
        assert_eq!(proxy_listen(&b("::", Mode::Nat)), Some(lo6));
        assert_eq!(proxy_listen(&b("::1", Mode::Nat)), Some(lo6));
        assert_eq!(proxy_listen(&b("fd00::9", Mode::Nat)), None);
        assert_eq!(
            proxy_listen(&b("::", Mode::Proxy)),
            Some("[::]:8080".parse().unwrap())
        );
        assert_eq!(rule_count(&b("::1", Mode::Nat)), 0);
        assert!(dnat_rules(&b("::1", Mode::Nat), "t").is_empty());
        assert_eq!(dnat_rules(&b("::", Mode::Nat), "t").len(), 2);
    }

    #[test]
    fn ipv6_bindings_are_kept_apart_from_what_an_older_berth_reads() {
        let dir = tempfile::tempdir().unwrap();
        update(dir.path(), |all| {
            for (host, ctr) in [("0.0.0.0", "172.18.0.2"), ("::", "fd00::2")] {
                all.push(PortBinding {
                    container: "c".into(),
                    proto: Proto::Tcp,
                    host_ip: host.parse().unwrap(),
                    host_port: 8080,
                    container_ip: ctr.parse().unwrap(),
                    container_port: 80,
                    mode: Mode::Proxy,
                    rules: Vec::new(),
                });
            }
            Ok(())
        })
        .unwrap();
        let v4 = fs_err::read_to_string(dir.path().join("ports.json")).unwrap();
        assert!(v4.contains("0.0.0.0") && !v4.contains("fd00"), "{v4}");
        assert_eq!(bindings(dir.path(), "c").unwrap().len(), 2);
        unpublish(dir.path(), "c").unwrap();
        assert!(bindings(dir.path(), "c").unwrap().is_empty());
    }
}
