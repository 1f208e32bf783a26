//! Compose's units: durations written as Go durations (`1m30s`, `500ms`, `1.5h`) and byte
//! sizes (`512M`, `1gb`, `1024`).

use std::fmt;
use std::time::Duration as StdDuration;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use super::de::Scalar;

/// A Compose duration; printed in Go's canonical form (`1m30s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub StdDuration);

impl Duration {
    /// Parses `1h2m3.5s`, `250ms`, `10us`, `0` (Go's syntax, as Docker reads it); a bare
    /// number means seconds.
    pub fn parse(text: &str) -> Option<Duration> {
        let s = text.trim();
        if let Ok(secs) = s.parse::<u64>() {
            return Some(Duration(StdDuration::from_secs(secs)));
        }
        berth_dockerfile::parse_go_duration(s).map(Duration)
    }
}

impl fmt::Display for Duration {
    /// Go's `time.Duration.String()` shape: `1h2m3s`, `1m30s`, `1.5s`, `500ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&berth_engine::containers::health::go_duration(self.0))
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Scalar(text) = Scalar::deserialize(d)?;
        Duration::parse(&text)
            .ok_or_else(|| de::Error::custom(format!("{text:?} is not a duration (like 1m30s)")))
    }
}

/// A size in bytes; accepts `512M`, `1.5g`, `64kb`, `1024`; printed as a plain number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// Parses a byte size with an optional unit (b, k, m, g, t; an optional trailing `b`).
    pub fn parse(text: &str) -> Option<ByteSize> {
        let s = text.trim().to_ascii_lowercase();
        let num_len = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let number: f64 = s[..num_len].parse().ok()?;
        let unit = s[num_len..].trim();
        let unit = unit.strip_suffix('b').unwrap_or(unit);
        let unit = unit.strip_suffix('i').unwrap_or(unit);
        let mult: f64 = match unit {
            "" => 1.0,
            "k" => 1024.0,
            "m" => 1024.0 * 1024.0,
            "g" => 1024.0 * 1024.0 * 1024.0,
            "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            _ => return None,
        };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(ByteSize((number * mult).round() as u64))
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Scalar(text) = Scalar::deserialize(d)?;
        ByteSize::parse(&text)
            .ok_or_else(|| de::Error::custom(format!("{text:?} is not a byte size (like 512M)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_like_go() {
        for (input, secs_ms, printed) in [
            ("1m30s", 90_000, "1m30s"),
            ("10s", 10_000, "10s"),
            ("1h", 3_600_000, "1h0m0s"),
            ("500ms", 500, "500ms"),
            ("1.5s", 1_500, "1.5s"),
            ("2h3m4s", 7_384_000, "2h3m4s"),
            ("30", 30_000, "30s"),
            ("0", 0, "0s"),
            ("1m", 60_000, "1m0s"),
        ] {
            let d = Duration::parse(input).unwrap();
            assert_eq!(d.0.as_millis(), secs_ms, "{input}");
            assert_eq!(d.to_string(), printed, "{input}");
            assert_eq!(Duration::parse(printed), Some(d), "reparse {printed}");
        }
        for bad in ["", "abc", "10x", "s", "1m30"] {
            assert_eq!(Duration::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn byte_sizes() {
        for (input, bytes) in [
            ("512M", 536_870_912),
            ("512m", 536_870_912),
            ("1g", 1_073_741_824),
            ("1gb", 1_073_741_824),
            ("64k", 65_536),
            ("1024", 1024),
            ("100b", 100),
            ("1.5G", 1_610_612_736),
        ] {
            assert_eq!(ByteSize::parse(input), Some(ByteSize(bytes)), "{input}");
        }
        assert_eq!(ByteSize::parse("12q"), None);
        assert_eq!(ByteSize::parse("lots"), None);
    }
}
