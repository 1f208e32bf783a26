//! `--link NAME[:ALIAS]`, Docker's legacy links. On the default bridge network the linked
//! container must exist when this one is created and run when it starts; this container
//! then gets `/etc/hosts` lines for the alias, the other's host name and name, and
//! Docker's environment variables (`ALIAS_PORT`, `ALIAS_PORT_80_TCP_ADDR`, `ALIAS_NAME`,
//! `ALIAS_ENV_X` …), recomputed at every start because the other's address can change;
//! when the other starts again, the running containers linking to it get their `/etc/hosts`
//! line pointed at its new address (Docker's `updateParentsHosts`). On a user-defined
//! network a link is only an extra name for the other container, as Docker's: the
//! network's resolver answers it to this container alone (the alias travels in this
//! container's DNS record on the network it was made for, see [`dns_links`]), while the
//! other is on a network the resolver sees, and a missing container is no error.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use berth_net::ports::{Proto, parse_port_spec};
use berth_store::ContainerStatus;
use serde_json::{Value, json};

use super::DEFAULT_NETWORK;
use super::attach::{Endpoint, Mode, attachments};
use crate::containers::{RunOptions, Stored};
use crate::{Engine, Error, Result};

/// The spec annotation listing the variables the last start added, so the next start
/// replaces exactly those.
const ENV_ANNOTATION: &str = "org.berth.link-env";

/// How a stored config without `--link` spells its (empty) list: compact JSON, where
/// this text cannot occur inside a string.
const NO_LINKS: &str = "\"links\":[]";

/// Splits `NAME[:ALIAS]` as Docker does (a leading `/` on the name is dropped).
pub fn parse_link(s: &str) -> Result<(String, String)> {
    let bad = |hint: &str| Error::Invalid {
        flag: "--link",
        value: s.to_owned(),
        hint: hint.to_owned(),
    };
    let parts: Vec<&str> = s.split(':').collect();
    let (name, alias) = match parts[..] {
        [n] => (n, n),
        [n, a] => (n, a),
        _ => return Err(bad("use NAME or NAME:ALIAS")),
    };
    let name = name.trim_start_matches('/');
    if name.is_empty() || alias.is_empty() {
        return Err(bad(
            "empty string specified for links; use NAME or NAME:ALIAS",
        ));
    }
    Ok((name.to_owned(), alias.to_owned()))
}

/// `HostConfig.Links`: `/NAME:/THIS/ALIAS`.
pub fn inspect_names(o: &RunOptions, own: &str) -> Vec<String> {
    o.links
        .iter()
        .filter_map(|l| parse_link(l).ok())
        .map(|(n, a)| format!("/{n}:/{own}/{a}"))
        .collect()
}

/// The aliases the resolver of this container's user-defined network (the one it was
/// made for) answers to it alone: alias → linked container (name or id, as given). None
/// for the default bridge's legacy links, which are `/etc/hosts` lines.
pub(super) fn dns_links(o: &RunOptions) -> BTreeMap<String, String> {
    if on_default_bridge(o) {
        return BTreeMap::new();
    }
    o.links
        .iter()
        .filter_map(|l| parse_link(l).ok())
        .map(|(name, alias)| (alias, name))
        .collect()
}

/// The names of a legacy link's `/etc/hosts` line: the alias first (which is how a
/// later update finds the line), the linked container's host name, and its name when
/// that differs from the alias.
fn hosts_names(alias: &str, hostname: &str, name: &str) -> String {
    if alias == name {
        format!("{alias} {hostname}")
    } else {
        format!("{alias} {hostname} {name}")
    }
}

fn on_default_bridge(o: &RunOptions) -> bool {
    matches!(
        o.network.as_deref(),
        None | Some("" | "default" | DEFAULT_NETWORK)
    )
}

fn conflict(what: &str) -> Error {
    Error::Refused {
        message: format!(
            "conflicting options: {what} networking can't be used with links. This would result in undefined behavior"
        ),
    }
}

/// Docker's environment variables for one link (`links.go`): per exposed port
/// `ALIAS_PORT_P_PROTO{,_ADDR,_PORT,_PROTO}`, the first port as `ALIAS_PORT`, runs of
/// consecutive ports as `…_START`/`_PORT_START`/`_PORT_END`, `ALIAS_NAME`, and the linked
/// container's environment (without HOME and PATH) as `ALIAS_ENV_X`.
pub fn link_env(
    alias: &str,
    link_name: &str,
    ip: &str,
    ports: &[(u16, Proto)],
    env: &[String],
) -> Vec<String> {
    let a = alias.to_ascii_uppercase().replace('-', "_");
    let mut ports = ports.to_vec();
    ports.sort_by_key(|(p, proto)| (*p, *proto != Proto::Tcp));
    ports.dedup();
    let mut out = Vec::new();
    let mut start = 0usize;
    for (i, (p, proto)) in ports.iter().enumerate() {
        let proto = proto.as_str();
        if i == 0 {
            out.push(format!("{a}_PORT={proto}://{ip}:{p}"));
        }
        let prefix = format!("{a}_PORT_{p}_{}", proto.to_ascii_uppercase());
        out.push(format!("{prefix}={proto}://{ip}:{p}"));
        out.push(format!("{prefix}_ADDR={ip}"));
        out.push(format!("{prefix}_PORT={p}"));
        out.push(format!("{prefix}_PROTO={proto}"));
        let next_continues = ports
            .get(i + 1)
            .is_some_and(|(q, qp)| u32::from(*q) == u32::from(*p) + 1 && qp.as_str() == proto);
        if next_continues {
            continue;
        }
        if i > start {
            let (s, sp) = ports[start];
            let sp = sp.as_str();
            let prefix = format!("{a}_PORT_{s}_{}", sp.to_ascii_uppercase());
            out.push(format!("{prefix}_START={sp}://{ip}:{s}"));
            out.push(format!("{prefix}_PORT_START={s}"));
            out.push(format!("{prefix}_PORT_END={p}"));
        }
        start = i + 1;
    }
    out.push(format!("{a}_NAME={link_name}"));
    for kv in env {
        if let Some((k, v)) = kv.split_once('=')
            && k != "HOME"
            && k != "PATH"
        {
            out.push(format!("{a}_ENV_{k}={v}"));
        }
    }
    out
}

/// The ports a container exposes: its image's, `--expose` and `-p` ones.
fn exposed_ports(s: &Stored) -> Vec<(u16, Proto)> {
    let mut out = Vec::new();
    let listed = s
        .image
        .exposed_ports
        .keys()
        .chain(s.opts.expose.iter())
        .chain(s.opts.publish.iter());
    for p in listed {
        if let Ok(spec) = parse_port_spec(p) {
            for port in spec.container_ports.0..=spec.container_ports.1 {
                out.push((port, spec.proto));
            }
        }
    }
    out
}

impl Engine {
    /// Docker's checks at create: on the default bridge every linked container exists
    /// and is not on the host's network; links and host/container networking exclude
    /// each other.
    pub fn check_links(&self, o: &RunOptions) -> Result<()> {
        for l in &o.links {
            parse_link(l)?;
        }
        if o.links.is_empty() {
            return Ok(());
        }
        match Mode::of(o.network.as_deref()) {
            Mode::Host => return Err(conflict("host type")),
            Mode::Container(_) => return Err(conflict("container type")),
            _ => {}
        }
        if !on_default_bridge(o) {
            return Ok(());
        }
        for l in &o.links {
            let (name, _) = parse_link(l)?;
            let (_, child) = self.container(&name).map_err(|e| Error::Refused {
                message: format!("could not get container for {name}: {e}"),
            })?;
            if Mode::of(child.opts.network.as_deref()) == Mode::Host {
                return Err(conflict("host type"));
            }
        }
        Ok(())
    }

    /// At start, on the default bridge: each linked container must run (Docker's
    /// "Cannot link to a non running container"); its variables go into `config.json`.
    pub(crate) fn apply_links(&self, own_name: &str, stored: &Stored, dir: &Path) -> Result<()> {
        if stored.opts.links.is_empty() || !on_default_bridge(&stored.opts) {
            return Ok(());
        }
        let mut env = Vec::new();
        for l in &stored.opts.links {
            let (name, alias) = parse_link(l)?;
            let (rec, child) = self.container(&name).map_err(|e| Error::Refused {
                message: format!("could not get container for {name}: {e}"),
            })?;
            let running = matches!(
                self.reconcile(&rec)?,
                ContainerStatus::Running | ContainerStatus::Paused
            );
            let ip = attachments(&rec.state)
                .into_iter()
                .find(|e| e.network == DEFAULT_NETWORK)
                .map(|e| e.ip_address)
                .filter(|ip| running && !ip.is_empty());
            let Some(ip) = ip else {
                return Err(Error::Refused {
                    message: format!(
                        "Cannot link to a non running container: /{} AS /{own_name}/{alias}\nhint: start {} first",
                        rec.name, rec.name
                    ),
                });
            };
            let child_env = crate::containers::spec::environment(
                &child.opts,
                &child.image,
                &child.hostname,
                "",
            );
            let link_name = format!("/{own_name}/{alias}");
            env.extend(link_env(
                &alias,
                &link_name,
                &ip,
                &exposed_ports(&child),
                &child_env,
            ));
        }
        crate::containers::bundle::edit_spec(dir, |spec| {
            let old: Vec<String> = spec["annotations"][ENV_ANNOTATION]
                .as_str()
                .map(|s| s.split(',').map(str::to_owned).collect())
                .unwrap_or_default();
            let key = |kv: &str| kv.split_once('=').map_or(kv, |(k, _)| k).to_owned();
            let mut current = crate::containers::bundle::process_env(&spec["process"]);
            current.retain(|kv| !old.contains(&key(kv)));
            // The container's own variables win over a link's, as in Docker.
            let added: Vec<String> = env
                .iter()
                .filter(|kv| !current.iter().any(|c| key(c) == key(kv)))
                .cloned()
                .collect();
            let keys: Vec<String> = added.iter().map(|kv| key(kv)).collect();
            let mut all = added;
            all.extend(current);
            spec["process"]["env"] = json!(all);
            if !spec["annotations"].is_object() {
                spec["annotations"] = json!({});
            }
            spec["annotations"][ENV_ANNOTATION] = Value::String(keys.join(","));
            Ok(true)
        })
    }

    /// `/etc/hosts` lines for the legacy links on the default bridge: `IP\tALIAS
    /// HOSTNAME NAME` (the name only when it differs from the alias). Linked containers
    /// that do not run or share no network are left out. Links on a user-defined
    /// network get no line, as in Docker: its resolver answers them, also after the
    /// linked container moved to a new address.
    pub(super) fn link_hosts(&self, o: &RunOptions, eps: &[Endpoint]) -> Vec<(String, IpAddr)> {
        let mut out = Vec::new();
        if !on_default_bridge(o) {
            return out;
        }
        for l in &o.links {
            let Ok((name, alias)) = parse_link(l) else {
                continue;
            };
            let Ok((rec, child)) = self.container(&name) else {
                continue;
            };
            if !matches!(
                rec.state.status,
                ContainerStatus::Running | ContainerStatus::Paused
            ) {
                continue;
            }
            let ip = attachments(&rec.state).into_iter().find_map(|e| {
                let shared = eps.iter().any(|m| m.network == e.network);
                e.ip_address.parse::<IpAddr>().ok().filter(|_| shared)
            });
            let Some(ip) = ip else {
                continue;
            };
            out.push((hosts_names(&alias, &child.hostname, &rec.name), ip));
        }
        out
    }

    /// Container `id` (`name`) starts with endpoints `eps`: if one is on the default
    /// bridge, every running container whose legacy `--link` names it gets its
    /// `/etc/hosts` line for the link pointed at that address, as Docker's daemon does
    /// (`updateParentsHosts`). The file is bind-mounted into the parent, so it is
    /// rewritten in place (same inode). Best effort: a parent's file is its own, and a
    /// parent that stops meanwhile or a file it made unwritable must not fail this start.
    pub(super) fn update_parents_hosts(&self, id: &str, name: &str, eps: &[Endpoint]) {
        let Some(ip) = eps
            .iter()
            .find(|e| e.network == DEFAULT_NETWORK)
            .and_then(|e| e.ip_address.parse::<IpAddr>().ok())
        else {
            return;
        };
        let filter = berth_store::ContainerFilter {
            statuses: vec![ContainerStatus::Running, ContainerStatus::Paused],
            include_config: true,
            state_keys: Some(Vec::new()),
            // Most containers link to nothing, and their stored config says so.
            config_lacks: Some(NO_LINKS.to_owned()),
            ..Default::default()
        };
        let Ok(running) = self.store().list_containers(&filter) else {
            return;
        };
        for parent in running.iter().filter(|p| p.id != id) {
            let Ok(stored) = Stored::parse(&parent.id, parent.config.as_deref()) else {
                continue;
            };
            if !on_default_bridge(&stored.opts) {
                continue;
            }
            let aliases: Vec<String> = stored
                .opts
                .links
                .iter()
                .filter_map(|l| parse_link(l).ok())
                .filter(|(target, _)| self.names_container(target, id, name))
                .map(|(_, alias)| alias)
                .collect();
            if aliases.is_empty() {
                continue;
            }
            let Ok(path) = self
                .store()
                .container_dir(&parent.id)
                .map(|d| d.join("hosts"))
            else {
                continue;
            };
            let Ok(mut text) = fs_err::read_to_string(&path) else {
                continue;
            };
            let mut changed = false;
            for alias in &aliases {
                if let Some(t) = berth_net::files::repoint_hosts(&text, alias, ip) {
                    text = t;
                    changed = true;
                }
            }
            if changed {
                // fs_err::write truncates and writes the same file: the parent's bind
                // mount keeps seeing it (a rename would leave the mount on the old one).
                let _ = fs_err::write(&path, text);
            }
        }
    }

    /// Whether a link's `target` (as given: a name, a full id or an id prefix) is
    /// container `id` named `name`, resolved as the store resolves names.
    fn names_container(&self, target: &str, id: &str, name: &str) -> bool {
        target == name
            || target == id
            || (id.starts_with(target)
                && self
                    .store()
                    .resolve_container(target)
                    .is_ok_and(|r| r == id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_without_links_says_so_in_its_json() {
        let none = serde_json::to_string(&RunOptions::default()).unwrap();
        assert!(none.contains(NO_LINKS), "{none}");
        let some = serde_json::to_string(&RunOptions {
            links: vec!["db:sql".into()],
            ..RunOptions::default()
        })
        .unwrap();
        assert!(!some.contains(NO_LINKS), "{some}");
    }

    #[test]
    fn links_parse_like_docker() {
        assert_eq!(parse_link("db").unwrap(), ("db".into(), "db".into()));
        assert_eq!(parse_link("/db:sql").unwrap(), ("db".into(), "sql".into()));
        assert!(parse_link("").is_err());
        assert!(parse_link("db:").is_err());
        assert!(parse_link("a:b:c").is_err());
    }

    #[test]
    fn env_matches_docker_links_go() {
        let ports = [(6380, Proto::Tcp), (6379, Proto::Tcp), (53, Proto::Udp)];
        let env = link_env(
            "my-db",
            "/web/my-db",
            "172.17.0.2",
            &ports,
            &["PATH=/bin".into(), "PASSWORD=x".into()],
        );
        assert_eq!(env[0], "MY_DB_PORT=udp://172.17.0.2:53");
        for want in [
            "MY_DB_PORT_6379_TCP=tcp://172.17.0.2:6379",
            "MY_DB_PORT_6379_TCP_ADDR=172.17.0.2",
            "MY_DB_PORT_6379_TCP_PORT=6379",
            "MY_DB_PORT_6379_TCP_PROTO=tcp",
            "MY_DB_PORT_6379_TCP_START=tcp://172.17.0.2:6379",
            "MY_DB_PORT_6379_TCP_PORT_START=6379",
            "MY_DB_PORT_6379_TCP_PORT_END=6380",
            "MY_DB_NAME=/web/my-db",
            "MY_DB_ENV_PASSWORD=x",
        ] {
            assert!(env.iter().any(|e| e == want), "{want} missing from {env:?}");
        }
        assert!(!env.iter().any(|e| e.starts_with("MY_DB_ENV_PATH")));
    }
}
