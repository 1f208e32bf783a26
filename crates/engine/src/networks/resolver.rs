//! The helper processes of networks: a user network's resolver (`berth __dns DIR`)
//! and, where nftables is missing, a container's port proxy (`berth __proxy STATE
//! ID`). Each runs on its own, detached (double fork, new session), so it outlives the
//! berth process that started it and leaves no zombie; each exits by itself when
//! berth-net's state says its work is gone.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::net_state_dir;
use crate::{Error, Result};

/// The resolver directory of network `key`.
pub fn dir(key: &str) -> PathBuf {
    net_state_dir().join("dns").join(key)
}

/// Where a network resolver forwards names it does not own: the host's resolvers
/// that containers can reach (loopback ones cannot be), or public ones.
pub fn upstreams() -> Vec<std::net::SocketAddr> {
    let text = fs_err::read_to_string("/etc/resolv.conf").unwrap_or_default();
    berth_net::files::resolver_upstreams(&text)
}

fn recorded_pid(path: &Path) -> Option<i32> {
    fs_err::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .filter(|p| *p > 1)
}

/// Whether the pid recorded in `path` runs (not merely exists: a resolver that was
/// killed stays a zombie until PID 1 reaps it, which some hosts' init does slowly).
fn pid_alive(path: &Path) -> bool {
    recorded_pid(path)
        .and_then(crate::pidfd::open)
        .is_some_and(|fd| !crate::pidfd::wait(&fd, Duration::ZERO))
}

/// Whether process `pid` is the resolver of `dir` (its command line says so), so a
/// pid reused after a crash is never signalled.
fn is_resolver(pid: i32, dir: &Path) -> bool {
    fs_err::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
        let args: Vec<&[u8]> = c.split(|b| *b == 0).collect();
        args.get(1) == Some(&b"__dns".as_slice())
            && args.get(2) == Some(&dir.as_os_str().as_encoded_bytes())
    })
}

/// Starts `berth HELPER ARG...` detached: the child forks again at once (see
/// [`daemonize`]), so waiting for it is quick and nothing is left to reap.
pub fn spawn_helper(helper: &str, a: &Path, b: &str) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| Error::io("/proc/self/exe", e))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg(helper)
        .arg(a)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if !b.is_empty() {
        cmd.arg(b);
    }
    // SAFETY: setsid and unblock_signals are async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Started by a monitor, the helper would otherwise ignore the SIGTERM that
            // stops it and linger until its next poll (up to 100 ms).
            berth_runtime::unblock_signals()
        });
    }
    let status = cmd
        .status()
        .map_err(|e| Error::io(format!("berth {helper}"), e))?;
    if !status.success() {
        return Err(Error::Monitor(format!(
            "berth {helper} failed to start ({status})"
        )));
    }
    Ok(())
}

/// Called first by a helper: forks; the parent exits 0 at once (so its caller's wait
/// returns) and the child carries on, reparented to init (or a subreaper).
pub fn daemonize() -> Result<()> {
    // SAFETY: the helper is single-threaded here; the parent only exits.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => std::process::exit(0),
        Ok(nix::unistd::ForkResult::Child) => Ok(()),
        Err(e) => Err(Error::Sys {
            what: "fork".into(),
            source: e,
        }),
    }
}

/// Starts the resolver of `dir` unless it runs, and waits until it listens.
pub fn ensure(dir: &Path) -> Result<()> {
    let pid = dir.join("resolver.pid");
    if pid_alive(&pid) {
        return Ok(());
    }
    let _ = fs_err::remove_file(&pid);
    spawn_helper("__dns", dir, "")?;
    // serve() writes its pid once both sockets are bound.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        if pid_alive(&pid) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err(Error::Monitor(format!(
        "the resolver of {} did not start\nhint: is something else listening on port 53 of the network's gateway?",
        dir.display()
    )))
}

/// Stops the resolver of `dir` and waits briefly for it, so a test or the network's
/// next resolver sees port 53 free. It would exit by itself within its poll interval
/// once its records file is gone; SIGTERM (it has no handler: it dies at once) saves
/// the wait, which a `run --rm` on a user network would otherwise pay.
pub fn stop(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    berth_net::dns::stop(dir)?;
    // Opened before the command line is checked, the pidfd names the process that
    // was checked, never one that reused its pid. It turns readable the moment the
    // resolver has ended (its sockets closed), without waiting for PID 1 to reap it.
    let resolver = recorded_pid(&dir.join("resolver.pid"))
        .and_then(|p| crate::pidfd::open(p).filter(|_| is_resolver(p, dir)));
    if let Some(fd) = resolver {
        crate::pidfd::signal(&fd, rustix::process::Signal::TERM);
        crate::pidfd::wait(&fd, Duration::from_secs(2));
    }
    let _ = fs_err::remove_dir_all(dir);
    Ok(())
}

/// Entry point of `berth __dns DIR`.
pub fn dns_main(dir: &Path) -> Result<()> {
    daemonize()?;
    berth_net::dns::serve(dir)?;
    Ok(())
}

/// Entry point of `berth __proxy STATE ID`.
pub fn proxy_main(state: &Path, id: &str) -> Result<()> {
    daemonize()?;
    berth_net::proxy::serve(state, id)?;
    Ok(())
}
