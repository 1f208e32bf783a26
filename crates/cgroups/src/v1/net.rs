//! v1 net_cls and net_prio controllers (they have no v2 counterpart).

use std::path::Path;

use oci_spec::runtime::LinuxNetwork;

use crate::{Error, file};

/// Writes net_cls.classid.
pub(crate) fn apply_classid(dir: &Path, n: &LinuxNetwork) -> Result<(), Error> {
    if let Some(id) = n.class_id() {
        file::write(&dir.join("net_cls.classid"), &id.to_string())?;
    }
    Ok(())
}

/// Writes one `ifname priority` line per interface to net_prio.ifpriomap.
pub(crate) fn apply_priorities(dir: &Path, n: &LinuxNetwork) -> Result<(), Error> {
    for p in n.priorities().iter().flatten() {
        if p.name().is_empty() || p.name().contains(char::is_whitespace) {
            return Err(Error::InvalidValue {
                field: "linux.resources.network.priorities.name".into(),
                value: p.name().clone(),
                reason: "expected an interface name".into(),
            });
        }
        file::write(
            &dir.join("net_prio.ifpriomap"),
            &format!("{} {}", p.name(), p.priority()),
        )?;
    }
    Ok(())
}
