//! v2 hugetlb controller: `hugetlb.<size>.max`.

use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use crate::stats::{Hugetlb, Stats, hugepage_sizes};
use crate::v1::hugetlb::{check_size, no_such_size};
use crate::{Error, file};

/// Writes every huge page limit (and the reservation limit where the kernel has one).
pub(crate) fn apply(dir: &Path, limits: &[LinuxHugepageLimit]) -> Result<(), Error> {
    for l in limits {
        check_size(l.page_size())?;
        let v = l.limit().to_string();
        if !file::write_if_exists(&dir.join(format!("hugetlb.{}.max", l.page_size())), &v)? {
            return Err(no_such_size(l.page_size()));
        }
        file::write_if_exists(&dir.join(format!("hugetlb.{}.rsvd.max", l.page_size())), &v)?;
    }
    Ok(())
}

/// Usage per page size; failures are the `max` count of hugetlb.<size>.events.
pub(crate) fn stats(dir: &Path, stats: &mut Stats) -> Result<(), Error> {
    for size in hugepage_sizes() {
        let usage = file::read_u64_or_zero(&dir.join(format!("hugetlb.{size}.current")))?;
        let events = file::read_keyed(&dir.join(format!("hugetlb.{size}.events")))?;
        let h = Hugetlb {
            usage,
            max: 0,
            failcnt: events.get("max").copied().unwrap_or(0),
        };
        stats.hugetlb.insert(size, h);
    }
    Ok(())
}
