//! `depends_on:`: a list of services, or a mapping with the condition to wait for.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::de::{Scalar, bool_or_false, is_false};
use super::env_file::{required, yes};

/// What a dependant waits for.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The dependency's containers are started.
    #[default]
    ServiceStarted,
    /// The dependency's health check passes.
    ServiceHealthy,
    /// The dependency ran to completion with exit code 0.
    ServiceCompletedSuccessfully,
}

impl Condition {
    /// The Compose spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::ServiceStarted => "service_started",
            Condition::ServiceHealthy => "service_healthy",
            Condition::ServiceCompletedSuccessfully => "service_completed_successfully",
        }
    }
}

/// One `depends_on` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// What to wait for.
    #[serde(default)]
    pub condition: Condition,
    /// Restart this service when the dependency is recreated or restarted.
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "bool_or_false"
    )]
    pub restart: bool,
    /// A missing dependency is an error unless false.
    #[serde(default = "yes", deserialize_with = "required")]
    pub required: bool,
}

impl Default for Dependency {
    fn default() -> Self {
        Dependency {
            condition: Condition::ServiceStarted,
            restart: false,
            required: true,
        }
    }
}

pub(super) fn depends_on<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Dependency>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = BTreeMap<String, Dependency>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of service names or a mapping")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(Scalar(name)) = seq.next_element()? {
                out.insert(name, Dependency::default());
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(Scalar(name)) = map.next_key()? {
                let value: Option<Dependency> = map.next_value()?;
                out.insert(name, value.unwrap_or_default());
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}
