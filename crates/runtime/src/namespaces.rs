//! Namespaces: which to create, which to join, and the order that works.

use std::os::fd::OwnedFd;

use nix::fcntl::{OFlag, open};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

use crate::error::{Result, SysContext};

/// The clone flag of a namespace type.
pub fn flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

/// The `/proc/PID/ns/` file name of a namespace type.
pub fn proc_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

/// Namespaces to join, opened up front (paths may vanish or be relative to our mount ns).
pub struct Plan {
    /// (type, fd) to setns into; the user namespace first.
    pub join: Vec<(LinuxNamespaceType, OwnedFd)>,
    /// Flags of the namespaces to create.
    pub create: CloneFlags,
}

impl Plan {
    /// Builds the plan from the spec's list.
    pub fn new(list: &[LinuxNamespace]) -> Result<Plan> {
        let mut join = Vec::new();
        let mut create = CloneFlags::empty();
        for ns in list {
            match ns.path() {
                Some(p) => {
                    let fd = open(p, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
                        .ctx(|| format!("opening {:?} namespace {}", ns.typ(), p.display()))?;
                    join.push((ns.typ(), fd));
                }
                None => create |= flag(ns.typ()),
            }
        }
        // Joining the user namespace first gives us the rights to join the others.
        join.sort_by_key(|(t, _)| *t != LinuxNamespaceType::User);
        Ok(Plan { join, create })
    }

    /// Whether a new user namespace is made.
    pub fn new_userns(&self) -> bool {
        self.create.contains(CloneFlags::CLONE_NEWUSER)
    }

    /// setns into every namespace to join.
    pub fn join_all(&self) -> Result<()> {
        for (t, fd) in &self.join {
            setns(fd, flag(*t)).ctx(|| format!("joining the {t:?} namespace"))?;
        }
        Ok(())
    }

    /// Creates the new namespaces other than the user namespace and `except`.
    pub fn unshare_rest(&self, except: CloneFlags) -> Result<()> {
        let rest = self.create - CloneFlags::CLONE_NEWUSER - except;
        if !rest.is_empty() {
            unshare(rest).ctx(|| format!("creating namespaces {rest:?}"))?;
        }
        Ok(())
    }
}
