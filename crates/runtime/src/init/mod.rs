//! The processes that become a container.
//!
//! Stage 1 is forked by the runtime. It joins the namespaces given by path, creates the
//! user namespace (the runtime writes its id maps), then the other namespaces, and clones
//! stage 2 with `CLONE_PARENT`, so the container's init is the runtime's direct child (or
//! its subreaper's) and is the first process of a new pid namespace; on cgroup v2 the
//! clone places it in the container's cgroup. Stage 1 then exits.
//!
//! Stage 2 is the container's init: it joins its cgroup (see [`berth_cgroups::Joiner`]),
//! builds the rootfs, lets the runtime run its
//! hooks, pivots, applies the rest of the spec, reports `Ready`, waits on the exec fifo
//! for `start`, and executes the user's program.
//!
//! Both run in a freshly forked copy of a single-threaded runtime (design.md: "threads and
//! fork"), so allocating and using std is safe here.

pub mod caps;
pub mod exec;
pub mod fork;
pub mod process;
pub mod rlimits;

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use nix::fcntl::{OFlag, openat};
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid, setresgid, setresuid};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Error, Result, SysContext};
use crate::namespaces::Plan;
use crate::spec::has_namespace;
use crate::sync::{Channel, Msg};
use process::ConsoleTarget;

/// What the container's init needs to know.
pub struct InitConfig {
    /// The spec.
    pub spec: Spec,
    /// Absolute rootfs.
    pub rootfs: PathBuf,
    /// Absolute bundle.
    pub bundle: PathBuf,
    /// Namespaces to join and create.
    pub plan: Plan,
    /// The state directory, opened `O_PATH`, holding `exec.fifo`.
    pub state_dir: OwnedFd,
    /// The exec fifo itself, opened `O_PATH` by the runtime.
    pub fifo: OwnedFd,
    /// chroot instead of pivot_root.
    pub no_pivot: bool,
    /// Do not create a new session keyring.
    pub no_new_keyring: bool,
    /// Where the pty master goes.
    pub console: ConsoleTarget,
    /// Container id (for the keyring name).
    pub id: String,
    /// Descriptors from 3 upward to pass to the program.
    pub preserve_fds: i32,
    /// The container's cgroup path, as the runtime placed it.
    pub cgroup_path: String,
    /// The container's cgroup, opened for the init to join itself.
    pub cgroup: berth_cgroups::Joiner,
    /// `linux.seccomp`, compiled by the runtime before forking.
    pub seccomp: Option<crate::seccomp::Compiled>,
}

/// Runs stage 1 in the forked child; never returns.
pub fn stage1(ch: &Channel, cfg: &InitConfig) -> ! {
    if let Err(e) = stage1_inner(ch, cfg) {
        let _ = report(ch, &e);
        exit(1);
    }
    exit(0)
}

fn stage1_inner(ch: &Channel, cfg: &InitConfig) -> Result<()> {
    reset_signals();
    cfg.plan.join_all()?;
    if cfg.plan.new_userns() {
        nix::sched::unshare(CloneFlags::CLONE_NEWUSER)
            .ctx(|| "creating the user namespace".into())?;
        ch.send(&Msg::MapIds)?;
        ch.expect("id maps", |m| matches!(m, Msg::MapsDone))?;
        setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
            .ctx(|| "setresgid 0 in the user namespace".into())?;
        setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
            .ctx(|| "setresuid 0 in the user namespace".into())?;
    }
    // The cgroup namespace is made by the init itself, once it is in its cgroup; the pid
    // namespace by the clone that makes the init (see fork::fork).
    cfg.plan
        .unshare_rest(CloneFlags::CLONE_NEWCGROUP | CloneFlags::CLONE_NEWPID)?;
    let pid_ns = cfg.plan.create & CloneFlags::CLONE_NEWPID;
    if cfg
        .plan
        .create
        .contains(CloneFlags::from_bits_retain(libc::CLONE_NEWTIME))
    {
        write_time_offsets(&cfg.spec)?;
    }
    match fork::fork(
        "the container's init",
        true,
        pid_ns,
        cfg.cgroup.clone_target(),
    )? {
        fork::Forked::Child { in_cgroup } => stage2(ch, cfg, in_cgroup),
        fork::Forked::Parent(pid) => ch.send(&Msg::Pid(pid)),
    }
}

fn write_time_offsets(spec: &Spec) -> Result<()> {
    let mut text = String::new();
    if let Some(offsets) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref())
    {
        for (clock, off) in offsets {
            let name = match clock.as_str() {
                "monotonic" => "monotonic",
                "boottime" => "boottime",
                other => {
                    return Err(Error::Unsupported {
                        field: "linux.timeOffsets".into(),
                        message: format!("unknown clock {other:?}; use monotonic or boottime"),
                    });
                }
            };
            text.push_str(&format!(
                "{name} {} {}\n",
                off.secs().unwrap_or(0),
                off.nanosecs().unwrap_or(0)
            ));
        }
    }
    if !text.is_empty() {
        fs_err::write("/proc/self/timens_offsets", text)
            .map_err(|e| Error::io("writing", "/proc/self/timens_offsets", e))?;
    }
    Ok(())
}

/// The container's init when the runtime cloned it itself ([`crate::namespaces::Plan::direct`]
/// plans: no stage 1); never returns.
pub fn init_direct(ch: &Channel, cfg: &InitConfig, in_cgroup: bool) -> ! {
    reset_signals();
    stage2(ch, cfg, in_cgroup)
}

/// The container's init; never returns.
fn stage2(ch: &Channel, cfg: &InitConfig, in_cgroup: bool) -> ! {
    match stage2_inner(ch, cfg, in_cgroup) {
        Ok(never) => match never {},
        Err(e) => {
            let status = match &e {
                Error::Exec { status, .. } => *status,
                _ => 1,
            };
            // The runtime says it to the user; only when nobody listens any more (after
            // `create` returned) is the process's own stderr the place for it.
            if !report(ch, &e) {
                let _ = writeln!(std::io::stderr(), "berth: {e}");
            }
            exit(status)
        }
    }
}

enum Never {}

fn stage2_inner(ch: &Channel, cfg: &InitConfig, in_cgroup: bool) -> Result<Never> {
    // First of all, while single-threaded and before the cgroup namespace exists: into
    // the container's cgroup, by the moves that skip the kernel's global migration lock.
    cfg.cgroup.join_self(in_cgroup)?;
    if cfg.plan.create.contains(CloneFlags::CLONE_NEWNET) {
        // As runc and crun do: a new network namespace's loopback comes up, so that
        // 127.0.0.1 works in a container without other networking (`--network none`).
        crate::namespaces::loopback_up()?;
    }
    let spec = &cfg.spec;
    let process = spec.process().as_ref().ok_or_else(|| Error::Unsupported {
        field: "process".into(),
        message: "missing; nothing to run".into(),
    })?;
    let new_mntns = cfg.plan.create.contains(CloneFlags::CLONE_NEWNS);
    if new_mntns {
        crate::rootfs::prepare(&crate::rootfs::Prepare {
            spec,
            rootfs: &cfg.rootfs,
            bundle: &cfg.bundle,
            userns: cfg.plan.new_userns() || has_joined_userns(cfg),
            cgroup_path: Some(cfg.cgroup_path.as_str()),
        })?;
    }
    ch.send(&Msg::RunHooks)?;
    let state_json = match ch.expect("hooks", |m| matches!(m, Msg::HooksDone(_)))? {
        Msg::HooksDone(s) => s,
        _ => String::new(),
    };
    // We joined the container's cgroup first thing, so the cgroup namespace made now is
    // rooted there. Nothing of the user's runs before this.
    if cfg.plan.create.contains(CloneFlags::CLONE_NEWCGROUP) {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP)
            .ctx(|| "creating the cgroup namespace".into())?;
    }
    if let Some(hooks) = spec
        .hooks()
        .as_ref()
        .and_then(|h| h.create_container().as_ref())
    {
        run_hooks_json("createContainer", hooks, &state_json)?;
    }
    if new_mntns {
        crate::rootfs::enter(&cfg.rootfs, cfg.no_pivot)?;
    } else {
        nix::unistd::chroot(&cfg.rootfs).ctx(|| format!("chroot {}", cfg.rootfs.display()))?;
        nix::unistd::chdir("/").ctx(|| "chdir /".into())?;
    }
    process::setup_console(process, &cfg.console, ch, new_mntns)?;
    // Before the read-only paths: /proc/sys is one of them.
    if let Some(linux) = spec.linux() {
        for (k, v) in linux.sysctl().iter().flatten() {
            let path = format!("/proc/sys/{}", k.replace('.', "/"));
            fs_err::write(&path, v).map_err(|e| Error::io("setting sysctl", path, e))?;
        }
    }
    if new_mntns {
        crate::rootfs::finish(spec)?;
    }
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).ctx(|| format!("setting hostname {h:?}"))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|h| !h.is_empty()) {
        // SAFETY: setdomainname with a valid buffer and length.
        if unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) } != 0 {
            return Err(Error::sys(
                format!("setting domainname {d:?}"),
                nix::Error::last(),
            ));
        }
    }
    if let Some(adj) = process.oom_score_adj() {
        fs_err::write("/proc/self/oom_score_adj", adj.to_string()).map_err(|e| {
            Error::io(
                "setting process.oomScoreAdj via",
                "/proc/self/oom_score_adj",
                e,
            )
        })?;
    }
    if !cfg.no_new_keyring {
        join_session_keyring(&cfg.id);
    }
    let program = process::prepare(process)?;
    ch.send(&Msg::Ready)?;

    // Wait for `start`: opening the fifo for writing blocks until start opens it to read.
    // Reopening the runtime's O_PATH descriptor through /proc checks only the fifo's own
    // mode, so a root mapped to another host uid can open it; without /proc in the
    // container, fall back to the state directory.
    let via_proc = format!("/proc/self/fd/{}", cfg.fifo.as_raw_fd());
    let wr = OFlag::O_WRONLY | OFlag::O_CLOEXEC;
    let fifo = loop {
        let r = match nix::fcntl::open(via_proc.as_str(), wr, Mode::empty()) {
            Err(nix::Error::ENOENT) => openat(&cfg.state_dir, "exec.fifo", wr, Mode::empty()),
            r => r,
        };
        match r {
            Err(nix::Error::EINTR) => continue,
            r => break r.ctx(|| "opening the exec fifo".into())?,
        }
    };
    // startContainer hooks run once start was called, before the program. Then the
    // process is finished (user, capabilities, seccomp) and one byte tells `start` all is
    // well; the fifo (close-on-exec) reaching end-of-file then tells it the exec happened,
    // so poststart hooks run after the program started. A failure is written back as
    // 'E' and the message, so `start` fails instead of reporting success.
    let ready = (|| -> Result<()> {
        if let Some(hooks) = spec
            .hooks()
            .as_ref()
            .and_then(|h| h.start_container().as_ref())
        {
            run_hooks_json("startContainer", hooks, &state_json)?;
        }
        process::finish(process, cfg.seccomp.as_ref(), cfg.preserve_fds)
    })();
    if let Err(e) = ready {
        let _ = nix::unistd::write(&fifo, format!("E{e}").as_bytes());
        return Err(e);
    }
    nix::unistd::write(&fifo, b"0").ctx(|| "writing the exec fifo".into())?;
    let err = process::exec_program(process, &program);
    let _ = nix::unistd::write(&fifo, format!("E{err}").as_bytes());
    Err(err)
}

fn has_joined_userns(cfg: &InitConfig) -> bool {
    cfg.plan
        .join
        .iter()
        .any(|(t, _)| *t == LinuxNamespaceType::User)
        || (has_namespace(&cfg.spec, LinuxNamespaceType::User) && !cfg.plan.new_userns())
}

fn run_hooks_json(
    kind: &'static str,
    hooks: &[oci_spec::runtime::Hook],
    state_json: &str,
) -> Result<()> {
    crate::hooks::run_json(kind, hooks, state_json.as_bytes())
}

/// A new session keyring per container, so containers do not share the host's keys.
fn join_session_keyring(id: &str) {
    let Ok(name) = std::ffi::CString::new(format!("_ses.{id}")) else {
        return;
    };
    // KEYCTL_JOIN_SESSION_KEYRING = 1. Failure (ENOSYS, EACCES under some LSMs) is not fatal.
    // SAFETY: keyctl with a valid C string.
    unsafe { libc::syscall(libc::SYS_keyctl, 1, name.as_ptr()) };
}

/// The runtime blocks signals it relays and Rust ignores SIGPIPE; the container's
/// program must start with default dispositions and nothing blocked.
pub fn reset_signals() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    for sig in Signal::iterator() {
        if !matches!(sig, Signal::SIGKILL | Signal::SIGSTOP) {
            // SAFETY: restoring the default disposition installs no handler code.
            let _ = unsafe { signal(sig, SigHandler::SigDfl) };
        }
    }
    let _ = nix::sys::signal::SigSet::all().thread_unblock();
}

fn report(ch: &Channel, e: &Error) -> bool {
    let msg = match e {
        Error::Exec { message, status } => Msg::NoExec(message.clone(), *status),
        other => Msg::Failed(other.to_string()),
    };
    ch.send(&msg).is_ok()
}

fn exit(code: i32) -> ! {
    // SAFETY: _exit skips atexit handlers and stdio flushing that belong to the parent.
    unsafe { libc::_exit(code) }
}
