//! berth's OCI runtime: an OCI bundle (`config.json` + rootfs) becomes a running,
//! confined process, with no runc or crun underneath.
//!
//! It owns namespaces, the root filesystem (mounts, devices, `pivot_root`, masked and
//! read-only paths), cgroups (through `berth-cgroups`), capabilities, seccomp, rlimits,
//! user namespace id maps, the console, hooks and exec. It knows nothing of images,
//! registries or networks. The verbs mirror runc's command line.
//!
//! ```no_run
//! use berth_runtime::{Bundle, CreateOptions, Runtime};
//! let rt = Runtime::new("/run/berth/oci");
//! let bundle = Bundle::load(std::path::Path::new("/tmp/bundle"))?;
//! let code = berth_runtime::run(&rt, "demo", bundle, &CreateOptions::default(), false)?;
//! println!("exited with {code}");
//! # Ok::<(), berth_runtime::Error>(())
//! ```

pub mod console;
pub mod container;
pub mod error;
pub mod hooks;
pub mod init;
pub mod lsm;
pub mod namespaces;
pub mod rootfs;
pub mod seccomp;
pub mod spec;
pub mod state;
pub mod sync;

pub use container::*;
pub use error::{Error, Result};
pub use spec::Bundle;
pub use state::{OciState, Status};

/// Clears the calling thread's signal mask; async-signal-safe, for `pre_exec`. A
/// process that reads signals through a signalfd (a container's monitor) keeps them
/// blocked, and a mask survives fork and exec: anything it starts (a hook, a network
/// helper, the init's child) would otherwise ignore the SIGTERM meant to stop it.
pub fn unblock_signals() -> std::io::Result<()> {
    // SAFETY: sigemptyset and sigprocmask on a local set, both async-signal-safe.
    unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        if libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut()) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
