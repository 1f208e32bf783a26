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

    /// Whether the runtime can clone the container's init itself, without a stage 1 in
    /// between: no user or time namespace to make (their set-up needs a process inside
    /// before the others), and only namespaces to join that the runtime can enter for the
    /// clone and leave again (network, IPC, UTS).
    pub fn direct(&self) -> bool {
        let made_first =
            CloneFlags::CLONE_NEWUSER | CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);
        !self.create.intersects(made_first)
            && self.join.iter().all(|(t, _)| {
                matches!(
                    t,
                    LinuxNamespaceType::Network | LinuxNamespaceType::Ipc | LinuxNamespaceType::Uts
                )
            })
    }

    /// Enters the namespaces to join for as long as the returned guard lives; it takes
    /// the calling thread back to its own. Only for [`Plan::direct`] plans.
    pub fn enter_for_clone(&self) -> Result<Entered> {
        let mut entered = Entered { own: Vec::new() };
        for (t, fd) in &self.join {
            let path = format!("/proc/thread-self/ns/{}", proc_name(*t));
            let mine = open(
                path.as_str(),
                OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .ctx(|| format!("opening {path}"))?;
            // On failure `entered` goes, taking us back to the ones entered so far.
            setns(fd, flag(*t)).ctx(|| format!("joining the {t:?} namespace"))?;
            entered.own.push((*t, mine));
        }
        Ok(entered)
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

/// Brings up `lo` in the calling process's network namespace.
pub fn loopback_up() -> Result<()> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
    use std::os::fd::AsRawFd;
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .ctx(|| "opening a socket to bring up lo".into())?;
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = libc::c_char::from_ne_bytes([*src]);
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write an ifreq, which `req` is.
    unsafe {
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) < 0 {
            return Err(crate::Error::sys(
                "reading the flags of lo",
                nix::Error::last(),
            ));
        }
        req.ifr_ifru.ifru_flags |= libc::c_short::try_from(libc::IFF_UP).unwrap_or(1);
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) < 0 {
            return Err(crate::Error::sys("bringing up lo", nix::Error::last()));
        }
    }
    Ok(())
}

/// The runtime's own namespaces while it is in a container's (see [`Plan::enter_for_clone`]).
pub struct Entered {
    own: Vec<(LinuxNamespaceType, OwnedFd)>,
}

impl Entered {
    fn disarm(mut self) -> Vec<(LinuxNamespaceType, OwnedFd)> {
        std::mem::take(&mut self.own)
    }

    /// Back to the runtime's own namespaces; every one is tried, the first failure is
    /// reported.
    pub fn leave(self) -> Result<()> {
        let mut result = Ok(());
        for (t, fd) in self.disarm().iter().rev() {
            let r =
                setns(fd, flag(*t)).ctx(|| format!("returning to the runtime's {t:?} namespace"));
            if result.is_ok() {
                result = r;
            }
        }
        result
    }

    /// For the cloned child, which stays in the container's namespaces.
    pub fn stay(self) {
        drop(self.disarm());
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        for (t, fd) in self.own.iter().rev() {
            // The error path: leave() reports failures; here nothing better can be done.
            let _ = setns(fd, flag(*t));
        }
    }
}
