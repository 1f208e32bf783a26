//! v1 memory controller: limit, soft limit, memory+swap, kernel memory, swappiness, OOM killer.

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use crate::stats::{MemoryEntry, Stats};
use crate::{Error, file};

const LIMIT: &str = "memory.limit_in_bytes";
const MEMSW: &str = "memory.memsw.limit_in_bytes";

/// Writes every memory limit the spec sets.
pub(crate) fn apply(dir: &Path, m: &LinuxMemory) -> Result<(), Error> {
    set_limits(dir, m.limit(), m.swap())?;
    if let Some(r) = m.reservation() {
        file::write(&dir.join("memory.soft_limit_in_bytes"), &r.to_string())?;
    }
    // Kernel memory limits are deprecated (5.4) and refused by recent kernels; runc ignores
    // them too. Write them where the kernel still takes them, never fail because of them.
    for (name, v) in [
        ("memory.kmem.limit_in_bytes", m.kernel()),
        ("memory.kmem.tcp.limit_in_bytes", m.kernel_tcp()),
    ] {
        if let Some(v) = v {
            match file::write_if_exists(&dir.join(name), &v.to_string()) {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EOPNOTSUPP | libc::EINVAL | libc::EBUSY)
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(Error::InvalidValue {
                field: "linux.resources.memory.swappiness".into(),
                value: s.to_string(),
                reason: "must be between 0 and 100".into(),
            });
        }
        file::write(&dir.join("memory.swappiness"), &s.to_string())?;
    }
    if m.disable_oom_killer() == Some(true) {
        file::write(&dir.join("memory.oom_control"), "1")?;
    }
    Ok(())
}

/// memory.limit_in_bytes must never exceed memory.memsw.limit_in_bytes, so the order of the
/// two writes depends on whether the combined limit grows or shrinks.
fn set_limits(dir: &Path, limit: Option<i64>, swap: Option<i64>) -> Result<(), Error> {
    let memsw = dir.join(MEMSW);
    let Some(swap) = swap else {
        if let Some(l) = limit {
            file::write(&dir.join(LIMIT), &l.to_string())?;
        }
        return Ok(());
    };
    let Some(current) = file::read_u64_opt(&memsw)? else {
        return Err(Error::Unsupported {
            field: "linux.resources.memory.swap".into(),
            reason: format!(
                "{} does not exist (swap accounting is off)\nhint: boot the kernel with swapaccount=1, or drop the swap limit",
                memsw.display()
            ),
        });
    };
    if let (Some(l), true) = (limit, swap >= 0) {
        if l >= 0 && swap < l {
            return Err(Error::InvalidValue {
                field: "linux.resources.memory.swap".into(),
                value: swap.to_string(),
                reason: format!("memory+swap must not be lower than the memory limit {l}"),
            });
        }
    }
    let grows = swap < 0 || u64::try_from(swap).is_ok_and(|s| s > current);
    if grows {
        file::write(&memsw, &swap.to_string())?;
        if let Some(l) = limit {
            file::write(&dir.join(LIMIT), &l.to_string())?;
        }
    } else {
        if let Some(l) = limit {
            file::write(&dir.join(LIMIT), &l.to_string())?;
        }
        file::write(&memsw, &swap.to_string())?;
    }
    Ok(())
}

fn entry(dir: &Path, prefix: &str) -> Result<MemoryEntry, Error> {
    let f = |n: &str| file::read_u64_or_zero(&dir.join(format!("{prefix}.{n}")));
    Ok(MemoryEntry {
        limit: f("limit_in_bytes")?,
        usage: f("usage_in_bytes")?,
        max: f("max_usage_in_bytes")?,
        failcnt: f("failcnt")?,
    })
}

/// Fills the memory part of `stats`.
pub(crate) fn stats(dir: &Path, stats: &mut Stats) -> Result<(), Error> {
    let m = &mut stats.memory;
    m.usage = entry(dir, "memory")?;
    m.swap = entry(dir, "memory.memsw")?;
    m.kernel = entry(dir, "memory.kmem")?;
    m.kernel_tcp = entry(dir, "memory.kmem.tcp")?;
    m.raw = file::read_keyed(&dir.join("memory.stat"))?;
    m.cache = m.raw.get("cache").copied().unwrap_or(0);
    Ok(())
}

/// OOM kills recorded in memory.oom_control (`oom_kill N`, kernel 4.13+).
pub(crate) fn oom_kill_count(dir: &Path) -> Result<u64, Error> {
    let path = dir.join("memory.oom_control");
    file::read_keyed(&path)?
        .get("oom_kill")
        .copied()
        .ok_or_else(|| Error::Parse {
            path,
            content: "no oom_kill line (kernel older than 4.13)".into(),
        })
}
