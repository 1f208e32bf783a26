//! `--init`: berth itself as the container's PID 1, reaping zombies and forwarding
//! signals to the program (what Docker's docker-init/tini does).
//!
//! The berth binary is usually linked dynamically against the host's glibc, which the
//! image may lack (Alpine is musl). So berth, the host's dynamic loader and the shared
//! libraries berth has mapped are copied once into `<data>/init/<key>/` and that
//! directory is bind-mounted read-only at [`INIT_DIR`]; the loader then runs berth
//! from there with `--library-path`, never touching the image's own libraries.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::{Error, Result};

/// Where the init directory appears in the container (on the `/dev` tmpfs, so
/// nothing is created in the container's own filesystem).
pub const INIT_DIR: &str = "/dev/.berth-init";

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source: e,
    }
}

/// Shared objects mapped into this process (`/proc/self/maps`): the loader and libs.
fn mapped_libraries() -> Vec<PathBuf> {
    let maps = fs_err::read_to_string("/proc/self/maps").unwrap_or_default();
    let mut libs: Vec<PathBuf> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.starts_with('/') && (p.ends_with(".so") || p.contains(".so.")))
        .map(PathBuf::from)
        .collect();
    libs.sort();
    libs.dedup();
    libs
}

/// Makes (once per berth binary) the directory to mount at [`INIT_DIR`]; returns it.
pub fn prepare(data: &Path) -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| io(Path::new("/proc/self/exe"), e))?;
    let meta = fs_err::metadata(&exe).map_err(|e| io(&exe, e))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let dir = data.join("init").join(format!("{}-{mtime:x}", meta.len()));
    if dir.join("berth").exists() {
        return Ok(dir);
    }
    let parent = data.join("init");
    fs_err::create_dir_all(&parent).map_err(|e| io(&parent, e))?;
    // Per thread, not per process: `compose up` creates a dependency level's containers
    // from several threads at once, and they must not share (and remove) one staging dir.
    let staging = parent.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        nix::unistd::gettid()
    ));
    let _ = fs_err::remove_dir_all(&staging);
    fs_err::create_dir_all(staging.join("lib")).map_err(|e| io(&staging, e))?;
    fs_err::copy(&exe, staging.join("berth")).map_err(|e| io(&exe, e))?;
    for lib in mapped_libraries() {
        let Some(name) = lib.file_name() else {
            continue;
        };
        if name.to_string_lossy().starts_with("ld-linux") {
            let target = staging.join("ld.so");
            fs_err::copy(&lib, &target).map_err(|e| io(&lib, e))?;
            continue;
        }
        let target = staging.join("lib").join(name);
        fs_err::copy(&lib, &target).map_err(|e| io(&lib, e))?;
        // The loader looks libraries up by soname (liblzma.so.5), the map names the
        // file (liblzma.so.5.4.1): link every shorter version-suffixed name.
        let mut n = name.to_string_lossy().into_owned();
        while let Some((shorter, last)) = n.rsplit_once('.')
            && last.chars().all(|c| c.is_ascii_digit())
            && shorter.contains(".so")
        {
            let link = staging.join("lib").join(shorter);
            if !link.exists() {
                std::os::unix::fs::symlink(name, &link).map_err(|e| io(&link, e))?;
            }
            n = shorter.to_owned();
        }
    }
    match fs_err::rename(&staging, &dir) {
        Ok(()) => Ok(dir),
        // Another berth made it at the same time.
        Err(_) if dir.join("berth").exists() => {
            let _ = fs_err::remove_dir_all(&staging);
            Ok(dir)
        }
        Err(e) => Err(io(&dir, e)),
    }
}

/// The init's argv inside the container, wrapping `cmd`. `dynamic`: the init directory
/// holds a loader (`ld.so`).
pub fn argv(dynamic: bool, cmd: Vec<String>) -> Vec<String> {
    let mut a: Vec<String> = if dynamic {
        vec![
            format!("{INIT_DIR}/ld.so"),
            "--library-path".into(),
            format!("{INIT_DIR}/lib"),
            format!("{INIT_DIR}/berth"),
        ]
    } else {
        vec![format!("{INIT_DIR}/berth")]
    };
    a.push("__init".into());
    a.push("--".into());
    a.extend(cmd);
    a
}

/// The init itself (`berth __init -- CMD…`, PID 1 in the container): starts `cmd` in
/// its own process group (owning the terminal if there is one), forwards every signal
/// to it, reaps every child, and exits with the program's status (128+N when killed
/// by signal N).
pub fn run(cmd: &[String]) -> i32 {
    let Some(program) = cmd.first() else {
        return 125;
    };
    let mut all = SigSet::all();
    all.remove(Signal::SIGKILL);
    all.remove(Signal::SIGSTOP);
    if all.thread_block().is_err() {
        return 125;
    }
    let Ok(sfd) = SignalFd::with_flags(&all, SfdFlags::SFD_CLOEXEC) else {
        return 125;
    };
    let mut command = std::process::Command::new(program);
    command.args(&cmd[1..]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::setpgid(0, 0);
            if libc::isatty(0) == 1 {
                libc::signal(libc::SIGTTOU, libc::SIG_IGN);
                libc::tcsetpgrp(0, libc::getpid());
                libc::signal(libc::SIGTTOU, libc::SIG_DFL);
            }
            berth_runtime::unblock_signals()
        });
    }
    let child = match command.spawn() {
        Ok(c) => i32::try_from(c.id()).unwrap_or(-1),
        Err(e) => {
            let status = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("berth-init: exec {program}: {e}\n").as_bytes(),
            );
            return status;
        }
    };
    loop {
        let Ok(Some(info)) = sfd.read_signal() else {
            continue;
        };
        let signo = i32::try_from(info.ssi_signo).unwrap_or(0);
        if signo != libc::SIGCHLD {
            // SAFETY: forwarding a signal number the kernel gave us to our child.
            unsafe { libc::kill(child, signo) };
            continue;
        }
        let mut code = None;
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(ws) if ws.pid() == Some(Pid::from_raw(child)) => {
                    code = berth_runtime::exit_code_of(ws);
                }
                Ok(_) => {}
            }
        }
        if let Some(c) = code {
            let _ = all.thread_set_mask();
            let _ = SigSet::empty().thread_swap_mask(SigmaskHow::SIG_SETMASK);
            return c;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_wraps_the_command() {
        let a = argv(true, vec!["sleep".into(), "1".into()]);
        assert_eq!(a[0], "/dev/.berth-init/ld.so");
        assert_eq!(
            &a[3..],
            &["/dev/.berth-init/berth", "__init", "--", "sleep", "1"]
        );
        assert_eq!(argv(false, vec!["x".into()])[0], "/dev/.berth-init/berth");
    }

    #[test]
    fn this_process_maps_its_libraries() {
        // The test binary is dynamic on glibc hosts: libc must be among them.
        let libs = mapped_libraries();
        assert!(
            libs.iter().any(|l| l.to_string_lossy().contains("libc")),
            "{libs:?}"
        );
    }
}
