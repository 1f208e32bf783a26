//! The five capability sets of the container's process.

use std::str::FromStr;

use caps::{CapSet, Capability, CapsHashSet};
use oci_spec::runtime::{Capabilities, LinuxCapabilities};

use crate::error::{Error, Result};

fn to_caps(set: Option<&Capabilities>) -> CapsHashSet {
    // Capabilities the kernel lacks, or that the runtime itself cannot hold (root without
    // CAP_SYS_RESOURCE on some hosts), are left out rather than failing capset after start.
    let supported: CapsHashSet = caps::read(None, CapSet::Bounding)
        .unwrap_or_else(|_| caps::runtime::thread_all_supported());
    set.into_iter()
        .flatten()
        .filter_map(|c| Capability::from_str(&format!("CAP_{c}")).ok())
        // Capabilities this kernel does not know are ignored, as runc does.
        .filter(|c| supported.contains(c))
        .collect()
}

fn cap_err(what: &str, e: caps::errors::CapsError) -> Error {
    Error::Init(format!("setting capabilities ({what}): {e}"))
}

/// Drops everything outside the bounding set. Needs CAP_SETPCAP, so it runs before the
/// switch to the container's user.
pub fn drop_bounding(c: Option<&LinuxCapabilities>) -> Result<()> {
    let keep = to_caps(c.and_then(|c| c.bounding().as_ref()));
    for cap in caps::runtime::thread_all_supported() {
        if !keep.contains(&cap) {
            // One prctl per capability (caps::drop re-reads the whole set each time).
            // SAFETY: PR_CAPBSET_DROP with a capability index.
            let r = unsafe {
                libc::prctl(
                    libc::PR_CAPBSET_DROP,
                    libc::c_ulong::from(cap.index()),
                    0,
                    0,
                    0,
                )
            };
            if r != 0 {
                return Err(Error::Init(format!(
                    "dropping {cap} from the bounding set: {}",
                    std::io::Error::last_os_error()
                )));
            }
        }
    }
    Ok(())
}

/// Sets effective, permitted, inheritable and ambient sets (after the uid switch).
pub fn apply(c: Option<&LinuxCapabilities>) -> Result<()> {
    let get =
        |f: fn(&LinuxCapabilities) -> &Option<Capabilities>| to_caps(c.and_then(|c| f(c).as_ref()));
    let permitted = get(LinuxCapabilities::permitted);
    let effective = get(LinuxCapabilities::effective);
    let inheritable = get(LinuxCapabilities::inheritable);
    let ambient = get(LinuxCapabilities::ambient);
    // Order matters: inheritable while the old permitted set still allows it, then
    // effective before permitted (effective must stay a subset of permitted).
    caps::set(None, CapSet::Inheritable, &inheritable).map_err(|e| cap_err("inheritable", e))?;
    let interim: CapsHashSet = effective.intersection(&permitted).copied().collect();
    caps::set(None, CapSet::Effective, &interim).map_err(|e| cap_err("effective", e))?;
    caps::set(None, CapSet::Permitted, &permitted).map_err(|e| cap_err("permitted", e))?;
    caps::set(None, CapSet::Effective, &effective).map_err(|e| cap_err("effective", e))?;
    caps::clear(None, CapSet::Ambient).map_err(|e| cap_err("ambient", e))?;
    for cap in ambient {
        // A cap not in permitted and inheritable cannot be ambient; runc warns and skips.
        if permitted.contains(&cap) && inheritable.contains(&cap) {
            caps::raise(None, CapSet::Ambient, cap).map_err(|e| cap_err("ambient", e))?;
        }
    }
    Ok(())
}
