//! The files a container gets bind-mounted from the engine: `/etc/hosts`,
//! `/etc/resolv.conf` and `/etc/hostname`, built as Docker builds them.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What goes into a container's `/etc/hosts`.
#[derive(Debug, Clone, Default)]
pub struct HostsSpec {
    /// `--hostname` (default: the short container id).
    pub hostname: String,
    /// `--domainname`, if any (adds `hostname.domain` first).
    pub domainname: Option<String>,
    /// The container's addresses (one per network).
    pub ips: Vec<IpAddr>,
    /// `--network-alias`es, listed with the hostname.
    pub aliases: Vec<String>,
    /// `--add-host NAME:IP` entries, in order.
    pub extra_hosts: Vec<(String, IpAddr)>,
}

/// `/etc/hosts`: localhost lines, `--add-host` entries, then the container's
/// own names on each of its addresses.
pub fn hosts(spec: &HostsSpec) -> String {
    let mut out = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for (name, ip) in &spec.extra_hosts {
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    let mut names = Vec::new();
    if let Some(domain) = spec.domainname.as_deref().filter(|d| !d.is_empty()) {
        names.push(format!("{}.{domain}", spec.hostname));
    }
    names.push(spec.hostname.clone());
    names.extend(
        spec.aliases
            .iter()
            .filter(|a| **a != spec.hostname)
            .cloned(),
    );
    for ip in &spec.ips {
        out.push_str(&format!("{ip}\t{}\n", names.join(" ")));
    }
    out
}

/// `/etc/hosts` text with the lines whose first name is `name` pointing at
/// `ip` instead, as Docker's daemon updates a parent container's link lines
/// when the linked container starts with a new address (`etchosts.Update`);
/// `None` when no line changes.
pub fn repoint_hosts(text: &str, name: &str, ip: IpAddr) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    for line in text.split_inclusive('\n') {
        let mut words = line.split_whitespace();
        let (old, first) = (words.next(), words.next());
        match (old, first) {
            (Some(old), Some(first))
                if first == name && !old.starts_with('#') && old != ip.to_string() =>
            {
                // Keep the separator and the rest of the line as they were.
                let rest = line.trim_start().get(old.len()..).unwrap_or_default();
                out.push_str(&ip.to_string());
                out.push_str(rest);
                changed = true;
            }
            _ => out.push_str(line),
        }
    }
    changed.then_some(out)
}

/// Parses `--add-host NAME:IP` (also `NAME=IP`); `host-gateway` becomes
/// `gateway` (the network's gateway, i.e. the host as seen from inside).
pub fn parse_add_host(value: &str, gateway: Option<IpAddr>) -> Result<(String, IpAddr)> {
    let (name, ip) = value
        .split_once('=')
        .or_else(|| value.split_once(':'))
        .ok_or_else(|| Error::invalid("--add-host", value, "expected NAME:IP"))?;
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(Error::invalid(
            "--add-host",
            value,
            "the host name is empty or has spaces",
        ));
    }
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    let ip = if ip == "host-gateway" {
        gateway.ok_or_else(|| {
            Error::invalid(
                "--add-host",
                value,
                "host-gateway needs a network with a gateway",
            )
        })?
    } else {
        ip.parse().map_err(|_| {
            Error::invalid("--add-host", value, format!("{ip:?} is not an IP address"))
        })?
    };
    Ok((name.to_string(), ip))
}

/// Where a container's resolver is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolver {
    /// A user network's resolver on its gateway.
    Network(Ipv4Addr),
    /// The host's resolvers (default bridge): those of the host's
    /// resolv.conf that a container can reach.
    Host,
}

/// What goes into a container's `/etc/resolv.conf`.
#[derive(Debug, Clone)]
pub struct ResolvSpec {
    /// Network resolver or host resolvers.
    pub resolver: Resolver,
    /// `--dns`: replaces the host's servers; on user networks it is listed
    /// after the network's resolver (used only when that fails).
    pub dns: Vec<IpAddr>,
    /// `--dns-search`: replaces the host's search list (`.` = none).
    pub search: Vec<String>,
    /// `--dns-option`: replaces the host's options.
    pub options: Vec<String>,
}

/// Docker's fallback when the host has no usable resolver.
const FALLBACK: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
    IpAddr::V4(Ipv4Addr::new(8, 8, 4, 4)),
];

/// The `nameserver`s of a resolv.conf text that a container can use:
/// loopback ones (systemd-resolved's 127.0.0.53, a local dnsmasq) would be
/// the container's own loopback, so they are left out.
pub fn host_nameservers(resolv_conf: &str) -> Vec<IpAddr> {
    directive(resolv_conf, "nameserver")
        .filter_map(|v| v.split('%').next()?.parse::<IpAddr>().ok())
        .filter(|ip| !ip.is_loopback())
        .collect()
}

/// The upstreams a network resolver forwards to: [`host_nameservers`] on
/// port 53, or Docker's public fallback when the host has none usable.
pub fn resolver_upstreams(resolv_conf: &str) -> Vec<std::net::SocketAddr> {
    let found = host_nameservers(resolv_conf);
    let servers = if found.is_empty() {
        FALLBACK.to_vec()
    } else {
        found
    };
    servers
        .into_iter()
        .map(|ip| std::net::SocketAddr::new(ip, 53))
        .collect()
}

fn directive<'a>(text: &'a str, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    text.lines().filter_map(move |l| {
        let mut words = l.split_whitespace();
        (words.next() == Some(key)).then(|| words.next()).flatten()
    })
}

fn words_of(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(key)).then(|| w.map(String::from).collect::<Vec<_>>())
        })
        .next_back()
        .unwrap_or_default()
}

/// `/etc/resolv.conf` for a container, given the host's resolv.conf text.
pub fn resolv_conf(spec: &ResolvSpec, host_resolv_conf: &str) -> String {
    let servers: Vec<IpAddr> = match &spec.resolver {
        Resolver::Network(gw) => std::iter::once(IpAddr::V4(*gw))
            .chain(spec.dns.iter().copied())
            .collect(),
        Resolver::Host if !spec.dns.is_empty() => spec.dns.clone(),
        Resolver::Host => {
            let found = host_nameservers(host_resolv_conf);
            if found.is_empty() {
                FALLBACK.to_vec()
            } else {
                found
            }
        }
    };
    let search = if spec.search.is_empty() {
        words_of(host_resolv_conf, "search")
    } else {
        spec.search.iter().filter(|s| *s != ".").cloned().collect()
    };
    let mut options = if spec.options.is_empty() {
        words_of(host_resolv_conf, "options")
    } else {
        spec.options.clone()
    };
    if matches!(spec.resolver, Resolver::Network(_))
        && spec.options.is_empty()
        && !options.iter().any(|o| o.starts_with("ndots:"))
    {
        // As Docker does for its embedded DNS: names with dots go to the
        // resolver as they are, before the search list.
        options.push("ndots:0".to_string());
    }
    let mut out = String::new();
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

/// `/etc/hostname`.
pub fn hostname(name: &str) -> String {
    format!("{name}\n")
}

/// Writes one of these files into `dir` atomically and returns its path, for
/// the engine to bind-mount.
pub fn write(dir: &Path, name: &str, content: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    crate::state::write_atomic(&path, content.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver ::1\nsearch corp.example lan\noptions edns0 trust-ad\n";

    #[test]
    fn hosts_file_has_localhost_extra_hosts_and_own_names() {
        let spec = HostsSpec {
            hostname: "web".into(),
            domainname: Some("example.org".into()),
            ips: vec!["172.18.0.2".parse().unwrap()],
            aliases: vec!["www".into(), "web".into()],
            extra_hosts: vec![("db.local".into(), "10.0.0.9".parse().unwrap())],
        };
        let text = hosts(&spec);
        assert!(
            text.starts_with("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
        );
        assert!(text.contains("10.0.0.9\tdb.local\n"));
        assert!(
            text.ends_with("172.18.0.2\tweb.example.org web www\n"),
            "{text}"
        );
    }

    #[test]
    fn repointing_changes_only_the_lines_of_that_name() {
        let text = "127.0.0.1\tlocalhost\n172.17.0.2\tsql 1a2b3c db\n# 172.17.0.2\tsql\n172.17.0.9\tsqlx\n172.17.0.4\tweb\n";
        let ip: IpAddr = "172.17.0.7".parse().unwrap();
        assert_eq!(
            repoint_hosts(text, "sql", ip).as_deref(),
            Some(
                "127.0.0.1\tlocalhost\n172.17.0.7\tsql 1a2b3c db\n# 172.17.0.2\tsql\n172.17.0.9\tsqlx\n172.17.0.4\tweb\n"
            )
        );
        // Already right, or nowhere: nothing to write.
        assert_eq!(
            repoint_hosts(text, "sql", "172.17.0.2".parse().unwrap()),
            None
        );
        assert_eq!(repoint_hosts(text, "cache", ip), None);
        // The last line without a newline keeps having none.
        assert_eq!(
            repoint_hosts("10.0.0.1 sql", "sql", ip).as_deref(),
            Some("172.17.0.7 sql")
        );
    }

    #[test]
    fn add_host_forms() {
        assert_eq!(
            parse_add_host("db:10.0.0.9", None).unwrap(),
            ("db".into(), "10.0.0.9".parse().unwrap())
        );
        assert_eq!(
            parse_add_host("db=::1", None).unwrap().1,
            "::1".parse::<IpAddr>().unwrap()
        );
        let gw: IpAddr = "172.17.0.1".parse().unwrap();
        assert_eq!(
            parse_add_host("host.docker.internal:host-gateway", Some(gw))
                .unwrap()
                .1,
            gw
        );
        assert!(parse_add_host("nohost", None).is_err());
        assert!(
            parse_add_host("db:notanip", None)
                .unwrap_err()
                .to_string()
                .contains("notanip")
        );
    }

    #[test]
    fn resolv_conf_for_default_bridge_drops_loopback_servers() {
        let spec = ResolvSpec {
            resolver: Resolver::Host,
            dns: vec![],
            search: vec![],
            options: vec![],
        };
        assert_eq!(
            resolv_conf(&spec, HOST),
            "nameserver 10.0.0.2\nsearch corp.example lan\noptions edns0 trust-ad\n"
        );
        let only_local = "nameserver 127.0.0.53\n";
        assert!(
            resolv_conf(&spec, only_local).starts_with("nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
        );
    }

    #[test]
    fn resolv_conf_for_user_networks_and_overrides() {
        let spec = ResolvSpec {
            resolver: Resolver::Network("172.18.0.1".parse().unwrap()),
            dns: vec![],
            search: vec![],
            options: vec![],
        };
        assert_eq!(
            resolv_conf(&spec, HOST),
            "nameserver 172.18.0.1\nsearch corp.example lan\noptions edns0 trust-ad ndots:0\n"
        );
        let spec = ResolvSpec {
            resolver: Resolver::Host,
            dns: vec!["1.1.1.1".parse().unwrap()],
            search: vec![".".into()],
            options: vec!["timeout:1".into()],
        };
        assert_eq!(
            resolv_conf(&spec, HOST),
            "nameserver 1.1.1.1\noptions timeout:1\n"
        );
        assert_eq!(hostname("web"), "web\n");
    }
}
