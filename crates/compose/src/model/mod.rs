//! The Compose file model: [`ComposeFile`] with its [`Service`]s, [`Network`]s and
//! [`Volume`]s. Every type deserializes from all the syntaxes Compose accepts and serializes
//! to the canonical long form that `config` prints, so printing and re-reading a model gives
//! the same model back.

pub mod build;
pub(crate) mod de;
pub mod depends;
pub mod deploy;
pub mod env_file;
pub mod health;
pub mod mounts;
pub mod ports;
pub mod service;
pub mod tuning;
pub mod units;

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

pub use build::Build;
use de::{bool_or_false, is_false, label_map, nullable_map, string_map};
pub use depends::{Condition, Dependency};
pub use deploy::{Deploy, Resource, Resources};
pub use env_file::EnvFile;
pub use health::Healthcheck;
pub use mounts::{BindOptions, Mount, MountType, TmpfsOptions, VolumeOptions};
pub use ports::Port;
pub use service::{Service, ServiceNetwork};
pub use tuning::{Logging, Ulimit};
pub use units::{ByteSize, Duration};

/// A whole Compose file (or the merge of several).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComposeFile {
    /// Project name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Obsolete `version:` (kept only to warn about it).
    #[serde(default, skip_serializing)]
    pub version: Option<serde_yaml_ng::Value>,
    /// Services by name.
    #[serde(default, deserialize_with = "nullable_map")]
    pub services: BTreeMap<String, Service>,
    /// Networks by key.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "nullable_map"
    )]
    pub networks: BTreeMap<String, Network>,
    /// Volumes by key.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "nullable_map"
    )]
    pub volumes: BTreeMap<String, Volume>,
    /// Secrets, kept as written (not used by berth yet).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, serde_yaml_ng::Value>,
    /// Configs, kept as written (not used by berth yet).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, serde_yaml_ng::Value>,
}

/// `external:` — a bool, or the legacy `{name: …}` form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum External {
    /// `external: false` or absent.
    #[default]
    No,
    /// `external: true`.
    Yes,
    /// `external: {name: NAME}` (legacy); loading turns it into `Yes` plus `name:`.
    Named(String),
}

impl External {
    /// True for `Yes` and `Named`.
    pub fn is_external(&self) -> bool {
        !matches!(self, External::No)
    }
}

impl Serialize for External {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(self.is_external())
    }
}

impl<'de> Deserialize<'de> for External {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = External;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<External, E> {
                Ok(if v { External::Yes } else { External::No })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<External, E> {
                match v {
                    "true" => Ok(External::Yes),
                    "false" => Ok(External::No),
                    _ => Err(E::custom(format!("{v:?} is not a boolean"))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<External, A::Error> {
                #[derive(Deserialize)]
                struct Legacy {
                    name: String,
                }
                let l = Legacy::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(External::Named(l.name))
            }
        }
        d.deserialize_any(V)
    }
}

fn is_not_external(e: &External) -> bool {
    !e.is_external()
}

/// A top-level network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// The engine-side name (default `project_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Driver (`bridge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "string_map"
    )]
    pub driver_opts: BTreeMap<String, String>,
    /// Managed outside the project.
    #[serde(default, skip_serializing_if = "is_not_external")]
    pub external: External,
    /// No outside connectivity.
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "bool_or_false"
    )]
    pub internal: bool,
    /// IPv6 enabled.
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "bool_or_false"
    )]
    pub enable_ipv6: bool,
    /// Other containers may attach.
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "bool_or_false"
    )]
    pub attachable: bool,
    /// Address management.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipam: Option<Ipam>,
    /// Network labels.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "label_map"
    )]
    pub labels: BTreeMap<String, String>,
}

/// `ipam:` of a network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipam {
    /// IPAM driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Address pools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<IpamConfig>,
}

/// One address pool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpamConfig {
    /// CIDR subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    /// Gateway address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Range to allocate from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
}

/// A top-level volume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// The engine-side name (default `project_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Driver (`local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "string_map"
    )]
    pub driver_opts: BTreeMap<String, String>,
    /// Managed outside the project.
    #[serde(default, skip_serializing_if = "is_not_external")]
    pub external: External,
    /// Volume labels.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "label_map"
    )]
    pub labels: BTreeMap<String, String>,
}
