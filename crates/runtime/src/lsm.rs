//! AppArmor and SELinux labels, applied only where the host has them enabled.

use crate::error::{Error, Result};

/// Whether SELinux is enabled on this host.
pub fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

/// Whether AppArmor is enabled on this host.
pub fn apparmor_enabled() -> bool {
    fs_err::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim_start().starts_with('Y'))
}

/// Arranges for the next execve to run under the AppArmor profile.
pub fn apply_apparmor(profile: &str) -> Result<()> {
    // Like runc and Docker: a profile on a host without AppArmor is not applied.
    if profile.is_empty() || !apparmor_enabled() {
        return Ok(());
    }
    let attr = if std::path::Path::new("/proc/self/attr/apparmor/exec").exists() {
        "/proc/self/attr/apparmor/exec"
    } else {
        "/proc/self/attr/exec"
    };
    fs_err::write(attr, format!("exec {profile}"))
        .map_err(|e| Error::io("setting AppArmor profile via", attr, e))
}

/// Arranges for the next execve to run with the SELinux process label.
pub fn apply_selinux(label: &str) -> Result<()> {
    // Like runc: a label on a host without SELinux is not applied.
    if label.is_empty() || !selinux_enabled() {
        return Ok(());
    }
    fs_err::write("/proc/self/attr/exec", label)
        .map_err(|e| Error::io("setting SELinux label via", "/proc/self/attr/exec", e))
}
