//! Lenient deserializers for the shapes Compose accepts: a string or a list, a list of
//! `KEY=VALUE` or a map, numbers given as strings (interpolation produces strings).
//!
//! They use visitors rather than `#[serde(untagged)]` so that key paths in errors and
//! unknown-key warnings stay exact inside nested values.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

/// A scalar (string, number, bool) as text.
pub(crate) struct Scalar(pub String);

impl<'de> de::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor).map(Scalar)
    }
}

struct ScalarVisitor;

impl Visitor<'_> for ScalarVisitor {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number or boolean")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// A scalar or null (`KEY:` in an environment map).
struct NullableScalar(Option<String>);

impl<'de> de::Deserialize<'de> for NullableScalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<Scalar>::deserialize(d).map(|o| NullableScalar(o.map(|s| s.0)))
    }
}

use serde::Deserialize;

/// A scalar as an optional string (numbers and bools are written as text).
pub(crate) fn opt_scalar_string<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    Option::<Scalar>::deserialize(d).map(|o| o.map(|s| s.0))
}

/// Parses a value given as a number or as a numeric string.
pub(crate) fn opt_number<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
{
    let Some(Scalar(text)) = Option::<Scalar>::deserialize(d)? else {
        return Ok(None);
    };
    text.trim()
        .parse()
        .map(Some)
        .map_err(|_| de::Error::custom(format!("{text:?} is not a number")))
}

/// A bool given as a YAML bool or as the strings `true`/`false` (after interpolation).
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let Some(Scalar(text)) = Option::<Scalar>::deserialize(d)? else {
        return Ok(None);
    };
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => Ok(Some(true)),
        "false" | "no" | "off" => Ok(Some(false)),
        _ => Err(de::Error::custom(format!("{text:?} is not a boolean"))),
    }
}

/// A bool defaulting to false.
pub(crate) fn bool_or_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    opt_bool(d).map(|b| b.unwrap_or(false))
}

/// `"a b"` or `["a", "b"]`; a string is split as a shell would when `split` is set.
fn string_or_list<'de, D: Deserializer<'de>>(
    d: D,
    split: bool,
) -> Result<Option<Vec<String>>, D::Error> {
    struct V(bool);
    impl<'de> Visitor<'de> for V {
        type Value = Option<Vec<String>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or a list of strings")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if self.0 {
                shell_words::split(v)
                    .map(Some)
                    .map_err(|_| E::custom(format!("{v:?} has an unterminated quote")))
            } else {
                Ok(Some(vec![v.to_string()]))
            }
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(vec![v.to_string()]))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(vec![v.to_string()]))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(Scalar(s)) = seq.next_element()? {
                out.push(s);
            }
            Ok(Some(out))
        }
    }
    d.deserialize_any(V(split))
}

/// `command`/`entrypoint`: a string is split into words as Docker Compose does.
pub(crate) fn command<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    string_or_list(d, true)
}

/// `dns`, `tmpfs`, `profiles`…: one string or a list, never split.
pub(crate) fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    string_or_list(d, false).map(Option::unwrap_or_default)
}

/// `environment`, `build.args`: `["K=V", "K"]` or `{K: V, K: null}`.
pub(crate) fn env_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Option<String>>, D::Error> {
    list_or_map(d, |entry| match entry.split_once('=') {
        Some((k, v)) => (k.to_string(), Some(v.to_string())),
        None => (entry.to_string(), None),
    })
}

/// `labels`: `["k=v", "k"]` or `{k: v}`; a missing value is the empty string.
pub(crate) fn label_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let map = list_or_map(d, |entry| match entry.split_once('=') {
        Some((k, v)) => (k.to_string(), Some(v.to_string())),
        None => (entry.to_string(), None),
    })?;
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// `driver_opts` and other plain maps of scalars.
pub(crate) fn string_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    label_map(d)
}

fn list_or_map<'de, D, F>(d: D, split: F) -> Result<BTreeMap<String, Option<String>>, D::Error>
where
    D: Deserializer<'de>,
    F: Fn(&str) -> (String, Option<String>),
{
    struct V<F>(F);
    impl<'de, F: Fn(&str) -> (String, Option<String>)> Visitor<'de> for V<F> {
        type Value = BTreeMap<String, Option<String>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of KEY=VALUE strings or a mapping")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(Scalar(entry)) = seq.next_element()? {
                let (k, v) = (self.0)(&entry);
                out.insert(k, v);
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = map.next_key::<Scalar>()? {
                let NullableScalar(v) = map.next_value()?;
                out.insert(key.0, v);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V(split))
}

/// `extra_hosts`: `["host:ip", "host=ip"]` or `{host: ip}` / `{host: [ip, ip]}`, normalized to
/// `host=ip` entries (the form that keeps IPv6 addresses unambiguous).
pub(crate) fn extra_hosts<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of host:ip strings or a mapping")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(Scalar(entry)) = seq.next_element()? {
                let pair = entry.split_once('=').or_else(|| entry.split_once(':'));
                match pair {
                    Some((h, ip)) if !h.is_empty() && !ip.is_empty() => {
                        out.push(format!("{h}={ip}"));
                    }
                    _ => {
                        return Err(de::Error::custom(format!(
                            "{entry:?} is not a host:ip entry"
                        )));
                    }
                }
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(Scalar(host)) = map.next_key()? {
                let ips = map.next_value_seed(ListSeed)?;
                for ip in ips {
                    out.push(format!("{host}={ip}"));
                }
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

struct ListSeed;

impl<'de> de::DeserializeSeed<'de> for ListSeed {
    type Value = Vec<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<String>, D::Error> {
        list(d)
    }
}

/// A map whose values may be null (`volumes: {data: }`): null becomes the default.
pub(crate) fn nullable_map<'de, D, T>(d: D) -> Result<BTreeMap<String, T>, D::Error>
where
    D: Deserializer<'de>,
    T: de::Deserialize<'de> + Default,
{
    struct V<T>(PhantomData<T>);
    impl<'de, T: de::Deserialize<'de> + Default> Visitor<'de> for V<T> {
        type Value = BTreeMap<String, T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(Scalar(key)) = map.next_key()? {
                let value: Option<T> = map.next_value()?;
                out.insert(key, value.unwrap_or_default());
            }
            Ok(out)
        }
    }
    d.deserialize_any(V(PhantomData))
}

/// True for `false` (serde `skip_serializing_if`).
#[allow(clippy::trivially_copy_pass_by_ref)]
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}
