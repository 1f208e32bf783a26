//! v2 io controller: io.weight / io.bfq.weight and io.max; io.stat.

use std::path::Path;

use oci_spec::runtime::LinuxBlockIo;

use crate::stats::{BlkioEntry, Stats};
use crate::{Error, file};

/// Converts a v1 blkio weight (10..=1000) to io.weight (1..=10000).
pub(crate) fn blkio_to_io_weight(w: u16) -> u64 {
    let w = u64::from(w.clamp(10, 1000));
    1 + ((w - 10) * 9999) / 990
}

/// Writes the weights and throttles.
pub(crate) fn apply(dir: &Path, b: &LinuxBlockIo) -> Result<(), Error> {
    if b.leaf_weight().is_some() {
        return Err(Error::Unsupported {
            field: "linux.resources.blockIO.leafWeight".into(),
            reason: "cgroup v2 has no leaf weights".into(),
        });
    }
    // BFQ takes the v1 scale unchanged in io.bfq.weight; otherwise use io.weight's scale.
    let bfq = dir.join("io.bfq.weight");
    let use_bfq = bfq.exists();
    let (wfile, conv): (_, fn(u16) -> u64) = if use_bfq {
        (bfq, u64::from)
    } else {
        (dir.join("io.weight"), blkio_to_io_weight)
    };
    // cgroup-v2.rst: io.weight is flat-keyed, "default $WEIGHT" for the cgroup and
    // "$MAJ:$MIN $WEIGHT" per device; bfq-iosched.rst: io.bfq.weight takes the bare value.
    if let Some(w) = b.weight() {
        let line = if use_bfq {
            conv(w).to_string()
        } else {
            format!("default {}", conv(w))
        };
        file::write(&wfile, &line)?;
    }
    for d in b.weight_device().iter().flatten() {
        if d.leaf_weight().is_some() {
            return Err(Error::Unsupported {
                field: "linux.resources.blockIO.weightDevice.leafWeight".into(),
                reason: "cgroup v2 has no leaf weights".into(),
            });
        }
        if let Some(w) = d.weight() {
            file::write(&wfile, &format!("{}:{} {}", d.major(), d.minor(), conv(w)))?;
        }
    }
    // io.max is nested-keyed: "$MAJ:$MIN rbps=… wbps=… riops=… wiops=…"; one key per
    // write leaves the device's other limits as they are.
    let throttles = [
        ("rbps", b.throttle_read_bps_device()),
        ("wbps", b.throttle_write_bps_device()),
        ("riops", b.throttle_read_iops_device()),
        ("wiops", b.throttle_write_iops_device()),
    ];
    for (key, list) in throttles {
        for d in list.iter().flatten() {
            let v = format!("{}:{} {key}={}", d.major(), d.minor(), d.rate());
            file::write(&dir.join("io.max"), &v)?;
        }
    }
    Ok(())
}

/// Parses io.stat (`8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0`).
pub(crate) fn parse_io_stat(text: &str, stats: &mut Stats) {
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some((maj, min)) = f.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (maj.parse::<u64>(), min.parse::<u64>()) else {
            continue;
        };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse::<u64>() else {
                continue;
            };
            let (list, op) = match k {
                "rbytes" => (&mut stats.blkio.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut stats.blkio.io_service_bytes_recursive, "Write"),
                "rios" => (&mut stats.blkio.io_serviced_recursive, "Read"),
                "wios" => (&mut stats.blkio.io_serviced_recursive, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.into(),
                value,
            });
        }
    }
}

/// Fills the blkio part of `stats` from io.stat.
pub(crate) fn stats(dir: &Path, stats: &mut Stats) -> Result<(), Error> {
    if let Some(t) = file::read_opt(&dir.join("io.stat"))? {
        parse_io_stat(&t, stats);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_written_as_cgroup_v2_rst_documents_them() {
        use oci_spec::runtime::{LinuxBlockIoBuilder, LinuxThrottleDeviceBuilder};
        let dir = tempfile::tempdir().unwrap();
        for f in ["io.weight", "io.max"] {
            fs_err::write(dir.path().join(f), "").unwrap();
        }
        let wbps = LinuxThrottleDeviceBuilder::default()
            .major(7)
            .minor(3)
            .rate(1_048_576u64)
            .build()
            .unwrap();
        let b = LinuxBlockIoBuilder::default()
            .weight(500u16)
            .throttle_write_bps_device(vec![wbps])
            .build()
            .unwrap();
        apply(dir.path(), &b).unwrap();
        let read = |f: &str| fs_err::read_to_string(dir.path().join(f)).unwrap();
        assert_eq!(read("io.weight"), "default 4950");
        assert_eq!(read("io.max"), "7:3 wbps=1048576");
    }

    #[test]
    fn weights_and_io_stat() {
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
        assert_eq!(blkio_to_io_weight(500), 4950);
        let mut s = Stats::default();
        parse_io_stat(
            "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n",
            &mut s,
        );
        assert_eq!(s.blkio.io_service_bytes_recursive.len(), 2);
        assert_eq!(s.blkio.io_service_bytes_recursive[1].value, 20);
        assert_eq!(s.blkio.io_serviced_recursive[0].op, "Read");
    }
}
