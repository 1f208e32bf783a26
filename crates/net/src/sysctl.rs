//! The few sysctls networking needs.

use std::path::Path;

use crate::error::Result;

fn set(path: &Path, value: &str) -> Result<()> {
    let current = fs_err::read_to_string(path)?;
    if current.trim() != value {
        fs_err::write(path, value)?;
    }
    Ok(())
}

/// Turns on IPv4 forwarding (needed for any traffic leaving a bridge). It is
/// left on afterwards: other software may rely on it as well.
pub fn enable_ip_forward() -> Result<()> {
    set(Path::new("/proc/sys/net/ipv4/ip_forward"), "1")
}

/// Lets packets from 127.0.0.0/8 be routed out of `iface`, so a port
/// published on the host's loopback can be DNATed to a container; the
/// masquerade rule then gives them the bridge's address. The setting dies
/// with the interface.
pub fn enable_route_localnet(iface: &str) -> Result<()> {
    set(
        &Path::new("/proc/sys/net/ipv4/conf")
            .join(iface)
            .join("route_localnet"),
        "1",
    )
}
