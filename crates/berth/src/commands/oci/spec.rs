//! `berth oci spec`: a starter config.json like runc's.

use std::path::Path;

use anyhow::{Result, bail};

/// Writes `BUNDLE/config.json` with sensible defaults (refuses to overwrite).
pub fn write(bundle: &Path, rootless: bool) -> Result<()> {
    let path = bundle.join("config.json");
    if path.exists() {
        bail!(
            "{} already exists\nhint: remove it first, or pick another --bundle",
            path.display()
        );
    }
    let mut spec = if rootless {
        let mut s = oci_spec::runtime::Spec::rootless(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
        );
        s.set_hostname(Some("berth".into()));
        s
    } else {
        let mut s = oci_spec::runtime::Spec::default();
        s.set_hostname(Some("berth".into()));
        s
    };
    // runc writes 1.0.2-dev; older runtimes (crun 1.8) refuse newer versions in a bundle.
    spec.set_version("1.0.2-dev".into());
    let text = serde_json::to_string_pretty(&spec)?;
    fs_err::write(&path, text + "\n")?;
    Ok(())
}
