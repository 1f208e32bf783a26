//! v2 memory controller: memory.max, memory.low, memory.swap.max; memory.events.

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use crate::stats::Stats;
use crate::{Error, file};

fn limit_value(v: i64) -> String {
    if v < 0 { "max".into() } else { v.to_string() }
}

/// memory.swap.max for a spec: OCI's `swap` is memory+swap (v1 memsw), v2 limits swap alone.
pub(crate) fn swap_max(limit: Option<i64>, swap: Option<i64>) -> Result<Option<String>, Error> {
    let bad = |reason: String| Error::InvalidValue {
        field: "linux.resources.memory.swap".into(),
        value: swap.unwrap_or(0).to_string(),
        reason,
    };
    match swap {
        None | Some(0) => Ok(None),
        Some(s) if s < 0 => Ok(Some("max".into())),
        Some(s) => match limit {
            Some(l) if l > 0 => {
                if s < l {
                    Err(bad(format!(
                        "memory+swap must not be lower than the memory limit {l}"
                    )))
                } else {
                    Ok(Some((s - l).to_string()))
                }
            }
            _ => Err(bad("a swap limit needs a memory limit".into())),
        },
    }
}

/// Writes every memory limit that v2 has. Kernel memory, swappiness and the OOM-killer switch
/// have no v2 files and are ignored, as the other runtimes do.
pub(crate) fn apply(dir: &Path, m: &LinuxMemory) -> Result<(), Error> {
    let swap = swap_max(m.limit(), m.swap())?;
    if let Some(l) = m.limit() {
        file::write(&dir.join("memory.max"), &limit_value(l))?;
    }
    if let Some(s) = swap {
        let path = dir.join("memory.swap.max");
        if !file::write_if_exists(&path, &s)? && s != "0" {
            return Err(Error::Unsupported {
                field: "linux.resources.memory.swap".into(),
                reason: format!(
                    "{} does not exist (swap accounting is off)\nhint: drop the swap limit",
                    path.display()
                ),
            });
        }
    }
    if let Some(r) = m.reservation() {
        file::write(&dir.join("memory.low"), &limit_value(r))?;
    }
    Ok(())
}

/// Fills the memory part of `stats`.
pub(crate) fn stats(dir: &Path, stats: &mut Stats) -> Result<(), Error> {
    let f = |n: &str| file::read_u64_or_zero(&dir.join(n));
    let events = file::read_keyed(&dir.join("memory.events"))?;
    let m = &mut stats.memory;
    m.usage.usage = f("memory.current")?;
    m.usage.limit = f("memory.max")?;
    m.usage.max = f("memory.peak")?;
    m.usage.failcnt = events.get("max").copied().unwrap_or(0);
    // Report swap as v1 did (memory + swap) so consumers see one meaning on both versions.
    let swap_current = f("memory.swap.current")?;
    let swap_max = f("memory.swap.max")?;
    m.swap.usage = m.usage.usage.saturating_add(swap_current);
    m.swap.limit = m.usage.limit.saturating_add(swap_max);
    m.raw = file::read_keyed(&dir.join("memory.stat"))?;
    m.cache = m.raw.get("file").copied().unwrap_or(0);
    Ok(())
}

/// OOM kills recorded in memory.events.
pub(crate) fn oom_kill_count(dir: &Path) -> Result<u64, Error> {
    Ok(file::read_keyed(&dir.join("memory.events"))?
        .get("oom_kill")
        .copied()
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_is_converted_from_memsw() {
        assert_eq!(swap_max(Some(100), Some(300)).unwrap().unwrap(), "200");
        assert_eq!(swap_max(Some(100), Some(100)).unwrap().unwrap(), "0");
        assert_eq!(swap_max(Some(100), Some(-1)).unwrap().unwrap(), "max");
        assert!(swap_max(Some(100), None).unwrap().is_none());
        assert!(swap_max(Some(100), Some(50)).is_err());
        assert!(swap_max(None, Some(50)).is_err());
    }
}
