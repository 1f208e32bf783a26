//! The resolver's configuration and records: one JSON file per network that
//! the engine rewrites atomically (under a lock) and the running resolver
//! reloads when it changes. Removing the file stops the resolver.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use ipnet::{Ipv4Net, Ipv6Net};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::state;

/// One container's names on a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Container id (the key for updates and removal).
    pub container: String,
    /// Its name, `--network-alias`es and (for compose) the service name.
    pub names: Vec<String>,
    /// Its address on this network.
    pub ipv4: Ipv4Addr,
    /// Its IPv6 address on a dual-stack network (answers AAAA questions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Addr>,
    /// Its `--link` aliases: alias → the linked container's name (or id) as given.
    /// Only this container's own questions see them, as with Docker's embedded DNS;
    /// the linked container's record on the network gives the address. Absent in
    /// files written before links were resolved here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, String>,
}

/// Everything the resolver of one network needs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResolverConfig {
    /// Address to listen on: the network's gateway.
    pub listen: Option<Ipv4Addr>,
    /// UDP and TCP port (53).
    pub port: u16,
    /// The network's subnet: PTR questions for its unknown addresses get
    /// NXDOMAIN instead of being forwarded.
    pub subnet: Option<Ipv4Net>,
    /// The network's IPv6 subnet (dual-stack networks), for the same purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet6: Option<Ipv6Net>,
    /// Where other names go: the host's resolvers, minus loopback ones
    /// (which containers cannot reach), see [`crate::files::resolver_upstreams`].
    pub upstreams: Vec<SocketAddr>,
    /// Containers on the network.
    pub records: Vec<Record>,
}

/// The records file in `dir`.
pub fn records_path(dir: &Path) -> PathBuf {
    dir.join("resolver.json")
}

/// Sets where the resolver listens and forwards, keeping existing records.
pub fn configure(
    dir: &Path,
    listen: SocketAddrV4,
    subnet: Ipv4Net,
    subnet6: Option<Ipv6Net>,
    upstreams: &[SocketAddr],
) -> Result<()> {
    state::update(&records_path(dir), |c: &mut ResolverConfig| {
        c.listen = Some(*listen.ip());
        c.port = listen.port();
        c.subnet = Some(subnet);
        c.subnet6 = subnet6;
        c.upstreams = upstreams.to_vec();
        Ok(())
    })
}

/// Adds or replaces the record of `record.container`.
pub fn add_record(dir: &Path, record: Record) -> Result<()> {
    state::update(&records_path(dir), |c: &mut ResolverConfig| {
        c.records.retain(|r| r.container != record.container);
        c.records.push(record);
        Ok(())
    })
}

/// Removes the record of `container`; returns how many records remain (the
/// engine stops the resolver at zero).
pub fn remove_record(dir: &Path, container: &str) -> Result<usize> {
    state::update(&records_path(dir), |c: &mut ResolverConfig| {
        c.records.retain(|r| r.container != container);
        Ok(c.records.len())
    })
}

/// Reads the current configuration (default if there is none).
pub fn load(dir: &Path) -> Result<ResolverConfig> {
    let path = records_path(dir);
    let _lock = state::lock(&state::lock_path(&path))?;
    state::read_json(&path)
}

/// Stops the resolver of `dir`: it notices the file is gone and exits.
pub fn stop(dir: &Path) -> Result<()> {
    let path = records_path(dir);
    let _lock = state::lock(&state::lock_path(&path))?;
    match fs_err::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The records of the other networks `container` is on, found in the
/// resolver directories next to `dir` (one per network, see the engine's
/// layout `<state>/dns/<network>`).
pub(crate) fn joined_elsewhere(dir: &Path, container: &str) -> Vec<Record> {
    let Some(parent) = dir.parent() else {
        return Vec::new();
    };
    let Ok(entries) = fs_err::read_dir(parent) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let other = e.path();
        if other == dir || !records_path(&other).exists() {
            continue;
        }
        // Read without the lock: the file is replaced by rename, so it is
        // whole, and taking the lock would make its directory again while
        // the engine removes it. A file gone meanwhile just adds nothing.
        if let Ok(cfg) = state::read_json::<ResolverConfig>(&records_path(&other))
            && cfg.records.iter().any(|r| r.container == container)
        {
            out.extend(cfg.records);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(container: &str, name: &str, ip: [u8; 4]) -> Record {
        Record {
            container: container.into(),
            names: vec![name.into()],
            ipv4: Ipv4Addr::from(ip),
            ipv6: None,
            links: BTreeMap::new(),
        }
    }

    #[test]
    fn records_written_before_links_still_load() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(
            records_path(dir.path()),
            r#"{"listen":"10.0.1.1","port":53,"subnet":"10.0.1.0/24","upstreams":[],
               "records":[{"container":"c1","names":["app"],"ipv4":"10.0.1.2"}]}"#,
        )
        .unwrap();
        let cfg = load(dir.path()).unwrap();
        assert_eq!(cfg.records, vec![rec("c1", "app", [10, 0, 1, 2])]);
        // And a record without links is written as before.
        add_record(dir.path(), rec("c2", "db", [10, 0, 1, 3])).unwrap();
        let text = fs_err::read_to_string(records_path(dir.path())).unwrap();
        assert!(!text.contains("links"), "{text}");
    }

    #[test]
    fn other_networks_of_a_container_are_found_next_door() {
        let root = tempfile::tempdir().unwrap();
        let (front, back, far) = (
            root.path().join("front"),
            root.path().join("back"),
            root.path().join("far"),
        );
        add_record(&front, rec("c1", "app", [10, 0, 1, 2])).unwrap();
        add_record(&front, rec("c2", "web", [10, 0, 1, 3])).unwrap();
        add_record(&back, rec("c1", "app", [10, 0, 2, 2])).unwrap();
        add_record(&back, rec("c3", "db", [10, 0, 2, 3])).unwrap();
        add_record(&far, rec("c4", "other", [10, 0, 3, 2])).unwrap();

        let got = joined_elsewhere(&front, "c1");
        let names: Vec<&str> = got.iter().map(|r| r.names[0].as_str()).collect();
        assert_eq!(names, ["app", "db"], "c1 is on back too, not on far");
        assert_eq!(got[1].ipv4, Ipv4Addr::new(10, 0, 2, 3));
        assert!(joined_elsewhere(&front, "c2").is_empty());

        // Once c1 leaves back, back's names are no longer its business.
        remove_record(&back, "c1").unwrap();
        assert!(joined_elsewhere(&front, "c1").is_empty());
        // A stopped network (its file removed) adds nothing and is not made again.
        stop(&far).unwrap();
        fs_err::remove_dir_all(&far).unwrap();
        assert!(joined_elsewhere(&front, "c4").is_empty());
        assert!(!far.exists());
    }
}
