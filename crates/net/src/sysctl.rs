//! The few sysctls networking needs.

use std::path::Path;

use crate::error::{Error, Result};

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

/// Checks that the host has IPv6 switched on, before a dual-stack network is
/// made: with `disable_ipv6` set (or IPv6 not built in) a bridge cannot hold
/// an IPv6 address, and the kernel's own error (EACCES) would say nothing.
pub fn ipv6_available() -> Result<()> {
    let path = Path::new("/proc/sys/net/ipv6/conf/all/disable_ipv6");
    let value = match fs_err::read_to_string(path) {
        Ok(v) => v,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Unsupported {
                feature: "IPv6",
                detail: "the kernel has no IPv6 support (no /proc/sys/net/ipv6)".into(),
                hint: "load the ipv6 module or leave out --ipv6",
            });
        }
        Err(e) => return Err(e.into()),
    };
    if value.trim() != "0" {
        return Err(Error::Unsupported {
            feature: "IPv6",
            detail: "it is disabled (net.ipv6.conf.all.disable_ipv6 = 1)".into(),
            hint: "enable it with `sysctl -w net.ipv6.conf.all.disable_ipv6=0` or leave out --ipv6",
        });
    }
    Ok(())
}

/// Turns on IPv6 forwarding (`net.ipv6.conf.all.forwarding`, the only switch
/// for forwarding IPv6 between interfaces), which a dual-stack network that is
/// not `--internal` needs for its containers to reach anything beyond their
/// bridge. Like IPv4 forwarding it is left on afterwards.
///
/// With forwarding on, the kernel ignores router advertisements on interfaces
/// whose `accept_ra` is 1, and a host that learnt its IPv6 route that way would
/// lose it when the route expires; such interfaces are set to 2 first (take
/// advertisements even when forwarding), so the host keeps routing as before.
pub fn enable_ipv6_forward() -> Result<()> {
    let conf = Path::new("/proc/sys/net/ipv6/conf");
    let all = conf.join("all/forwarding");
    if fs_err::read_to_string(&all).is_ok_and(|v| v.trim() == "1") {
        return Ok(());
    }
    ipv6_available()?;
    let refused = |e: std::io::Error| Error::Unsupported {
        feature: "IPv6 forwarding",
        detail: format!("turning on net.ipv6.conf.all.forwarding: {e}"),
        hint: "enable it with `sysctl -w net.ipv6.conf.all.forwarding=1`, or create the network with --internal",
    };
    for entry in fs_err::read_dir(conf).map_err(refused)?.flatten() {
        let name = entry.file_name();
        if name == "all" || name == "default" || name == "lo" {
            continue;
        }
        let accept_ra = entry.path().join("accept_ra");
        if fs_err::read_to_string(&accept_ra).is_ok_and(|v| v.trim() == "1") {
            // An interface that vanished meanwhile is no concern of ours.
            let _ = fs_err::write(&accept_ra, "2");
        }
    }
    match set(&all, "1") {
        Err(Error::Io(e)) => Err(refused(e)),
        other => other,
    }
}

/// Lets bridge `iface` (berth's own) hold IPv6 addresses even where the host's
/// default for new interfaces is `disable_ipv6 = 1`. The setting dies with the
/// interface.
pub fn enable_ipv6_on(iface: &str) -> Result<()> {
    set(
        &Path::new("/proc/sys/net/ipv6/conf")
            .join(iface)
            .join("disable_ipv6"),
        "0",
    )
}
