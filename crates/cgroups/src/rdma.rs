//! rdma controller (same rdma.max format in v1 and v2).

use std::collections::HashMap;
use std::path::Path;

use oci_spec::runtime::LinuxRdma;

use crate::{Error, file};

/// Writes one `device hca_handle=N hca_object=M` line per device.
pub(crate) fn apply(dir: &Path, rdma: &HashMap<String, LinuxRdma>) -> Result<(), Error> {
    for (dev, l) in rdma {
        if dev.is_empty() || dev.contains(char::is_whitespace) {
            return Err(Error::InvalidValue {
                field: "linux.resources.rdma".into(),
                value: dev.clone(),
                reason: "expected an RDMA device name".into(),
            });
        }
        let v = |n: Option<u32>| n.map_or_else(|| "max".to_string(), |n| n.to_string());
        let line = format!(
            "{dev} hca_handle={} hca_object={}",
            v(l.hca_handles()),
            v(l.hca_objects())
        );
        file::write(&dir.join("rdma.max"), &line)?;
    }
    Ok(())
}
