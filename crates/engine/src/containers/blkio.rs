//! The per-device block I/O flags: `--device-read-bps`, `--device-write-bps`,
//! `--device-read-iops`, `--device-write-iops` and `--blkio-weight-device`. The flags name
//! a device path; the cgroup files want its `major:minor`, looked up on the host when the
//! spec is made (a missing path or a path that is not a block device is refused there).

use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{Error, Result};

/// One throttle, as Docker's `HostConfig.BlkioDevice{Read,Write}{Bps,IOps}` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ThrottleDevice {
    /// The device's path on the host.
    pub path: String,
    /// Bytes or operations per second.
    pub rate: u64,
}

/// One per-device weight, as Docker's `HostConfig.BlkioWeightDevice` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WeightDevice {
    /// The device's path on the host.
    pub path: String,
    /// 10 … 1000 (0: none).
    pub weight: u16,
}

/// How a throttle's rate is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    /// A size with an optional unit (`1mb`, `512k`).
    Bytes,
    /// A plain count of operations.
    Iops,
}

fn split<'a>(flag: &'static str, s: &'a str, hint: &str) -> Result<(&'a str, &'a str)> {
    match s.rsplit_once(':') {
        Some((p, v)) if p.starts_with("/dev/") && !v.is_empty() => Ok((p, v)),
        _ => Err(Error::Invalid {
            flag,
            value: s.to_owned(),
            hint: hint.to_owned(),
        }),
    }
}

/// Parses `/dev/sda:1mb` (bytes) or `/dev/sda:100` (operations), as Docker's CLI does.
pub fn parse_throttle(flag: &'static str, s: &str, rate: Rate) -> Result<ThrottleDevice> {
    let hint = match rate {
        Rate::Bytes => {
            "use DEVICE:RATE with a number and an optional unit kb, mb or gb, e.g. /dev/sda:1mb"
        }
        Rate::Iops => {
            "use DEVICE:RATE with a positive whole number of operations, e.g. /dev/sda:100"
        }
    };
    let (path, v) = split(flag, s, hint)?;
    let bad = || Error::Invalid {
        flag,
        value: s.to_owned(),
        hint: hint.to_owned(),
    };
    let n = match rate {
        Rate::Bytes => {
            let n = super::units::parse_bytes(flag, v).map_err(|_| bad())?;
            u64::try_from(n).map_err(|_| bad())?
        }
        Rate::Iops => v.parse::<u64>().map_err(|_| bad())?,
    };
    Ok(ThrottleDevice {
        path: path.to_owned(),
        rate: n,
    })
}

/// Parses `--blkio-weight-device /dev/sda:200` (10 … 1000, or 0).
pub fn parse_weight(s: &str) -> Result<WeightDevice> {
    let hint = "use DEVICE:WEIGHT with a weight between 10 and 1000, e.g. /dev/sda:200";
    let (path, v) = split("--blkio-weight-device", s, hint)?;
    match v.parse::<u16>() {
        Ok(w) if w == 0 || (10..=1000).contains(&w) => Ok(WeightDevice {
            path: path.to_owned(),
            weight: w,
        }),
        _ => Err(Error::Invalid {
            flag: "--blkio-weight-device",
            value: s.to_owned(),
            hint: hint.to_owned(),
        }),
    }
}

/// The `major:minor` of the block device at `path` on the host.
pub fn device_numbers(flag: &'static str, path: &str) -> Result<(u64, u64)> {
    let meta = fs_err::metadata(path).map_err(|e| Error::Invalid {
        flag,
        value: path.to_owned(),
        hint: format!("cannot use the device: {e}"),
    })?;
    if !meta.file_type().is_block_device() {
        return Err(Error::Invalid {
            flag,
            value: path.to_owned(),
            hint: format!("{path} is not a block device; name a disk such as /dev/sda"),
        });
    }
    let (major, minor) = numbers(&meta);
    Ok((u64::from(major), u64::from(minor)))
}

/// The `major:minor` of a device node, from its metadata.
pub(crate) fn numbers(meta: &std::fs::Metadata) -> (u32, u32) {
    let rdev = meta.rdev();
    (
        nix::sys::stat::major(rdev) as u32,
        nix::sys::stat::minor(rdev) as u32,
    )
}

/// The per-device block I/O flags of a container.
#[derive(Debug, Clone, Copy)]
pub struct BlkioDevices<'a> {
    /// `--blkio-weight-device`.
    pub weight: &'a [WeightDevice],
    /// `--device-read-bps`.
    pub read_bps: &'a [ThrottleDevice],
    /// `--device-write-bps`.
    pub write_bps: &'a [ThrottleDevice],
    /// `--device-read-iops`.
    pub read_iops: &'a [ThrottleDevice],
    /// `--device-write-iops`.
    pub write_iops: &'a [ThrottleDevice],
}

impl BlkioDevices<'_> {
    /// Adds the devices to `linux.resources.blockIO` (`weightDevice`,
    /// `throttle{Read,Write}{Bps,IOPS}Device`), each with its host `major:minor`.
    pub fn add_to(&self, block_io: &mut Value) -> Result<()> {
        if !self.weight.is_empty() {
            let mut list = Vec::new();
            for w in self.weight.iter().filter(|w| w.weight > 0) {
                let (major, minor) = device_numbers("--blkio-weight-device", &w.path)?;
                list.push(json!({"major": major, "minor": minor, "weight": w.weight}));
            }
            if !list.is_empty() {
                block_io["weightDevice"] = json!(list);
            }
        }
        let throttles = [
            ("throttleReadBpsDevice", "--device-read-bps", self.read_bps),
            (
                "throttleWriteBpsDevice",
                "--device-write-bps",
                self.write_bps,
            ),
            (
                "throttleReadIOPSDevice",
                "--device-read-iops",
                self.read_iops,
            ),
            (
                "throttleWriteIOPSDevice",
                "--device-write-iops",
                self.write_iops,
            ),
        ];
        for (key, flag, devices) in throttles {
            if devices.is_empty() {
                continue;
            }
            let mut list = Vec::new();
            for d in devices {
                let (major, minor) = device_numbers(flag, &d.path)?;
                list.push(json!({"major": major, "minor": minor, "rate": d.rate}));
            }
            block_io[key] = json!(list);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_parse_like_docker() {
        let t = parse_throttle("--device-read-bps", "/dev/sda:1mb", Rate::Bytes).unwrap();
        assert_eq!(t.rate, 1024 * 1024);
        assert_eq!(t.path, "/dev/sda");
        let t = parse_throttle("--device-read-iops", "/dev/sda:100", Rate::Iops).unwrap();
        assert_eq!(t.rate, 100);
        for bad in [
            "/dev/sda",
            "sda:1mb",
            "/dev/sda:",
            "/dev/sda:-1",
            "/dev/sda:1x",
        ] {
            assert!(parse_throttle("--device-read-bps", bad, Rate::Bytes).is_err());
        }
        assert!(parse_throttle("--device-read-iops", "/dev/sda:1mb", Rate::Iops).is_err());
        assert_eq!(parse_weight("/dev/sda:200").unwrap().weight, 200);
        assert!(parse_weight("/dev/sda:5").is_err());
        assert!(parse_weight("/dev/sda:1001").is_err());
    }

    #[test]
    fn only_block_devices_are_taken() {
        let e = device_numbers("--device-write-bps", "/dev/null").unwrap_err();
        assert!(e.to_string().contains("not a block device"), "{e}");
        let e = device_numbers("--device-write-bps", "/dev/berth-no-such-disk").unwrap_err();
        assert!(e.to_string().contains("/dev/berth-no-such-disk"), "{e}");
    }
}
