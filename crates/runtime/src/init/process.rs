//! The last steps before the user's program runs, shared by a container's init and by
//! `exec`: console, limits, labels, user, capabilities, no_new_privs, seccomp, exec.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use nix::unistd::{Gid, Uid, setgroups, setresgid, setresuid};
use oci_spec::runtime::Process;

use super::{caps, exec, rlimits};
use crate::console;
use crate::error::{Error, Result, SysContext};
use crate::seccomp::Compiled;
use crate::sync::{Channel, Msg};

/// Where a terminal's master goes.
pub enum ConsoleTarget {
    /// No terminal.
    None,
    /// Sent over a runc-style console socket, connected by the runtime.
    Socket(std::os::fd::OwnedFd),
    /// Sent to the runtime over the setup channel.
    Runtime,
}

/// Opens the pty (if asked) and hands the master over; call after pivot_root.
pub fn setup_console(
    p: &Process,
    target: &ConsoleTarget,
    ch: &Channel,
    bind_console: bool,
) -> Result<()> {
    if !p.terminal().unwrap_or(false) {
        return Ok(());
    }
    let size = p.console_size().map(|b| {
        (
            u16::try_from(b.height()).unwrap_or(24),
            u16::try_from(b.width()).unwrap_or(80),
        )
    });
    let pty = console::open_pty(size)?;
    if bind_console {
        // /dev/console is the pty too, as on a real system.
        let c = std::path::Path::new("/dev/console");
        if fs_err::symlink_metadata(c).is_err() {
            let _ = fs_err::File::create(c);
        }
        nix::mount::mount(
            Some(pty.slave_path.as_str()),
            c,
            None::<&str>,
            nix::mount::MsFlags::MS_BIND,
            None::<&str>,
        )
        .ctx(|| "binding the pty to /dev/console".into())?;
    }
    match target {
        ConsoleTarget::Socket(sock) => console::send_master(sock, &pty.master, &pty.slave_path)?,
        ConsoleTarget::Runtime => ch.send_with_fd(&Msg::Pty, Some(pty.master.as_raw_fd()))?,
        ConsoleTarget::None => {
            return Err(Error::Unsupported {
                field: "process.terminal".into(),
                message: "a terminal was asked for but nothing holds its other end\nhint: pass --console-socket, or set terminal to false".into(),
            });
        }
    }
    console::become_stdio(&pty.slave)
}

/// Applies rlimits and LSM labels, and checks the program can be found (still root).
pub fn prepare(p: &Process) -> Result<PathBuf> {
    rlimits::apply(p.rlimits().as_deref().unwrap_or(&[]))?;
    if let Some(profile) = p.apparmor_profile() {
        crate::lsm::apply_apparmor(profile)?;
    }
    if let Some(label) = p.selinux_label() {
        crate::lsm::apply_selinux(label)?;
    }
    let args = p.args().as_deref().unwrap_or(&[]);
    let arg0 = args.first().map_or("", String::as_str);
    let env = p.env().as_deref().unwrap_or(&[]);
    exec::find_program(arg0, env).map_err(|e| Error::Exec {
        message: e.message,
        status: e.status,
    })
}

/// Switches user, sets capabilities, no_new_privs and seccomp, changes directory and
/// executes the program. Only returns on failure.
pub fn finish_and_exec(
    p: &Process,
    program: &std::path::Path,
    seccomp: Option<&Compiled>,
    preserve_fds: i32,
) -> Error {
    match finish(p, seccomp, preserve_fds) {
        Ok(()) => exec_program(p, program),
        Err(e) => e,
    }
}

/// Executes the program; only returns on failure, explaining it as precisely as it can.
pub fn exec_program(p: &Process, program: &std::path::Path) -> Error {
    let args: Vec<CString> = p
        .args()
        .iter()
        .flatten()
        .map(|a| CString::new(a.as_str()).unwrap_or_default())
        .collect();
    let env: Vec<CString> = p
        .env()
        .iter()
        .flatten()
        .filter_map(|e| CString::new(e.as_str()).ok())
        .collect();
    let Ok(path) = CString::new(program.as_os_str().as_encoded_bytes()) else {
        return Error::Init(format!(
            "program path {} contains a NUL byte",
            program.display()
        ));
    };
    let err = nix::unistd::execve(&path, &args, &env).err();
    match exec::check_runnable(program) {
        Err(problem) => Error::Exec {
            message: problem.message,
            status: problem.status,
        },
        Ok(()) => Error::Exec {
            message: format!(
                "exec {}: {}",
                program.display(),
                err.map_or_else(|| "failed".into(), |e| e.desc().to_string())
            ),
            status: 126,
        },
    }
}

/// User, groups, capabilities, no_new_privs, seccomp, cwd, descriptors: everything
/// between the runtime's setup and the exec.
pub fn finish(p: &Process, filter: Option<&Compiled>, preserve_fds: i32) -> Result<()> {
    let user = p.user();
    let nnp = p.no_new_privileges().unwrap_or(false);
    if let Some(mask) = user.umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    // Keep permitted caps across the uid change; we set the exact sets after it.
    nix::sys::prctl::set_keepcaps(true).ctx(|| "PR_SET_KEEPCAPS".into())?;
    caps::drop_bounding(p.capabilities().as_ref())?;
    if !nnp && let Some(f) = filter {
        // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which we still have.
        f.load()?;
    }
    let gids: Vec<Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| Gid::from_raw(*g))
        .collect();
    match setgroups(&gids) {
        // In a user namespace where setgroups is denied, only an empty list is possible.
        Err(nix::Error::EPERM) if gids.is_empty() => {}
        r => r.ctx(|| format!("setgroups {:?}", user.additional_gids()))?,
    }
    let gid = Gid::from_raw(user.gid());
    setresgid(gid, gid, gid).ctx(|| format!("setting gid {}", user.gid()))?;
    let uid = Uid::from_raw(user.uid());
    setresuid(uid, uid, uid).ctx(|| format!("setting uid {}", user.uid()))?;
    nix::sys::prctl::set_keepcaps(false).ctx(|| "PR_SET_KEEPCAPS".into())?;
    caps::apply(p.capabilities().as_ref())?;
    if nnp {
        nix::sys::prctl::set_no_new_privs().ctx(|| "PR_SET_NO_NEW_PRIVS".into())?;
        if let Some(f) = filter {
            f.load()?;
        }
    }
    nix::unistd::chdir(p.cwd()).ctx(|| format!("chdir to process.cwd {}", p.cwd().display()))?;
    close_fds_from(3 + preserve_fds.max(0));
    Ok(())
}

/// Marks every descriptor from `first` up close-on-exec, so nothing of the runtime leaks.
fn close_fds_from(first: i32) {
    let first = u32::try_from(first).unwrap_or(3);
    // SAFETY: close_range only changes descriptor flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r != 0
        && let Ok(dir) = fs_err::read_dir("/proc/self/fd")
    {
        let fds: Vec<i32> = dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|fd| *fd >= i32::try_from(first).unwrap_or(3))
            .collect();
        for fd in fds {
            // SAFETY: setting FD_CLOEXEC on a descriptor number; harmless if stale.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
}
