//! Value types of the service keys that tune the kernel side of a container:
//! `ulimits`, `logging`, `memswap_limit`, `blkio_config` and `cpu_rt_*`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::de::{Scalar, opt_number, string_map};
use super::units::ByteSize;

/// One `ulimits:` entry: `nofile: 20000` or `nofile: {soft: 1024, hard: 2048}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ulimit {
    /// Soft limit.
    pub soft: i64,
    /// Hard limit.
    pub hard: i64,
}

impl<'de> Deserialize<'de> for Ulimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ulimit;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a mapping with soft and hard")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ulimit, E> {
                Ok(Ulimit { soft: v, hard: v })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ulimit, E> {
                let v = i64::try_from(v).map_err(|_| E::custom("ulimit too large"))?;
                Ok(Ulimit { soft: v, hard: v })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Ulimit, E> {
                let n = v
                    .trim()
                    .parse()
                    .map_err(|_| E::custom(format!("{v:?} is not a number")))?;
                Ok(Ulimit { soft: n, hard: n })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ulimit, A::Error> {
                let (mut soft, mut hard) = (None, None);
                while let Some(k) = map.next_key::<String>()? {
                    let Scalar(v) = map.next_value()?;
                    let n: i64 = v
                        .trim()
                        .parse()
                        .map_err(|_| de::Error::custom(format!("{v:?} is not a number")))?;
                    match k.as_str() {
                        "soft" => soft = Some(n),
                        "hard" => hard = Some(n),
                        other => return Err(de::Error::unknown_field(other, &["soft", "hard"])),
                    }
                }
                match (soft, hard) {
                    (Some(soft), Some(hard)) => Ok(Ulimit { soft, hard }),
                    _ => Err(de::Error::custom("a ulimit needs both soft and hard")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// `logging:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logging {
    /// Log driver (`json-file`, `none`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options (`max-size`, `max-file`, …).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "string_map"
    )]
    pub options: BTreeMap<String, String>,
}

/// `memswap_limit`: a byte size, or -1 for unlimited swap.
pub(crate) fn swap_limit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let Some(Scalar(text)) = Option::<Scalar>::deserialize(d)? else {
        return Ok(None);
    };
    if text.trim() == "-1" {
        return Ok(Some(-1));
    }
    ByteSize::parse(&text)
        .and_then(|b| i64::try_from(b.0).ok())
        .map(Some)
        .ok_or_else(|| de::Error::custom(format!("{text:?} is not a byte size (like 1g) or -1")))
}

/// `cpu_rt_period`/`cpu_rt_runtime`: microseconds, or a duration (`400ms`).
pub(crate) fn micros<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let Some(Scalar(text)) = Option::<Scalar>::deserialize(d)? else {
        return Ok(None);
    };
    if let Ok(n) = text.trim().parse::<i64>() {
        return Ok(Some(n));
    }
    berth_dockerfile::parse_go_duration(text.trim())
        .and_then(|d| i64::try_from(d.as_micros()).ok())
        .map(Some)
        .ok_or_else(|| {
            de::Error::custom(format!(
                "{text:?} is not microseconds or a duration (like 400ms)"
            ))
        })
}

/// `blkio_config:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioConfig {
    /// Relative weight (10 … 1000).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_number"
    )]
    pub weight: Option<u16>,
    /// Per-device weights.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weight_device: Vec<BlkioWeight>,
    /// Bytes per second read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_read_bps: Vec<BlkioRate>,
    /// Operations per second read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_read_iops: Vec<BlkioRate>,
    /// Bytes per second written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_write_bps: Vec<BlkioRate>,
    /// Operations per second written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_write_iops: Vec<BlkioRate>,
}

/// One `weight_device` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioWeight {
    /// The device's path.
    pub path: String,
    /// Its weight.
    #[serde(deserialize_with = "number")]
    pub weight: u16,
}

/// One throttle entry: a device and a rate (a byte size such as `12mb` for bps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioRate {
    /// The device's path.
    pub path: String,
    /// The rate.
    pub rate: ByteSize,
}

fn number<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    opt_number(d)?.ok_or_else(|| de::Error::custom("a number is needed"))
}
