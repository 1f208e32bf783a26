//! `exec`: run another process inside a running container.
//!
//! A child joins the container's namespaces (user first), enters its root, and clones
//! the process that runs the program, so it is inside the container's pid namespace.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use nix::fcntl::{OFlag, open};
use nix::sched::{CloneFlags, setns};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use oci_spec::runtime::{LinuxNamespaceType, Process};

use super::{Runtime, absolute};
use crate::error::{Error, Result, SysContext};
use crate::init::fork::{Forked, fork};
use crate::init::process::{self, ConsoleTarget};
use crate::namespaces::{flag, proc_name};
use crate::seccomp::Compiled;
use crate::state::{Status, write_atomic};
use crate::sync::{self, Channel, Msg};

/// Options of `exec`.
#[derive(Debug, Default, Clone)]
pub struct ExecOptions {
    /// Return once the process started.
    pub detach: bool,
    /// Write the process's pid here.
    pub pid_file: Option<PathBuf>,
    /// Send the pty master here.
    pub console_socket: Option<PathBuf>,
    /// Descriptors from 3 up passed through.
    pub preserve_fds: i32,
}

/// The started exec process: its pid, and the pty master if the runtime holds it.
pub struct Execd {
    /// Host pid of the process.
    pub pid: i32,
    /// pty master when the process has a terminal and no console socket was given.
    pub pty: Option<OwnedFd>,
}

/// Starts `process` inside container `id`.
pub fn exec(rt: &Runtime, id: &str, process: &Process, opts: &ExecOptions) -> Result<Execd> {
    let c = rt.load(id)?;
    match c.status() {
        Status::Running | Status::Created => {}
        _ => return Err(c.bad_state("exec in it", "\nhint: start the container first")),
    }
    let spec = c.dir.load_spec()?;
    let pid = c.saved.pid;
    // Open every namespace of the init that differs from ours, user first.
    let mut joins: Vec<(LinuxNamespaceType, OwnedFd)> = Vec::new();
    for t in [
        LinuxNamespaceType::User,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Network,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Cgroup,
        LinuxNamespaceType::Time,
        LinuxNamespaceType::Mount,
    ] {
        let theirs = format!("/proc/{pid}/ns/{}", proc_name(t));
        let ours = format!("/proc/self/ns/{}", proc_name(t));
        let (Ok(a), Ok(b)) = (fs_err::metadata(&theirs), fs_err::metadata(&ours)) else {
            continue;
        };
        use std::os::unix::fs::MetadataExt;
        if a.ino() == b.ino() && a.dev() == b.dev() {
            continue;
        }
        let fd = open(
            theirs.as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ctx(|| format!("opening {theirs}"))?;
        joins.push((t, fd));
    }
    let root = open(
        format!("/proc/{pid}/root").as_str(),
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("opening the root of container {id:?}"))?;
    let console = match (&opts.console_socket, process.terminal().unwrap_or(false)) {
        (Some(p), _) => ConsoleTarget::Socket(crate::console::connect_socket(&absolute(p))?),
        (None, true) => ConsoleTarget::Runtime,
        (None, false) => ConsoleTarget::None,
    };
    let seccomp = spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .map(|s| Compiled::cached(&rt.root, s))
        .transpose()?;
    let cgroup = c.cgroup()?.joiner()?;
    let (parent, child) = sync::pair()?;
    let helper = match fork(
        "the exec helper",
        false,
        CloneFlags::empty(),
        cgroup.clone_target(),
    )? {
        Forked::Child { in_cgroup } => {
            drop(parent);
            // First, while single-threaded: into the container's cgroup, by the moves
            // that skip the kernel's global migration lock (berth_cgroups::Joiner).
            let r = cgroup
                .join_self(in_cgroup)
                .map_err(Error::from)
                .and_then(|()| {
                    join_and_clone(
                        &child,
                        &joins,
                        &root,
                        process,
                        &console,
                        seccomp.as_ref(),
                        opts.preserve_fds,
                    )
                });
            if let Err(e) = r {
                let _ = child.send(&Msg::Failed(e.to_string()));
                // SAFETY: leaving the forked child without running the parent's atexit.
                unsafe { libc::_exit(1) };
            }
            // SAFETY: as above.
            unsafe { libc::_exit(0) }
        }
        Forked::Parent(p) => nix::unistd::Pid::from_raw(p),
    };
    drop(child);
    let mut exec_pid = 0;
    let mut pty = None;
    loop {
        match parent.recv()? {
            Some((Msg::Pid(p), _)) => {
                exec_pid = p;
                let _ = waitpid(helper, None);
            }
            Some((Msg::Pty, fd)) => pty = fd,
            Some((Msg::Failed(e), _)) => {
                let _ = waitpid(helper, None);
                return Err(Error::Init(e));
            }
            Some((Msg::NoExec(message, status), _)) => {
                // Reap the failed process so it is gone when we report.
                if exec_pid > 0 {
                    let _ = waitpid(nix::unistd::Pid::from_raw(exec_pid), None);
                }
                return Err(Error::Exec { message, status });
            }
            Some((m, _)) => return Err(Error::Init(format!("exec setup: unexpected {m:?}"))),
            // End of file once the program was executed (the channel is close-on-exec).
            None if exec_pid > 0 => break,
            None => {
                return Err(Error::Init(
                    "exec setup: the helper exited without saying why".into(),
                ));
            }
        }
    }
    if let Some(pf) = &opts.pid_file {
        write_atomic(&absolute(pf), exec_pid.to_string().as_bytes())?;
    }
    Ok(Execd { pid: exec_pid, pty })
}

fn join_and_clone(
    ch: &Channel,
    joins: &[(LinuxNamespaceType, OwnedFd)],
    root: &OwnedFd,
    process: &Process,
    console: &ConsoleTarget,
    seccomp: Option<&Compiled>,
    preserve_fds: i32,
) -> Result<()> {
    crate::init::reset_signals();
    for (t, fd) in joins {
        setns(fd, flag(*t)).ctx(|| format!("joining the container's {t:?} namespace"))?;
    }
    // Enter the container's root as its init sees it (works for pivot_root and chroot).
    nix::unistd::fchdir(root).ctx(|| "entering the container's root".into())?;
    nix::unistd::chroot(".").ctx(|| "chroot into the container".into())?;
    nix::unistd::chdir("/").ctx(|| "chdir /".into())?;
    match fork("the exec process", true, CloneFlags::empty(), None)? {
        Forked::Child { .. } => {
            let e = (|| -> Result<Error> {
                process::setup_console(process, console, ch, false)?;
                let program = process::prepare(process)?;
                Ok(process::finish_and_exec(
                    process,
                    &program,
                    seccomp,
                    preserve_fds,
                ))
            })();
            let e = e.unwrap_or_else(|e| e);
            let (msg, status) = match &e {
                Error::Exec { message, status } => (Msg::NoExec(message.clone(), *status), *status),
                other => (Msg::Failed(other.to_string()), 1),
            };
            if ch.send(&msg).is_err() {
                // Nobody listens any more: the process's stderr is all that is left.
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    format!("berth: {e}\n").as_bytes(),
                );
            }
            // SAFETY: leaving the forked child.
            unsafe { libc::_exit(status) }
        }
        Forked::Parent(pid) => ch.send(&Msg::Pid(pid)),
    }
}
