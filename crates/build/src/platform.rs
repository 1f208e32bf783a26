//! The platform berth builds for: this host's, named by the platform build args
//! (`TARGETPLATFORM`, `BUILDARCH`, …); any other is refused with a hint.

use crate::error::{Error, Result};

/// The platform args BuildKit defines, for this host (berth builds for it only).
pub(crate) fn platform_args() -> Vec<(String, String)> {
    let p = berth_image::Platform::host();
    let full = match &p.variant {
        Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
        None => format!("{}/{}", p.os, p.architecture),
    };
    let variant = p.variant.clone().unwrap_or_default();
    let mut out = Vec::new();
    for side in ["TARGET", "BUILD"] {
        out.push((format!("{side}PLATFORM"), full.clone()));
        out.push((format!("{side}OS"), p.os.clone()));
        out.push((format!("{side}ARCH"), p.architecture.clone()));
        out.push((format!("{side}VARIANT"), variant.clone()));
    }
    out
}

/// Refuses a `FROM --platform` other than this host's (no emulation here).
pub(crate) fn check_platform(written: &str, expanded: &str) -> Result<()> {
    let host = berth_image::Platform::host();
    let want = berth_image::Platform::parse(expanded).map_err(|e| Error::Invalid {
        what: "FROM --platform",
        value: written.to_owned(),
        hint: e.to_string(),
    })?;
    if want.os != host.os || want.architecture != host.architecture {
        return Err(Error::Invalid {
            what: "FROM --platform",
            value: expanded.to_owned(),
            hint: format!(
                "berth builds for this host's platform ({}/{}) only; drop --platform or use $BUILDPLATFORM",
                host.os, host.architecture
            ),
        });
    }
    Ok(())
}
