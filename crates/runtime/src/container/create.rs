//! `create`: set up a container up to the point where it waits for `start`.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use nix::fcntl::{OFlag, open};
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::{Pid, mkfifo};
use oci_spec::runtime::LinuxIdMapping;

use super::{Container, Runtime, absolute, default_cgroup_path, oci_state_of};
use crate::error::{Error, Result, SysContext};
use crate::init::fork::{Forked, fork};
use crate::init::process::ConsoleTarget;
use crate::init::{self, InitConfig};
use crate::namespaces::Plan;
use crate::seccomp::Compiled;
use crate::spec::Bundle;
use crate::state::{Saved, StateDir, Status, now_rfc3339, pid_start_time, write_atomic};
use crate::sync::{self, Msg};

/// Options of `create` (and `run`).
#[derive(Debug, Default, Clone)]
pub struct CreateOptions {
    /// Write the init's pid here.
    pub pid_file: Option<PathBuf>,
    /// Send the pty master to this unix socket.
    pub console_socket: Option<PathBuf>,
    /// chroot instead of pivot_root.
    pub no_pivot: bool,
    /// Keep the runtime's session keyring.
    pub no_new_keyring: bool,
    /// Descriptors from 3 upward handed to the program.
    pub preserve_fds: i32,
    /// The runtime holds the pty master itself (foreground `run`).
    pub pty_to_runtime: bool,
}

/// The result of `create`: the container, and the pty master if the runtime holds it.
pub struct Created {
    /// The created container.
    pub container: Container,
    /// The pty master when [`CreateOptions::pty_to_runtime`] was set.
    pub pty: Option<OwnedFd>,
}

/// Removes what a failed create made, in reverse order; reports nothing itself.
struct Undo {
    dir: Option<StateDir>,
    cgroup: Option<berth_cgroups::Cgroup>,
    pids: Vec<i32>,
}

impl Drop for Undo {
    fn drop(&mut self) {
        for pid in &self.pids {
            let _ = nix::sys::signal::kill(Pid::from_raw(*pid), nix::sys::signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(*pid), None);
        }
        if let Some(cg) = &self.cgroup {
            let _ = cg.kill_all(libc::SIGKILL);
            let _ = cg.destroy();
        }
        if let Some(d) = &self.dir {
            let _ = fs_err::remove_dir_all(&d.dir);
        }
    }
}

/// Creates container `id` from `bundle`.
pub fn create(rt: &Runtime, id: &str, bundle: Bundle, opts: &CreateOptions) -> Result<Created> {
    create_with(rt, id, bundle, opts, &mut |_| Ok(()))
}

/// What [`create_with`] calls once the init exists: with the init's pid, while the init
/// builds its root filesystem. An `Err` fails the create (its text ends the error message).
pub type OnInit<'a> = dyn FnMut(i32) -> std::result::Result<(), String> + 'a;

/// [`create`], calling `on_init` as soon as the init exists. The init runs nothing of the
/// container's before `on_init` returns: it waits for the runtime's answer to its hooks
/// request, which comes after. The engine sets up the container's network there.
pub fn create_with(
    rt: &Runtime,
    id: &str,
    bundle: Bundle,
    opts: &CreateOptions,
    on_init: &mut OnInit<'_>,
) -> Result<Created> {
    let dir = StateDir::new(&rt.root, id)?;
    rt.ensure_root()?;
    match fs_err::create_dir(&dir.dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::AlreadyExists { id: id.to_string() });
        }
        Err(e) => return Err(Error::io("creating state dir", &dir.dir, e)),
    }
    let mut undo = Undo {
        dir: Some(dir.clone()),
        cgroup: None,
        pids: Vec::new(),
    };
    let spec = &bundle.spec;
    let process = spec.process().as_ref().ok_or_else(|| Error::Unsupported {
        field: "process".into(),
        message: "missing; `create` needs a process to run".into(),
    })?;
    if process.terminal().unwrap_or(false) && opts.console_socket.is_none() && !opts.pty_to_runtime
    {
        return Err(Error::Unsupported {
            field: "process.terminal".into(),
            message: "a terminal needs --console-socket when the runtime does not stay attached"
                .into(),
        });
    }
    dir.save_spec(spec)?;
    mkfifo(&dir.fifo(), Mode::from_bits_truncate(0o622))
        .ctx(|| format!("creating {}", dir.fifo().display()))?;
    // Not subject to the umask: a container root mapped to another host uid must be able
    // to open it for writing (through the descriptor below, as it cannot reach the dir).
    nix::sys::stat::fchmodat(
        nix::fcntl::AT_FDCWD,
        &dir.fifo(),
        Mode::from_bits_truncate(0o622),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .ctx(|| format!("chmod {}", dir.fifo().display()))?;
    let fifo = open(&dir.fifo(), OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .ctx(|| format!("opening {}", dir.fifo().display()))?;
    let linux = spec.linux().as_ref();
    let cgroup_path = linux
        .and_then(|l| l.cgroups_path().as_ref())
        .map(|p| p.display().to_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| default_cgroup_path(id));
    let mut saved = Saved {
        id: id.to_string(),
        pid: 0,
        pid_start: 0,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: now_rfc3339(),
        cgroup_path: cgroup_path.clone(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        owner: nix::unistd::geteuid().as_raw(),
        no_pivot: opts.no_pivot,
    };
    dir.save(&saved)?;

    let cgroup = berth_cgroups::Cgroup::new(&cgroup_path)?;
    // A `delete` of the last sibling may remove an empty parent between our mkdirs.
    let mut tries = 0;
    while let Err(e) = cgroup.create() {
        tries += 1;
        if tries == 3 {
            return Err(e.into());
        }
    }
    undo.cgroup = Some(berth_cgroups::Cgroup::new(&cgroup_path)?);
    if let Some(res) = linux.and_then(|l| l.resources().as_ref()) {
        cgroup.apply(&with_default_devices(res, linux))?;
    }

    let plan = Plan::new(linux.and_then(|l| l.namespaces().as_deref()).unwrap_or(&[]))?;
    let state_dir = open(
        &dir.dir,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("opening {}", dir.dir.display()))?;
    let console = match (&opts.console_socket, opts.pty_to_runtime) {
        (Some(p), _) => ConsoleTarget::Socket(crate::console::connect_socket(&absolute(p))?),
        (None, true) => ConsoleTarget::Runtime,
        (None, false) => ConsoleTarget::None,
    };
    let cfg = InitConfig {
        spec: spec.clone(),
        rootfs: bundle.rootfs.clone(),
        bundle: bundle.dir.clone(),
        plan,
        state_dir,
        fifo,
        no_pivot: opts.no_pivot,
        no_new_keyring: opts.no_new_keyring,
        console,
        id: id.to_string(),
        preserve_fds: opts.preserve_fds,
        cgroup_path: cgroup_path.clone(),
        cgroup: cgroup.joiner()?,
        seccomp: spec
            .linux()
            .as_ref()
            .and_then(|l| l.seccomp().as_ref())
            .map(|s| Compiled::cached(&rt.root, s))
            .transpose()?,
    };
    let (parent, child) = sync::pair()?;
    let mut init_pid = 0;
    // Stage 1 (the process that makes the namespaces, then clones the init) only when the
    // plan needs it: the runtime clones the init itself otherwise, one fork fewer.
    let stage1 = if cfg.plan.direct() {
        let entered = cfg.plan.enter_for_clone()?;
        let created = cfg.plan.create - CloneFlags::CLONE_NEWCGROUP;
        match fork(
            "the container's init",
            false,
            created,
            cfg.cgroup.clone_target(),
        )? {
            Forked::Child { in_cgroup } => {
                entered.stay();
                drop(parent);
                init::init_direct(&child, &cfg, in_cgroup)
            }
            Forked::Parent(pid) => {
                undo.pids.push(pid);
                entered.leave()?;
                init_pid = pid;
                record_pid(&mut saved, &dir, pid)?;
                on_init(pid).map_err(Error::Init)?;
                None
            }
        }
    } else {
        // SAFETY: the runtime is single-threaded when it creates containers (design.md).
        match unsafe { nix::unistd::fork() }
            .ctx(|| "forking the container's setup process".into())?
        {
            nix::unistd::ForkResult::Child => {
                drop(parent);
                init::stage1(&child, &cfg)
            }
            nix::unistd::ForkResult::Parent { child: pid } => {
                undo.pids.push(pid.as_raw());
                Some(pid)
            }
        }
    };
    drop(child);

    let mut pty = None;
    let mut hooks_asked = false;
    loop {
        let Some((msg, fd)) = parent.recv()? else {
            return Err(Error::Init(
                "container setup: the container's init exited without saying why".into(),
            ));
        };
        match msg {
            Msg::MapIds => {
                // Only stage 1 makes a user namespace (Plan::direct).
                let Some(stage1) = stage1 else {
                    return Err(Error::Init(
                        "container setup: an id map request without a stage 1".into(),
                    ));
                };
                write_id_maps(stage1.as_raw(), linux)?;
                parent.send(&Msg::MapsDone)?;
            }
            Msg::Pid(p) => {
                init_pid = p;
                // The init joins its cgroup itself (InitConfig::cgroup).
                undo.pids.push(p);
                if let Some(stage1) = stage1 {
                    let _ = waitpid(stage1, None);
                    undo.pids.retain(|x| *x != stage1.as_raw());
                }
                record_pid(&mut saved, &dir, p)?;
                on_init(p).map_err(Error::Init)?;
                if hooks_asked {
                    run_create_hooks(spec, &saved, &parent)?;
                }
            }
            // The init and stage 1 share the channel: the init may ask for its hooks before
            // stage 1's message with its pid arrived. Hooks need the pid; they wait for it.
            Msg::RunHooks if init_pid == 0 => hooks_asked = true,
            Msg::RunHooks => run_create_hooks(spec, &saved, &parent)?,
            Msg::Pty => pty = fd,
            Msg::Ready => break,
            Msg::Failed(e) => return Err(Error::Init(e)),
            Msg::NoExec(message, status) => return Err(Error::Exec { message, status }),
            other => {
                return Err(Error::Init(format!(
                    "container setup: unexpected {other:?}"
                )));
            }
        }
    }
    if let Some(pf) = &opts.pid_file {
        let pf = absolute(pf);
        write_atomic(&pf, init_pid.to_string().as_bytes())?;
    }
    undo.dir = None;
    undo.cgroup = None;
    undo.pids.clear();
    Ok(Created {
        container: Container { saved, dir },
        pty,
    })
}

/// Saves the init's pid (and its start time, which tells a reused pid apart) in the state.
fn record_pid(saved: &mut Saved, dir: &StateDir, pid: i32) -> Result<()> {
    saved.pid = pid;
    saved.pid_start = pid_start_time(pid).unwrap_or(0);
    dir.save(saved)
}

/// Runs prestart and createRuntime hooks and answers the init with the state document.
fn run_create_hooks(
    spec: &oci_spec::runtime::Spec,
    saved: &Saved,
    ch: &sync::Channel,
) -> Result<()> {
    // runtime-tools' hooks_stdin expects "created" here, as runc reports it.
    let state = oci_state_of(saved, Status::Created);
    if let Some(h) = spec.hooks() {
        let hooks: Vec<_> = h
            .prestart()
            .iter()
            .flatten()
            .chain(h.create_runtime().iter().flatten())
            .cloned()
            .collect();
        crate::hooks::run("createRuntime", &hooks, &state)?;
    }
    let json = serde_json::to_string(&state).map_err(|e| Error::Init(e.to_string()))?;
    ch.send(&Msg::HooksDone(json))
}

/// Writes uid_map and gid_map of `pid` (the runtime is root in the parent namespace).
fn write_id_maps(pid: i32, linux: Option<&oci_spec::runtime::Linux>) -> Result<()> {
    let fmt = |maps: Option<&Vec<LinuxIdMapping>>| {
        maps.into_iter()
            .flatten()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect::<String>()
    };
    let uid = fmt(linux.and_then(|l| l.uid_mappings().as_ref()));
    let gid = fmt(linux.and_then(|l| l.gid_mappings().as_ref()));
    let path = format!("/proc/{pid}/uid_map");
    fs_err::write(&path, uid).map_err(|e| Error::io("writing linux.uidMappings to", path, e))?;
    let path = format!("/proc/{pid}/gid_map");
    fs_err::write(&path, gid).map_err(|e| Error::io("writing linux.gidMappings to", path, e))?;
    Ok(())
}

/// The spec's device rules followed by the devices every container needs, as runc does:
/// a spec that denies everything must still let the runtime create /dev/null and friends,
/// and the container use its pty. Appended after the spec's rules so those keep their
/// positions in `devices.list`.
fn with_default_devices(
    res: &oci_spec::runtime::LinuxResources,
    linux: Option<&oci_spec::runtime::Linux>,
) -> oci_spec::runtime::LinuxResources {
    use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
    let Some(rules) = res.devices().as_ref().filter(|r| !r.is_empty()) else {
        return res.clone();
    };
    let rule = |typ, major: Option<i64>, minor: Option<i64>, access: &str| {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(true);
        r.set_typ(Some(typ));
        r.set_major(major);
        r.set_minor(minor);
        r.set_access(Some(access.to_string()));
        r
    };
    let mut all = rules.clone();
    all.push(rule(LinuxDeviceType::C, None, None, "m"));
    all.push(rule(LinuxDeviceType::B, None, None, "m"));
    for (major, minor) in [
        (1, 3),
        (1, 5),
        (1, 7),
        (1, 8),
        (1, 9),
        (5, 0),
        (5, 1),
        (5, 2),
        (10, 200),
    ] {
        all.push(rule(LinuxDeviceType::C, Some(major), Some(minor), "rwm"));
    }
    all.push(rule(LinuxDeviceType::C, Some(136), None, "rwm"));
    for d in linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
    {
        let typ = match d.typ() {
            LinuxDeviceType::B => LinuxDeviceType::B,
            _ => LinuxDeviceType::C,
        };
        if matches!(d.typ(), LinuxDeviceType::P) {
            continue; // fifos are not device-cgroup controlled
        }
        all.push(rule(typ, Some(d.major()), Some(d.minor()), "rwm"));
    }
    let mut out = res.clone();
    out.set_devices(Some(all));
    out
}
