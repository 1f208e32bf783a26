//! [`Cgroup::apply`]: routing each part of `linux.resources` to the hierarchy that holds its
//! controller. Every needed controller is looked up before the first write, so a spec the
//! host cannot honour fails without changing anything.

use std::path::PathBuf;

use oci_spec::runtime::{LinuxMemory, LinuxResources};

use crate::cgroup::Ctl;
use crate::{Cgroup, Error, file, rdma, v1, v2};

fn memory_wanted(m: &LinuxMemory) -> bool {
    m.limit().is_some()
        || m.reservation().is_some()
        || m.swap().is_some()
        || m.kernel().is_some()
        || m.kernel_tcp().is_some()
        || m.swappiness().is_some()
        || m.disable_oom_killer().is_some()
}

/// Files of the unified hierarchy that `linux.resources.unified` must not write: they would
/// move processes or change the tree's structure behind the runtime's back.
const UNIFIED_FORBIDDEN: &[&str] = &[
    "cgroup.procs",
    "cgroup.threads",
    "cgroup.subtree_control",
    "cgroup.type",
    "cgroup.kill",
    "cgroup.freeze",
];

impl Cgroup {
    fn need(&self, v1_name: &str, v2_name: &str, field: &str) -> Result<Ctl, Error> {
        self.locate(v1_name, v2_name)?
            .ok_or_else(|| Error::ControllerMissing {
                controller: v1_name.into(),
                field: field.into(),
            })
    }

    fn need_v1(&self, name: &str, field: &str) -> Result<PathBuf, Error> {
        self.v1_dir(name)?.ok_or_else(|| Error::ControllerMissing {
            controller: name.into(),
            field: field.into(),
        })
    }

    /// Writes every limit in `res` (also used for `update`). Controllers the spec does not
    /// ask for are skipped; one it asks for that the host lacks is an error naming both.
    pub fn apply(&self, res: &LinuxResources) -> Result<(), Error> {
        // Resolve everything first.
        let devices = match res.devices().as_deref() {
            Some(rules) if !rules.is_empty() => {
                let ctl =
                    self.locate_builtin("devices")?
                        .ok_or_else(|| Error::ControllerMissing {
                            controller: "devices".into(),
                            field: "linux.resources.devices".into(),
                        })?;
                Some((ctl, rules))
            }
            _ => None,
        };
        let memory = match res.memory() {
            Some(m) if memory_wanted(m) => {
                Some((self.need("memory", "memory", "linux.resources.memory")?, m))
            }
            _ => None,
        };
        let cpu = match res.cpu() {
            Some(c) if v1::cpu::wanted(c) => {
                Some((self.need("cpu", "cpu", "linux.resources.cpu")?, c))
            }
            _ => None,
        };
        let cpuset = match res.cpu() {
            Some(c) if v1::cpuset::wanted(c) => Some((
                self.need("cpuset", "cpuset", "linux.resources.cpu.cpus/mems")?,
                c,
            )),
            _ => None,
        };
        let pids = match res.pids() {
            Some(p) => Some((self.need("pids", "pids", "linux.resources.pids")?, p)),
            None => None,
        };
        let blkio = match res.block_io() {
            Some(b) if v1::blkio::wanted(b) => {
                Some((self.need("blkio", "io", "linux.resources.blockIO")?, b))
            }
            _ => None,
        };
        let hugetlb = match res.hugepage_limits().as_deref() {
            Some(l) if !l.is_empty() => Some((
                self.need("hugetlb", "hugetlb", "linux.resources.hugepageLimits")?,
                l,
            )),
            _ => None,
        };
        let classid = match res.network() {
            Some(n) if n.class_id().is_some() => Some((
                self.need_v1("net_cls", "linux.resources.network.classID")?,
                n,
            )),
            _ => None,
        };
        let prio = match res.network() {
            Some(n) if n.priorities().as_ref().is_some_and(|p| !p.is_empty()) => Some((
                self.need_v1("net_prio", "linux.resources.network.priorities")?,
                n,
            )),
            _ => None,
        };
        let rdma = match res.rdma() {
            Some(r) if !r.is_empty() => {
                Some((self.need("rdma", "rdma", "linux.resources.rdma")?, r))
            }
            _ => None,
        };
        let unified = match res.unified() {
            Some(u) if !u.is_empty() => {
                let dir = self
                    .unified_dir()?
                    .ok_or_else(|| Error::ControllerMissing {
                        controller: "unified (cgroup v2)".into(),
                        field: "linux.resources.unified".into(),
                    })?;
                for k in u.keys() {
                    if k.contains('/')
                        || k.starts_with('.')
                        || UNIFIED_FORBIDDEN.contains(&k.as_str())
                    {
                        return Err(Error::InvalidValue {
                            field: "linux.resources.unified".into(),
                            value: k.clone(),
                            reason: "not a cgroup v2 control file that a container may set".into(),
                        });
                    }
                }
                Some((dir, u))
            }
            _ => None,
        };

        // Then write.
        if let Some((ctl, rules)) = devices {
            match ctl {
                Ctl::V1(d) => v1::devices::apply(&d, rules)?,
                Ctl::V2(d) => v2::devices::apply(&d, rules)?,
            }
        }
        if let Some((ctl, m)) = memory {
            match ctl {
                Ctl::V1(d) => v1::memory::apply(&d, m)?,
                Ctl::V2(d) => v2::memory::apply(&d, m)?,
            }
        }
        if let Some((ctl, c)) = cpu {
            match ctl {
                Ctl::V1(d) => v1::cpu::apply(&d, c)?,
                Ctl::V2(d) => v2::cpu::apply(&d, c)?,
            }
        }
        if let Some((ctl, c)) = cpuset {
            match ctl {
                Ctl::V1(d) => v1::cpuset::apply(&d, c)?,
                Ctl::V2(d) => v2::cpuset::apply(&d, c)?,
            }
        }
        if let Some((ctl, p)) = pids {
            match ctl {
                Ctl::V1(d) => v1::pids::apply(&d, p)?,
                Ctl::V2(d) => v2::pids::apply(&d, p)?,
            }
        }
        if let Some((ctl, b)) = blkio {
            match ctl {
                Ctl::V1(d) => v1::blkio::apply(&d, b)?,
                Ctl::V2(d) => v2::io::apply(&d, b)?,
            }
        }
        if let Some((ctl, l)) = hugetlb {
            match ctl {
                Ctl::V1(d) => v1::hugetlb::apply(&d, l)?,
                Ctl::V2(d) => v2::hugetlb::apply(&d, l)?,
            }
        }
        if let Some((d, n)) = classid {
            v1::net::apply_classid(&d, n)?;
        }
        if let Some((d, n)) = prio {
            v1::net::apply_priorities(&d, n)?;
        }
        if let Some((Ctl::V1(d) | Ctl::V2(d), r)) = rdma {
            rdma::apply(&d, r)?;
        }
        if let Some((dir, u)) = unified {
            let mut keys: Vec<_> = u.iter().collect();
            keys.sort();
            for (k, v) in keys {
                let path = dir.join(k);
                match file::write(&path, v) {
                    Ok(()) => {}
                    Err(e) if file::is_not_found(&e) => {
                        return Err(Error::ControllerMissing {
                            controller: k.split('.').next().unwrap_or(k).into(),
                            field: format!("linux.resources.unified.{k}"),
                        });
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }
}
