//! Docker's value syntaxes: sizes (`512m`, `1g`), CPU counts (`1.5`), ulimits
//! (`nofile=1024:2048`).

use crate::{Error, Result};

/// Parses a size with an optional binary unit `b k m g t` (any case, optional trailing
/// `b`, as Docker's `RAMInBytes`): `64m` is 64 MiB.
pub fn parse_bytes(flag: &'static str, s: &str) -> Result<i64> {
    let bad = || Error::Invalid {
        flag,
        value: s.to_owned(),
        hint: "use a number with an optional unit b, k, m, g or t (e.g. 512m)".into(),
    };
    let lower = s.trim().to_ascii_lowercase();
    let num_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(num_end);
    let unit = unit
        .strip_suffix('b')
        .filter(|u| !u.is_empty())
        .unwrap_or(unit);
    let mult: f64 = match unit {
        "" | "b" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    if !n.is_finite() || n < 0.0 {
        return Err(bad());
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok((n * mult) as i64)
}

/// Parses `--memory-swap`: a size, or `-1` for unlimited swap.
pub fn parse_swap(s: &str) -> Result<i64> {
    if s.trim() == "-1" {
        return Ok(-1);
    }
    parse_bytes("--memory-swap", s)
}

/// Parses `--cpus 1.5` into nano-CPUs.
pub fn parse_cpus(s: &str) -> Result<i64> {
    let bad = || Error::Invalid {
        flag: "--cpus",
        value: s.to_owned(),
        hint: "use a positive number of CPUs, e.g. 1.5".into(),
    };
    let n: f64 = s.trim().parse().map_err(|_| bad())?;
    if !n.is_finite() || n <= 0.0 {
        return Err(bad());
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok((n * 1e9) as i64)
}

/// One `--ulimit name=soft[:hard]`: the OCI rlimit type (`RLIMIT_NOFILE`), soft, hard.
pub fn parse_ulimit(s: &str) -> Result<(String, u64, u64)> {
    let bad = |why: &str| Error::Invalid {
        flag: "--ulimit",
        value: s.to_owned(),
        hint: format!("{why}; use name=soft[:hard], e.g. nofile=1024:2048"),
    };
    let (name, vals) = s.split_once('=').ok_or_else(|| bad("missing ="))?;
    const NAMES: &[&str] = &[
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
        "as",
    ];
    if !NAMES.contains(&name) {
        return Err(bad("unknown limit name"));
    }
    let num = |v: &str| -> Result<u64> {
        if v == "-1" || v == "unlimited" {
            return Ok(u64::MAX);
        }
        v.parse().map_err(|_| bad("not a number"))
    };
    let (soft, hard) = match vals.split_once(':') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(vals)?, num(vals)?),
    };
    if soft > hard {
        return Err(bad("the soft limit is above the hard limit"));
    }
    Ok((format!("RLIMIT_{}", name.to_ascii_uppercase()), soft, hard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_binary_and_case_free() {
        assert_eq!(parse_bytes("-m", "64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("-m", "1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("-m", "512kb").unwrap(), 512 << 10);
        assert_eq!(parse_bytes("-m", "100").unwrap(), 100);
        assert_eq!(parse_bytes("-m", "1.5k").unwrap(), 1536);
        let e = parse_bytes("-m", "12q").unwrap_err().to_string();
        assert!(e.contains("12q"), "{e}");
        assert!(parse_bytes("-m", "").is_err());
        assert!(parse_bytes("-m", "m").is_err());
    }

    #[test]
    fn cpus_and_ulimits() {
        assert_eq!(parse_cpus("1.5").unwrap(), 1_500_000_000);
        assert!(parse_cpus("0").is_err());
        assert_eq!(
            parse_ulimit("nofile=1024:2048").unwrap(),
            ("RLIMIT_NOFILE".into(), 1024, 2048)
        );
        assert_eq!(
            parse_ulimit("nproc=10").unwrap(),
            ("RLIMIT_NPROC".into(), 10, 10)
        );
        assert!(parse_ulimit("nofile=2:1").is_err());
        assert!(parse_ulimit("bogus=1").is_err());
    }
}
