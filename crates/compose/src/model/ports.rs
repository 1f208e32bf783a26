//! `ports:` short syntax (`"8080:80"`, `"127.0.0.1:8080:80/udp"`, `"3000-3005"`, `80`) and
//! long syntax (`target`, `published`, `host_ip`, `protocol`, `mode`), normalized to
//! [`Port`] entries in the long form.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::de::{Scalar, opt_scalar_string};

/// One published (or merely declared) container port, in Compose's long syntax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    /// `ingress` (default) or `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Host address to bind (`127.0.0.1`, `::1`); all addresses when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    /// The container port.
    #[serde(deserialize_with = "port_number")]
    pub target: u16,
    /// The host port or range (`"8080"`, `"8000-8010"`); a random port when absent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_scalar_string"
    )]
    pub published: Option<String>,
    /// `tcp` (default), `udp` or `sctp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// A name for the port (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Application protocol hint (`http`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
}

impl Port {
    /// The merge key of the Compose specification: host ip, target, published, protocol.
    pub fn merge_key(&self) -> (Option<&str>, u16, Option<&str>, &str) {
        (
            self.host_ip.as_deref(),
            self.target,
            self.published.as_deref(),
            self.protocol.as_deref().unwrap_or("tcp"),
        )
    }
}

fn port_number<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let Scalar(text) = Scalar::deserialize(d)?;
    parse_port(&text).ok_or_else(|| de::Error::custom(format!("{text:?} is not a port number")))
}

fn parse_port(text: &str) -> Option<u16> {
    text.trim().parse::<u16>().ok().filter(|p| *p != 0)
}

fn parse_range(text: &str) -> Option<(u16, u16)> {
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (parse_port(a)?, parse_port(b)?);
            (a <= b).then_some((a, b))
        }
        None => parse_port(text).map(|p| (p, p)),
    }
}

/// Parses the short syntax; a range of targets yields one entry per port.
pub fn parse_short(spec: &str) -> Result<Vec<Port>, String> {
    let bad = || format!("{spec:?} is not a port mapping");
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((r, p)) => {
            if !matches!(p, "tcp" | "udp" | "sctp") {
                return Err(format!("{spec:?} has an unknown protocol {p:?}"));
            }
            (r, Some(p.to_string()))
        }
        None => (spec, None),
    };
    let (host_ip, rest) = if let Some(r) = rest.strip_prefix('[') {
        let (ip, after) = r.split_once("]:").ok_or_else(bad)?;
        ip.parse::<Ipv6Addr>().map_err(|_| bad())?;
        (Some(ip.to_string()), after)
    } else {
        (None, rest)
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (host_ip, published, target) = match (host_ip, parts.as_slice()) {
        (ip, [target]) => (ip, None, *target),
        (ip, [published, target]) => (ip, Some(*published), *target),
        (None, [ip, published, target]) => (Some((*ip).to_string()), Some(*published), *target),
        (None, [ip @ .., published, target]) => {
            // An IPv6 address written without brackets (`::1:8080:80`).
            let ip = ip.join(":");
            ip.parse::<Ipv6Addr>().map_err(|_| bad())?;
            (Some(ip), Some(*published), *target)
        }
        _ => return Err(bad()),
    };
    if let Some(ip) = &host_ip {
        ip.parse::<IpAddr>().map_err(|_| bad())?;
    }
    let published = published.filter(|p| !p.is_empty());
    let (t0, t1) = parse_range(target).ok_or_else(bad)?;
    let published_range = match published {
        Some(p) => Some(parse_range(p).ok_or_else(bad)?),
        None => None,
    };
    let make = |target: u16, published: Option<String>| Port {
        mode: None,
        host_ip: host_ip.clone(),
        target,
        published,
        protocol: protocol.clone(),
        name: None,
        app_protocol: None,
    };
    if t0 == t1 {
        return Ok(vec![make(t0, published.map(str::to_string))]);
    }
    match published_range {
        None => Ok((t0..=t1).map(|t| make(t, None)).collect()),
        Some((p0, p1)) if p1 - p0 == t1 - t0 => Ok((t0..=t1)
            .zip(p0..=p1)
            .map(|(t, p)| make(t, Some(p.to_string())))
            .collect()),
        Some(_) => Err(format!(
            "{spec:?} maps a range of container ports to a range of another size"
        )),
    }
}

/// Deserializes a `ports:` list (short and long entries mixed).
pub(crate) fn ports<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Port>, D::Error> {
    struct Entry(Vec<Port>);
    impl<'de> Deserialize<'de> for Entry {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(EntryVisitor)
        }
    }
    struct EntryVisitor;
    impl<'de> Visitor<'de> for EntryVisitor {
        type Value = Entry;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a port mapping string or mapping")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Entry, E> {
            parse_short(v).map(Entry).map_err(E::custom)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Entry, E> {
            self.visit_str(&v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Entry, E> {
            self.visit_str(&v.to_string())
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Entry, A::Error> {
            let port = Port::deserialize(de::value::MapAccessDeserializer::new(map))?;
            if let Some(p) = &port.protocol
                && !matches!(p.as_str(), "tcp" | "udp" | "sctp")
            {
                return Err(de::Error::custom(format!("unknown protocol {p:?}")));
            }
            if let Some(m) = &port.mode
                && !matches!(m.as_str(), "ingress" | "host")
            {
                return Err(de::Error::custom(format!(
                    "unknown port mode {m:?} (ingress or host)"
                )));
            }
            Ok(Entry(vec![port]))
        }
    }
    struct ListVisitor;
    impl<'de> Visitor<'de> for ListVisitor {
        type Value = Vec<Port>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of ports")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Vec<Port>, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Port>, A::Error> {
            let mut out = Vec::new();
            while let Some(Entry(ports)) = seq.next_element()? {
                out.extend(ports);
            }
            Ok(out)
        }
    }
    d.deserialize_any(ListVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (Option<String>, u16, Option<String>, Option<String>);

    fn short(spec: &str) -> Vec<Row> {
        parse_short(spec)
            .unwrap()
            .into_iter()
            .map(|p| (p.host_ip, p.target, p.published, p.protocol))
            .collect()
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn short_syntax() {
        assert_eq!(short("80"), vec![(None, 80, None, None)]);
        assert_eq!(short("8080:80"), vec![(None, 80, s("8080"), None)]);
        assert_eq!(
            short("127.0.0.1:8080:80/udp"),
            vec![(s("127.0.0.1"), 80, s("8080"), s("udp"))]
        );
        assert_eq!(
            short("127.0.0.1::80"),
            vec![(s("127.0.0.1"), 80, None, None)]
        );
        assert_eq!(
            short("[::1]:8080:80"),
            vec![(s("::1"), 80, s("8080"), None)]
        );
        assert_eq!(short("::1:8080:80"), vec![(s("::1"), 80, s("8080"), None)]);
        assert_eq!(
            short("3000-3002"),
            vec![
                (None, 3000, None, None),
                (None, 3001, None, None),
                (None, 3002, None, None)
            ]
        );
        assert_eq!(
            short("9090-9091:8080-8081"),
            vec![(None, 8080, s("9090"), None), (None, 8081, s("9091"), None)]
        );
        assert_eq!(
            short("8000-8010:80"),
            vec![(None, 80, s("8000-8010"), None)]
        );
    }

    #[test]
    fn short_syntax_errors() {
        for (spec, msg) in [
            ("80:80:80:80", "\"80:80:80:80\" is not a port mapping"),
            ("http", "\"http\" is not a port mapping"),
            ("70000", "\"70000\" is not a port mapping"),
            ("80/tcpx", "\"80/tcpx\" has an unknown protocol \"tcpx\""),
            ("1.2.3:80:80", "\"1.2.3:80:80\" is not a port mapping"),
            (
                "1-3:1-2",
                "\"1-3:1-2\" maps a range of container ports to a range of another size",
            ),
        ] {
            assert_eq!(parse_short(spec).unwrap_err(), msg);
        }
    }
}
