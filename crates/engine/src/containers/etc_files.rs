//! The per-container `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf`, written into
//! the container's directory and bind-mounted (so the image's files stay untouched).

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Docker's fallback when the host has only loopback resolvers.
const FALLBACK_DNS: &[&str] = &["8.8.8.8", "8.8.4.4"];

/// The host's resolv.conf for a container in its own network namespace: nameservers
/// on loopback (systemd-resolved, dnsmasq) cannot be reached from there, so they are
/// dropped, as Docker does; with none left, public resolvers are used.
pub fn container_resolv_conf(host: &str) -> String {
    let mut out = String::new();
    let mut servers = 0;
    for line in host.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("nameserver") {
            let addr = words.next().unwrap_or("");
            let ip: Option<std::net::IpAddr> = addr.split('%').next().and_then(|a| a.parse().ok());
            if ip.is_none_or(|ip| ip.is_loopback()) {
                continue;
            }
            servers += 1;
        }
        out.push_str(line);
        out.push('\n');
    }
    if servers == 0 {
        for s in FALLBACK_DNS {
            out.push_str(&format!("nameserver {s}\n"));
        }
    }
    out
}

/// `/etc/hosts` for a container in its own network namespace.
pub fn container_hosts(hostname: &str) -> String {
    format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n127.0.1.1\t{hostname}\n"
    )
}

fn write(path: &Path, text: &str) -> Result<()> {
    fs_err::write(path, text).map_err(|e| Error::Io {
        path: path.to_owned(),
        source: e,
    })
}

/// Writes the three files into `dir` and returns (container path, host path) pairs.
pub fn write_all(dir: &Path, hostname: &str, host_network: bool) -> Result<Vec<(String, PathBuf)>> {
    let read = |p: &str| fs_err::read_to_string(p).unwrap_or_default();
    let hosts = if host_network {
        read("/etc/hosts")
    } else {
        container_hosts(hostname)
    };
    let resolv = if host_network {
        read("/etc/resolv.conf")
    } else {
        container_resolv_conf(&read("/etc/resolv.conf"))
    };
    let files = [
        ("/etc/hosts", "hosts", hosts),
        ("/etc/hostname", "hostname", format!("{hostname}\n")),
        ("/etc/resolv.conf", "resolv.conf", resolv),
    ];
    let mut out = Vec::new();
    for (target, name, text) in files {
        let p = dir.join(name);
        write(&p, &text)?;
        out.push((target.to_owned(), p));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_resolvers_are_dropped() {
        let r = container_resolv_conf(
            "search lan\nnameserver 127.0.0.53\nnameserver 10.0.0.1\noptions edns0\n",
        );
        assert_eq!(r, "search lan\nnameserver 10.0.0.1\noptions edns0\n");
        let r = container_resolv_conf("nameserver 127.0.0.1\nnameserver ::1\n");
        assert_eq!(r, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
        assert!(container_hosts("box").contains("127.0.1.1\tbox"));
    }
}
