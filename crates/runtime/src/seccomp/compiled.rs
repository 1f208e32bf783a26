//! A seccomp filter compiled once to classic BPF and kept, so starting a container or an
//! `exec` loads a few kilobytes instead of running libseccomp's compiler again.
//!
//! Compiling Docker's default profile (about 350 rules, three architectures) costs more
//! CPU than the rest of an `exec`. The program depends only on the spec's `linux.seccomp`
//! section, the libseccomp version and the machine, so it is cached by the SHA-256 of
//! those in the runtime's state root, written by atomic rename. The cache directory's
//! name is not a valid container id, so no container can collide with it.

use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompFilterFlag};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Name of the cache directory inside the runtime's state root.
pub const CACHE_DIR: &str = "@seccomp";

/// Cached programs kept before the oldest are removed.
const CACHE_LIMIT: usize = 64;

/// The kernel's limit on one classic BPF program (`BPF_MAXINSNS`).
const MAX_INSNS: usize = 4096;

const FLAG_TSYNC: u64 = 1;
const FLAG_LOG: u64 = 1 << 1;
const FLAG_SPEC_ALLOW: u64 = 1 << 2;
const FLAG_WAIT_KILLABLE_RECV: u64 = 1 << 5;

/// A compiled filter: the BPF program and the `seccomp(2)` flags to load it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    program: Vec<libc::sock_filter>,
    flags: u64,
}

fn err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Seccomp(format!("{what}: {e}"))
}

fn flags_of(s: &LinuxSeccomp) -> u64 {
    s.flags().iter().flatten().fold(0, |acc, f| {
        acc | match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => FLAG_WAIT_KILLABLE_RECV,
        }
    })
}

impl Compiled {
    /// Compiles `s` with libseccomp.
    pub fn compile(s: &LinuxSeccomp) -> Result<Compiled> {
        let ctx = super::build(s)?;
        // libseccomp 2.5 (Debian 12) exports only to a descriptor; a memfd keeps it in memory.
        // SAFETY: memfd_create with a static name; the result is checked.
        let raw = unsafe { libc::memfd_create(c"berth-seccomp".as_ptr(), libc::MFD_CLOEXEC) };
        if raw < 0 {
            return Err(err("memfd_create", std::io::Error::last_os_error()));
        }
        // SAFETY: raw is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        ctx.export_bpf(&fd)
            .map_err(|e| err("exporting the filter", e))?;
        let mut file = std::fs::File::from(fd);
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_end(&mut bytes))
            .map_err(|e| err("reading the exported filter", e))?;
        Compiled::from_program_bytes(&bytes, flags_of(s))
    }

    fn from_program_bytes(bytes: &[u8], flags: u64) -> Result<Compiled> {
        let size = std::mem::size_of::<libc::sock_filter>();
        if bytes.is_empty() || bytes.len() % size != 0 || bytes.len() / size > MAX_INSNS {
            return Err(err(
                "compiled filter",
                format!(
                    "{} bytes is not a BPF program of at most {MAX_INSNS} instructions",
                    bytes.len()
                ),
            ));
        }
        let program = bytes
            .chunks_exact(size)
            .map(|c| libc::sock_filter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        Ok(Compiled { program, flags })
    }

    fn program_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.program.len() * 8);
        for i in &self.program {
            out.extend_from_slice(&i.code.to_ne_bytes());
            out.push(i.jt);
            out.push(i.jf);
            out.extend_from_slice(&i.k.to_ne_bytes());
        }
        out
    }

    /// Compiles `s`, or reads the program compiled earlier from `state_root`'s cache.
    /// The cache is an optimisation only: a missing, damaged or unwritable cache falls
    /// back to compiling.
    pub fn cached(state_root: &Path, s: &LinuxSeccomp) -> Result<Compiled> {
        let Some(path) = cache_path(state_root, s) else {
            return Compiled::compile(s);
        };
        if let Ok(bytes) = fs_err::read(&path)
            && let Ok(c) = Compiled::from_program_bytes(&bytes, flags_of(s))
        {
            return Ok(c);
        }
        let c = Compiled::compile(s)?;
        store(&path, &c.program_bytes());
        Ok(c)
    }

    /// Loads the filter into the calling thread. Without no_new_privs this needs
    /// CAP_SYS_ADMIN.
    pub fn load(&self) -> Result<()> {
        let len = u16::try_from(self.program.len())
            .map_err(|_| err("loading filter", "program too long"))?;
        let prog = libc::sock_fprog {
            len,
            filter: self.program.as_ptr().cast_mut(),
        };
        // SAFETY: prog points to our program, alive for the call; the kernel copies it.
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                self.flags,
                &prog as *const libc::sock_fprog,
            )
        };
        if r != 0 {
            return Err(err("loading filter", std::io::Error::last_os_error()));
        }
        Ok(())
    }
}

fn cache_path(state_root: &Path, s: &LinuxSeccomp) -> Option<PathBuf> {
    let json = serde_json::to_vec(s).ok()?;
    let v = libseccomp::ScmpVersion::current().ok()?;
    let mut h = Sha256::new();
    // "tree": programs cached before the binary-tree layout are not reused.
    h.update(format!(
        "{}.{}.{} {} tree\n",
        v.major,
        v.minor,
        v.micro,
        std::env::consts::ARCH
    ));
    h.update(&json);
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Some(state_root.join(CACHE_DIR).join(format!("{hex}.bpf")))
}

fn store(path: &Path, bytes: &[u8]) {
    let Some(dir) = path.parent() else { return };
    if fs_err::create_dir_all(dir).is_err() {
        return;
    }
    prune(dir);
    let tmp = dir.join(format!(".{}.tmp", std::process::id()));
    if fs_err::write(&tmp, bytes).is_ok() && fs_err::rename(&tmp, path).is_err() {
        let _ = fs_err::remove_file(&tmp);
    }
}

/// Keeps the cache small: the oldest programs go once there are too many.
fn prune(dir: &Path) {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if files.len() < CACHE_LIMIT {
        return;
    }
    files.sort();
    for (_, p) in files.iter().take(files.len() + 1 - CACHE_LIMIT) {
        let _ = fs_err::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> LinuxSeccomp {
        serde_json::from_str(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,
                "architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
                "flags":["SECCOMP_FILTER_FLAG_LOG"],
                "syscalls":[{"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn cache_returns_the_compiled_program() {
        let dir = tempfile::tempdir().unwrap();
        let s = profile();
        let first = Compiled::cached(dir.path(), &s).unwrap();
        assert_eq!(first, Compiled::compile(&s).unwrap());
        assert_eq!(first.flags, FLAG_LOG);
        let path = cache_path(dir.path(), &s).unwrap();
        assert_eq!(fs_err::read(&path).unwrap(), first.program_bytes());
        // A damaged entry is ignored and replaced.
        fs_err::write(&path, b"garbage").unwrap();
        assert_eq!(Compiled::cached(dir.path(), &s).unwrap(), first);
        assert_eq!(fs_err::read(&path).unwrap(), first.program_bytes());
    }

    #[test]
    fn different_profiles_have_different_entries() {
        let dir = tempfile::tempdir().unwrap();
        let a = profile();
        let mut b = profile();
        b.set_default_errno_ret(Some(38));
        assert_ne!(cache_path(dir.path(), &a), cache_path(dir.path(), &b));
        let ca = Compiled::cached(dir.path(), &a).unwrap();
        let cb = Compiled::cached(dir.path(), &b).unwrap();
        assert_ne!(ca.program, cb.program);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join(CACHE_DIR);
        fs_err::create_dir_all(&cache).unwrap();
        for i in 0..CACHE_LIMIT + 5 {
            fs_err::write(cache.join(format!("{i}.bpf")), b"12345678").unwrap();
        }
        Compiled::cached(dir.path(), &profile()).unwrap();
        assert!(fs_err::read_dir(&cache).unwrap().count() <= CACHE_LIMIT);
    }
}
