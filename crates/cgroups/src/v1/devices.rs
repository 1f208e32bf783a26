//! v1 devices controller: devices.allow / devices.deny, in the spec's order.

use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::{Error, file};

/// Checks an access string: only `r`, `w` and `m`; empty means all three.
pub(crate) fn access(rule: &LinuxDeviceCgroup) -> Result<String, Error> {
    let a = rule.access().as_deref().unwrap_or("");
    if !a.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        return Err(Error::InvalidValue {
            field: "linux.resources.devices.access".into(),
            value: a.into(),
            reason: "expected a combination of r, w and m".into(),
        });
    }
    Ok(if a.is_empty() { "rwm".into() } else { a.into() })
}

/// The devices.allow/deny line for a rule (`c 1:3 rwm`, `a *:* rwm`), or `None` for rules the
/// devices controller cannot express (FIFOs are not devices to it).
pub(crate) fn line(rule: &LinuxDeviceCgroup) -> Result<Option<String>, Error> {
    let ty = match rule.typ().unwrap_or(LinuxDeviceType::A) {
        LinuxDeviceType::A => "a",
        LinuxDeviceType::B => "b",
        LinuxDeviceType::C | LinuxDeviceType::U => "c",
        LinuxDeviceType::P => return Ok(None),
    };
    let num = |n: Option<i64>| match n {
        Some(n) if n >= 0 => n.to_string(),
        _ => "*".to_string(),
    };
    Ok(Some(format!(
        "{ty} {}:{} {}",
        num(rule.major()),
        num(rule.minor()),
        access(rule)?
    )))
}

/// Resets the cgroup to deny everything, then applies each rule in order.
pub(crate) fn apply(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<(), Error> {
    // Validate every rule before the first write so a bad spec changes nothing.
    let lines = rules
        .iter()
        .map(|r| Ok(line(r)?.map(|l| (r.allow(), l))))
        .collect::<Result<Vec<_>, Error>>()?;
    file::write(&dir.join("devices.deny"), "a")?;
    for (allow, l) in lines.into_iter().flatten() {
        let name = if allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        file::write(&dir.join(name), &l)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    #[test]
    fn rule_lines() {
        let all = LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .build()
            .unwrap();
        assert_eq!(line(&all).unwrap().unwrap(), "a *:* rwm");
        let null = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::C)
            .major(1)
            .minor(3)
            .access("rw")
            .build()
            .unwrap();
        assert_eq!(line(&null).unwrap().unwrap(), "c 1:3 rw");
        let any_minor = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::B)
            .major(8)
            .build()
            .unwrap();
        assert_eq!(line(&any_minor).unwrap().unwrap(), "b 8:* rwm");
        let fifo = LinuxDeviceCgroupBuilder::default()
            .typ(LinuxDeviceType::P)
            .build()
            .unwrap();
        assert!(line(&fifo).unwrap().is_none());
        let bad = LinuxDeviceCgroupBuilder::default()
            .access("rx")
            .build()
            .unwrap();
        assert!(
            line(&bad)
                .unwrap_err()
                .to_string()
                .contains("linux.resources.devices.access")
        );
    }
}
