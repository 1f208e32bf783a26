//! v1 hugetlb controller: `hugetlb.<size>.limit_in_bytes`.

use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use crate::stats::{Hugetlb, Stats, hugepage_sizes};
use crate::{Error, file};

/// Checks a page size such as `2MB` (digits then KB, MB or GB): it becomes part of a file name.
pub(crate) fn check_size(size: &str) -> Result<(), Error> {
    let digits = size.trim_end_matches(['K', 'M', 'G', 'B']);
    let unit = &size[digits.len()..];
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !["KB", "MB", "GB"].contains(&unit)
    {
        return Err(Error::InvalidValue {
            field: "linux.resources.hugepageLimits.pageSize".into(),
            value: size.into(),
            reason: "expected a size such as 2MB or 1GB".into(),
        });
    }
    Ok(())
}

/// A missing per-size file means the kernel has no such page size.
pub(crate) fn no_such_size(size: &str) -> Error {
    Error::InvalidValue {
        field: "linux.resources.hugepageLimits.pageSize".into(),
        value: size.into(),
        reason: format!(
            "this kernel has no huge pages of that size (available: {})",
            hugepage_sizes().join(", ")
        ),
    }
}

/// Writes every huge page limit.
pub(crate) fn apply(dir: &Path, limits: &[LinuxHugepageLimit]) -> Result<(), Error> {
    for l in limits {
        check_size(l.page_size())?;
        let v = l.limit().to_string();
        let name = format!("hugetlb.{}.limit_in_bytes", l.page_size());
        if !file::write_if_exists(&dir.join(name), &v)? {
            return Err(no_such_size(l.page_size()));
        }
        // Reservation accounting (5.7+) must not be looser than the fault limit.
        file::write_if_exists(
            &dir.join(format!("hugetlb.{}.rsvd.limit_in_bytes", l.page_size())),
            &v,
        )?;
    }
    Ok(())
}

/// Usage per page size.
pub(crate) fn stats(dir: &Path, stats: &mut Stats) -> Result<(), Error> {
    for size in hugepage_sizes() {
        let f = |n: &str| file::read_u64_or_zero(&dir.join(format!("hugetlb.{size}.{n}")));
        let h = Hugetlb {
            usage: f("usage_in_bytes")?,
            max: f("max_usage_in_bytes")?,
            failcnt: f("failcnt")?,
        };
        stats.hugetlb.insert(size, h);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_checked() {
        for ok in ["2MB", "1GB", "64KB"] {
            check_size(ok).unwrap();
        }
        for bad in ["2M", "MB", "../x", "2MB/..", "2 MB", ""] {
            assert!(check_size(bad).is_err(), "{bad}");
        }
    }
}
