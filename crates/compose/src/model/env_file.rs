//! `env_file:` entries: a path, or `{path, required}`; and the `required` flag's default
//! (also used by `depends_on`).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::de::opt_bool;

/// One `env_file:` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvFile {
    /// The file (absolute after loading).
    pub path: String,
    /// A missing file is an error unless false.
    #[serde(default = "yes", deserialize_with = "required")]
    pub required: bool,
}

pub(super) fn yes() -> bool {
    true
}

pub(super) fn required<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    opt_bool(d).map(|b| b.unwrap_or(true))
}

pub(super) fn env_files<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<EnvFile>, D::Error> {
    struct Entry(EnvFile);
    impl<'de> Deserialize<'de> for Entry {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(EntryV)
        }
    }
    struct EntryV;
    impl<'de> Visitor<'de> for EntryV {
        type Value = Entry;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a path or a mapping with path and required")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Entry, E> {
            Ok(Entry(EnvFile {
                path: v.to_string(),
                required: true,
            }))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Entry, A::Error> {
            EnvFile::deserialize(de::value::MapAccessDeserializer::new(map)).map(Entry)
        }
    }
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<EnvFile>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a path or a list of paths")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            EntryV.visit_str(v).map(|e| vec![e.0])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(Entry(e)) = seq.next_element()? {
                out.push(e);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}
