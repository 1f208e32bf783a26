//! Service `volumes:` short syntax (`name:/path:ro`, `./rel:/path`, `/abs:/path:rw`, `/path`)
//! and long syntax (`type`, `source`, `target`, `read_only`, `bind`, `volume`, `tmpfs`).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::de::{bool_or_false, is_false, opt_bool, opt_number};
use super::units::ByteSize;

/// What a mount is backed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    /// A named or anonymous volume.
    Volume,
    /// A host path.
    Bind,
    /// A memory file system.
    Tmpfs,
    /// A Windows named pipe (accepted, refused later by the engine).
    Npipe,
    /// A cluster volume (accepted, refused later by the engine).
    Cluster,
    /// An image mounted read-only (accepted, refused later by the engine).
    Image,
}

/// One service mount in the long syntax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    /// The kind of mount.
    #[serde(rename = "type")]
    pub kind: MountType,
    /// Volume name or host path; absent for anonymous volumes and tmpfs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Absolute path in the container.
    pub target: String,
    /// Mounted read-only.
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "bool_or_false"
    )]
    pub read_only: bool,
    /// macOS consistency hint, kept for `config`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<String>,
    /// Bind options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<BindOptions>,
    /// Volume options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeOptions>,
    /// tmpfs options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<TmpfsOptions>,
}

/// `bind:` options of a mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindOptions {
    /// `rprivate`, `shared`, `slave`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    /// Create the host path when missing (the short syntax implies it).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub create_host_path: Option<bool>,
    /// `z` or `Z` relabelling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selinux: Option<String>,
}

/// `volume:` options of a mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeOptions {
    /// Do not copy the image's content into a new volume.
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "bool_or_false"
    )]
    pub nocopy: bool,
    /// Mount a sub-directory of the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
}

/// `tmpfs:` options of a mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TmpfsOptions {
    /// Size limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<ByteSize>,
    /// File mode of the tmpfs root.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_number"
    )]
    pub mode: Option<u32>,
}

fn is_named_volume(source: &str) -> bool {
    !(source.starts_with('/') || source.starts_with('.') || source.starts_with('~'))
}

/// Parses the short syntax `[SOURCE:]TARGET[:MODE]`.
pub fn parse_short(spec: &str) -> Result<Mount, String> {
    let bad = || format!("{spec:?} is not a volume mapping");
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => (None, *target, None),
        [target, mode] if target.starts_with('/') && !mode.starts_with('/') => {
            (None, *target, Some(*mode))
        }
        [source, target] => (Some(*source), *target, None),
        [source, target, mode] => (Some(*source), *target, Some(*mode)),
        _ => return Err(bad()),
    };
    if source == Some("") || target.is_empty() {
        return Err(bad());
    }
    if !target.starts_with('/') {
        return Err(format!(
            "{spec:?}: the container path {target:?} is not absolute"
        ));
    }
    let kind = match source {
        Some(s) if !is_named_volume(s) => MountType::Bind,
        _ => MountType::Volume,
    };
    let mut mount = Mount {
        kind,
        source: source.map(str::to_string),
        target: target.to_string(),
        read_only: false,
        consistency: None,
        bind: None,
        volume: None,
        tmpfs: None,
    };
    let mut bind = BindOptions {
        create_host_path: Some(true),
        ..BindOptions::default()
    };
    let mut volume = VolumeOptions::default();
    for option in mode.into_iter().flat_map(|m| m.split(',')) {
        match option {
            "ro" => mount.read_only = true,
            "rw" => mount.read_only = false,
            "z" | "Z" => bind.selinux = Some(option.to_string()),
            "nocopy" => volume.nocopy = true,
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                bind.propagation = Some(option.to_string());
            }
            "cached" | "delegated" | "consistent" => {
                mount.consistency = Some(option.to_string());
            }
            _ => return Err(format!("{spec:?} has an unknown volume mode {option:?}")),
        }
    }
    match kind {
        MountType::Bind => mount.bind = Some(bind),
        _ => mount.volume = Some(volume),
    }
    Ok(mount)
}

/// Deserializes a service `volumes:` list.
pub(crate) fn mounts<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Mount>, D::Error> {
    struct Entry(Mount);
    impl<'de> Deserialize<'de> for Entry {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(EntryVisitor)
        }
    }
    struct EntryVisitor;
    impl<'de> Visitor<'de> for EntryVisitor {
        type Value = Entry;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a volume mapping string or mapping")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Entry, E> {
            parse_short(v).map(Entry).map_err(E::custom)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Entry, A::Error> {
            let mount = Mount::deserialize(de::value::MapAccessDeserializer::new(map))?;
            if !mount.target.starts_with('/') {
                return Err(de::Error::custom(format!(
                    "target {:?} is not an absolute path",
                    mount.target
                )));
            }
            if mount.kind == MountType::Bind && mount.source.is_none() {
                return Err(de::Error::custom("a bind mount needs a source"));
            }
            Ok(Entry(mount))
        }
    }
    struct ListVisitor;
    impl<'de> Visitor<'de> for ListVisitor {
        type Value = Vec<Mount>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of volumes")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Vec<Mount>, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Mount>, A::Error> {
            let mut out = Vec::new();
            while let Some(Entry(m)) = seq.next_element()? {
                out.push(m);
            }
            Ok(out)
        }
    }
    d.deserialize_any(ListVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_syntax_forms() {
        let m = parse_short("data:/var/lib/data:ro").unwrap();
        assert_eq!(
            (m.kind, m.source.as_deref(), m.target.as_str(), m.read_only),
            (MountType::Volume, Some("data"), "/var/lib/data", true)
        );
        assert_eq!(m.volume, Some(VolumeOptions::default()));

        let m = parse_short("./rel:/app").unwrap();
        assert_eq!(
            (m.kind, m.source.as_deref()),
            (MountType::Bind, Some("./rel"))
        );
        assert_eq!(m.bind.unwrap().create_host_path, Some(true));

        let m = parse_short("/abs:/path:rw,z").unwrap();
        assert_eq!((m.kind, m.read_only), (MountType::Bind, false));
        assert_eq!(m.bind.unwrap().selinux.as_deref(), Some("z"));

        let m = parse_short("/path").unwrap();
        assert_eq!(
            (m.kind, m.source, m.target.as_str()),
            (MountType::Volume, None, "/path")
        );

        let m = parse_short("~/conf:/etc/app:ro").unwrap();
        assert_eq!(m.kind, MountType::Bind);

        let m = parse_short("cache:/c:nocopy").unwrap();
        assert!(m.volume.unwrap().nocopy);
    }

    #[test]
    fn short_syntax_errors() {
        assert_eq!(
            parse_short("a:b:c:d").unwrap_err(),
            "\"a:b:c:d\" is not a volume mapping"
        );
        assert_eq!(
            parse_short("data:rel").unwrap_err(),
            "\"data:rel\": the container path \"rel\" is not absolute"
        );
        assert_eq!(
            parse_short("data:/x:rox").unwrap_err(),
            "\"data:/x:rox\" has an unknown volume mode \"rox\""
        );
    }
}
