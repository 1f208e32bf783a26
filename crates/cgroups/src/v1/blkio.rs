//! v1 blkio controller: weights (CFQ or BFQ files) and throttling; I/O counters.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use crate::stats::{Stats, parse_blkio_v1};
use crate::{Error, file};

/// Whether the spec sets any block I/O field.
pub(crate) fn wanted(b: &LinuxBlockIo) -> bool {
    b.weight().is_some()
        || b.leaf_weight().is_some()
        || b.weight_device().as_ref().is_some_and(|v| !v.is_empty())
        || [
            b.throttle_read_bps_device(),
            b.throttle_write_bps_device(),
            b.throttle_read_iops_device(),
            b.throttle_write_iops_device(),
        ]
        .iter()
        .any(|v| v.as_ref().is_some_and(|v| !v.is_empty()))
}

/// Writes `value` to the first of `names` that exists (CFQ's blkio.weight, or BFQ's
/// blkio.bfq.weight on kernels without CFQ), or names the field in a clear error.
fn write_first(dir: &Path, names: &[&str], value: &str, field: &str) -> Result<(), Error> {
    for n in names {
        if file::write_if_exists(&dir.join(n), value)? {
            return Ok(());
        }
    }
    Err(Error::Unsupported {
        field: field.into(),
        reason: format!(
            "none of {} exists in {} (the block I/O scheduler has no weights)\nhint: use the bfq I/O scheduler, or drop the weight",
            names.join(", "),
            dir.display()
        ),
    })
}

/// Writes every block I/O limit.
pub(crate) fn apply(dir: &Path, b: &LinuxBlockIo) -> Result<(), Error> {
    if let Some(w) = b.weight() {
        write_first(
            dir,
            &["blkio.weight", "blkio.bfq.weight"],
            &w.to_string(),
            "linux.resources.blockIO.weight",
        )?;
    }
    if let Some(w) = b.leaf_weight() {
        write_first(
            dir,
            &["blkio.leaf_weight"],
            &w.to_string(),
            "linux.resources.blockIO.leafWeight",
        )?;
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight() {
            write_first(
                dir,
                &["blkio.weight_device", "blkio.bfq.weight_device"],
                &format!("{}:{} {w}", d.major(), d.minor()),
                "linux.resources.blockIO.weightDevice",
            )?;
        }
        if let Some(w) = d.leaf_weight() {
            write_first(
                dir,
                &["blkio.leaf_weight_device"],
                &format!("{}:{} {w}", d.major(), d.minor()),
                "linux.resources.blockIO.weightDevice.leafWeight",
            )?;
        }
    }
    let throttles: [(&str, &Option<Vec<LinuxThrottleDevice>>); 4] = [
        (
            "blkio.throttle.read_bps_device",
            b.throttle_read_bps_device(),
        ),
        (
            "blkio.throttle.write_bps_device",
            b.throttle_write_bps_device(),
        ),
        (
            "blkio.throttle.read_iops_device",
            b.throttle_read_iops_device(),
        ),
        (
            "blkio.throttle.write_iops_device",
            b.throttle_write_iops_device(),
        ),
    ];
    for (name, list) in throttles {
        for d in list.iter().flatten() {
            let v = format!("{}:{} {}", d.major(), d.minor(), d.rate());
            file::write(&dir.join(name), &v)?;
        }
    }
    Ok(())
}

/// Bytes and operations per device, from whichever accounting files the kernel has.
pub(crate) fn stats(dir: &Path, stats: &mut Stats) -> Result<(), Error> {
    let first = |names: &[&str]| -> Result<Vec<_>, Error> {
        for n in names {
            if let Some(t) = file::read_opt(&dir.join(n))? {
                return Ok(parse_blkio_v1(&t));
            }
        }
        Ok(Vec::new())
    };
    stats.blkio.io_service_bytes_recursive = first(&[
        "blkio.io_service_bytes_recursive",
        "blkio.bfq.io_service_bytes_recursive",
        "blkio.throttle.io_service_bytes_recursive",
    ])?;
    stats.blkio.io_serviced_recursive = first(&[
        "blkio.io_serviced_recursive",
        "blkio.bfq.io_serviced_recursive",
        "blkio.throttle.io_serviced_recursive",
    ])?;
    Ok(())
}
