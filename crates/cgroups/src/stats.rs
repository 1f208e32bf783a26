//! Resource usage in the JSON shape `runc events --stats` prints as its `data` object.
//!
//! Field names and the omit-when-zero rules follow runc's published output so that tools
//! reading runc's events (containerd's shim among them) read ours. Where the Go types omit a
//! zero number (`omitempty`), we skip it too; nested objects are always present.

use std::collections::BTreeMap;

use serde::Serialize;

fn zero(v: &u64) -> bool {
    *v == 0
}

/// Statistics of one cgroup (the `data` object of a `stats` event).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Stats {
    /// CPU time and throttling.
    pub cpu: Cpu,
    /// Memory, swap and kernel memory.
    pub memory: Memory,
    /// Process counts.
    pub pids: Pids,
    /// Block I/O per device.
    pub blkio: Blkio,
    /// Huge page usage keyed by page size (`2MB`, `1GB`).
    pub hugetlb: BTreeMap<String, Hugetlb>,
}

/// CPU statistics.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Cpu {
    /// Time used.
    pub usage: CpuUsage,
    /// CFS bandwidth throttling.
    pub throttling: Throttling,
}

/// CPU time, in nanoseconds.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CpuUsage {
    /// Total CPU time.
    #[serde(skip_serializing_if = "zero")]
    pub total: u64,
    /// Per-CPU total time (v1 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    /// Per-CPU kernel time (v1 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    /// Per-CPU user time (v1 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    /// Time in kernel mode.
    pub kernel: u64,
    /// Time in user mode.
    pub user: u64,
}

/// CFS bandwidth throttling counters.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Throttling {
    /// Enforcement periods elapsed.
    #[serde(skip_serializing_if = "zero")]
    pub periods: u64,
    /// Periods in which the group was throttled.
    #[serde(rename = "throttledPeriods", skip_serializing_if = "zero")]
    pub throttled_periods: u64,
    /// Total time throttled, in nanoseconds.
    #[serde(rename = "throttledTime", skip_serializing_if = "zero")]
    pub throttled_time: u64,
}

/// Memory statistics.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Memory {
    /// Page cache (`cache` in v1 memory.stat, `file` in v2).
    #[serde(skip_serializing_if = "zero")]
    pub cache: u64,
    /// Memory usage.
    pub usage: MemoryEntry,
    /// Memory + swap usage (as v1's memsw counts it).
    pub swap: MemoryEntry,
    /// Kernel memory (v1 kmem).
    pub kernel: MemoryEntry,
    /// Kernel TCP buffers (v1 kmem.tcp).
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    /// The raw memory.stat counters.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

/// One memory counter family.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MemoryEntry {
    /// Limit in bytes (`u64::MAX` or the kernel's page-rounded maximum when unlimited).
    pub limit: u64,
    /// Current usage in bytes.
    #[serde(skip_serializing_if = "zero")]
    pub usage: u64,
    /// Peak usage in bytes.
    #[serde(skip_serializing_if = "zero")]
    pub max: u64,
    /// How many times the limit was hit.
    pub failcnt: u64,
}

/// Process counts.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Pids {
    /// Processes and threads now in the cgroup.
    #[serde(skip_serializing_if = "zero")]
    pub current: u64,
    /// The limit, 0 when unlimited.
    #[serde(skip_serializing_if = "zero")]
    pub limit: u64,
}

/// Block I/O counters per device.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Blkio {
    /// Bytes transferred.
    #[serde(
        rename = "ioServiceBytesRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    /// I/O operations issued.
    #[serde(rename = "ioServicedRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

/// One block I/O counter.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct BlkioEntry {
    /// Device major number.
    #[serde(skip_serializing_if = "zero")]
    pub major: u64,
    /// Device minor number.
    #[serde(skip_serializing_if = "zero")]
    pub minor: u64,
    /// `Read`, `Write`, `Sync`, `Async`, `Discard` or `Total`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub op: String,
    /// The counter.
    #[serde(skip_serializing_if = "zero")]
    pub value: u64,
}

/// Huge page usage of one page size.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Hugetlb {
    /// Bytes in use.
    #[serde(skip_serializing_if = "zero")]
    pub usage: u64,
    /// Peak bytes in use (v1 only).
    #[serde(skip_serializing_if = "zero")]
    pub max: u64,
    /// Allocations that failed because of the limit.
    pub failcnt: u64,
}

/// Parses v1 blkio / v2-style "MAJ:MIN Op value" lines, skipping the "Total" summary line.
pub(crate) fn parse_blkio_v1(text: &str) -> Vec<BlkioEntry> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 3 {
            continue;
        }
        let Some((maj, min)) = f[0].split_once(':') else {
            continue;
        };
        if let (Ok(major), Ok(minor), Ok(value)) = (maj.parse(), min.parse(), f[2].parse()) {
            out.push(BlkioEntry {
                major,
                minor,
                op: f[1].to_string(),
                value,
            });
        }
    }
    out
}

/// The huge page sizes the kernel offers, as cgroup file names spell them (`2MB`, `1GB`).
pub fn hugepage_sizes() -> Vec<String> {
    let mut sizes = Vec::new();
    if let Ok(rd) = fs_err::read_dir("/sys/kernel/mm/hugepages") {
        for e in rd.flatten() {
            if let Some(s) = e
                .file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("hugepages-"))
                .and_then(|n| n.strip_suffix("kB"))
                .and_then(|n| n.parse::<u64>().ok())
            {
                sizes.push(size_name(s));
            }
        }
    }
    sizes.sort();
    sizes
}

/// `2048` (kB) → `2MB`, `1048576` → `1GB`, `64` → `64KB`.
pub(crate) fn size_name(kb: u64) -> String {
    if kb >= 1 << 20 && kb % (1 << 20) == 0 {
        format!("{}GB", kb >> 20)
    } else if kb >= 1 << 10 && kb % (1 << 10) == 0 {
        format!("{}MB", kb >> 10)
    } else {
        format!("{kb}KB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_names() {
        assert_eq!(size_name(2048), "2MB");
        assert_eq!(size_name(1048576), "1GB");
        assert_eq!(size_name(64), "64KB");
        assert_eq!(size_name(32768), "32MB");
    }

    #[test]
    fn blkio_lines() {
        let e = parse_blkio_v1("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].major, e[0].minor, e[0].op.as_str(), e[0].value),
            (8, 0, "Read", 4096)
        );
    }

    #[test]
    fn json_shape_matches_runc() {
        let mut s = Stats::default();
        s.memory.usage.limit = 7;
        s.pids.current = 2;
        s.hugetlb.insert("2MB".into(), Hugetlb::default());
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["memory"]["usage"]["limit"], 7);
        assert_eq!(v["memory"]["usage"]["failcnt"], 0);
        assert!(v["memory"]["usage"].get("usage").is_none());
        assert!(v["memory"].get("kernelTCP").is_some());
        assert_eq!(v["pids"]["current"], 2);
        assert!(v["pids"].get("limit").is_none());
        assert_eq!(v["cpu"]["usage"]["kernel"], 0);
        assert!(v["cpu"]["throttling"].is_object());
        assert_eq!(v["hugetlb"]["2MB"]["failcnt"], 0);
    }
}
