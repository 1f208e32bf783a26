//! Changing a container's networks: `network connect`/`disconnect` (live when it
//! runs), and rewriting its `/etc/hosts` and `/etc/resolv.conf` to match.

use std::net::IpAddr;
use std::path::Path;

use berth_net::files;

use super::DEFAULT_NETWORK;
use super::attach::{Endpoint, IpamConfig, Mode, attachments, is_veth, parse_ip};
use super::endpoint::Member;
use crate::{Engine, Error, Result};

impl Engine {
    /// Writes `/etc/hosts` and `/etc/resolv.conf` (in place: they may be bind-mounted).
    pub(super) fn write_net_files(
        &self,
        stored: &crate::containers::Stored,
        eps: &[Endpoint],
        ips: Vec<IpAddr>,
        dir: &Path,
    ) -> Result<()> {
        let o = &stored.opts;
        let gateway = eps.first().and_then(|e| e.gateway.parse::<IpAddr>().ok());
        let mut extra_hosts = Vec::new();
        for h in &o.add_hosts {
            extra_hosts.push(files::parse_add_host(h, gateway)?);
        }
        extra_hosts.extend(self.link_hosts(o, eps));
        let hosts = files::hosts(&files::HostsSpec {
            hostname: stored.hostname.clone(),
            domainname: None,
            ips,
            aliases: eps.iter().flat_map(|e| e.aliases.iter().cloned()).collect(),
            extra_hosts,
        });
        let user_gw = eps
            .iter()
            .find(|e| e.network != DEFAULT_NETWORK)
            .and_then(|e| e.gateway.parse().ok());
        let spec = files::ResolvSpec {
            resolver: match user_gw {
                Some(gw) => files::Resolver::Network(gw),
                None => files::Resolver::Host,
            },
            dns: o.dns.iter().filter_map(|d| d.parse().ok()).collect(),
            search: o.dns_search.clone(),
            options: o.dns_options.clone(),
        };
        let host = fs_err::read_to_string("/etc/resolv.conf").unwrap_or_default();
        for (file, text) in [
            ("hosts", hosts),
            ("resolv.conf", files::resolv_conf(&spec, &host)),
        ] {
            let p = dir.join(file);
            fs_err::write(&p, text).map_err(|e| Error::io(&p, e))?;
        }
        Ok(())
    }

    /// `berth network connect [--alias] [--ip] NET CTR`: records the endpoint and, if
    /// the container runs, plugs it in now.
    pub fn connect_network(
        &self,
        network: &str,
        container: &str,
        aliases: &[String],
        ip: Option<&str>,
    ) -> Result<()> {
        self.connect_network_dual(network, container, aliases, ip, None)
    }

    /// [`Engine::connect_network`] with `--ip6` too (on a network made with `--ipv6`).
    pub fn connect_network_dual(
        &self,
        network: &str,
        container: &str,
        aliases: &[String],
        ip: Option<&str>,
        ip6: Option<&str>,
    ) -> Result<()> {
        let net = self.find_network(network)?;
        let (rec, stored) = self.container(container)?;
        if !matches!(Mode::of(stored.opts.network.as_deref()), Mode::Network(_)) {
            return Err(Error::Invalid {
                flag: "--network",
                value: stored.opts.network.clone().unwrap_or_default(),
                hint: "a container with network mode none, host or container: cannot join networks"
                    .into(),
            });
        }
        let mut eps = attachments(&rec.state);
        if eps.iter().any(|e| e.network_id == net.id) {
            return Err(Error::Invalid {
                flag: "NETWORK",
                value: net.name,
                hint: format!("container {} is already connected to it", rec.name),
            });
        }
        let mut ipam_config = ip
            .map(|i| {
                parse_ip("--ip", i).map(|a| IpamConfig {
                    ipv4_address: a.to_string(),
                    ..IpamConfig::default()
                })
            })
            .transpose()?;
        if let Some(ip6) = ip6 {
            let a = self.check_ip6(&net, ip6)?;
            ipam_config
                .get_or_insert_with(IpamConfig::default)
                .ipv6_address = a.to_string();
        }
        let mut ep = Endpoint {
            network: net.name.clone(),
            network_id: net.id.clone(),
            aliases: aliases.to_vec(),
            ipam_config,
            ..Endpoint::default()
        };
        let ns = self.netns_path(&rec.id);
        if rec.state.status == berth_store::ContainerStatus::Running && ns.exists() {
            // Indexes of disconnected networks may be free again; names must not clash.
            let n = (0..16)
                .find(|n| !eps.iter().any(|e| is_veth(e, &rec.id, *n)))
                .unwrap_or(eps.len());
            let v6_route = !eps.iter().any(|e| !e.global_ipv6_address.is_empty());
            // No links here: Docker's `run --link` belongs to the network the container
            // was made for.
            let ctr = Member {
                id: &rec.id,
                name: &rec.name,
                links: std::collections::BTreeMap::new(),
            };
            self.endpoint_up(&ctr, &ns, n, &mut ep, v6_route)?;
            eps.push(ep);
            self.record_networks(&rec.id, &eps)?;
            let ips = addresses(&eps);
            let dir = self.store().container_dir(&rec.id)?;
            self.write_net_files(&stored, &eps, ips, &dir)?;
        } else {
            eps.push(ep);
            self.record_networks(&rec.id, &eps)?;
        }
        Ok(())
    }

    /// `berth network disconnect NET CTR`.
    pub fn disconnect_network(&self, network: &str, container: &str) -> Result<()> {
        let net = self.find_network(network)?;
        let (rec, stored) = self.container(container)?;
        let mut eps = attachments(&rec.state);
        let Some(pos) = eps.iter().position(|e| e.network_id == net.id) else {
            return Err(Error::Invalid {
                flag: "NETWORK",
                value: net.name,
                hint: format!("container {} is not connected to it", rec.name),
            });
        };
        let ep = eps.remove(pos);
        let mut errors = Vec::new();
        let live = self.netns_path(&rec.id).exists() && !ep.ip_address.is_empty();
        if live {
            errors = self.endpoint_down(&rec.id, pos, &ep, false);
        }
        self.record_networks(&rec.id, &eps)?;
        if live {
            // Its address on that network leaves /etc/hosts, and if that network's
            // resolver was the one in /etc/resolv.conf, another one (or the host's)
            // takes over.
            let ips = addresses(&eps);
            let dir = self.store().container_dir(&rec.id)?;
            self.write_net_files(&stored, &eps, ips, &dir)?;
        }
        match errors.into_iter().next() {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }
}

/// A container's addresses on its networks, IPv4 and IPv6, for `/etc/hosts`.
fn addresses(eps: &[Endpoint]) -> Vec<IpAddr> {
    eps.iter()
        .flat_map(|e| {
            [
                e.ip_address.parse().ok(),
                e.global_ipv6_address.parse().ok(),
            ]
        })
        .flatten()
        .collect()
}
