//! v2 device access control: a `BPF_PROG_TYPE_CGROUP_DEVICE` program built from the spec's
//! rules, loaded with bpf(2) and attached to the cgroup directory.
//!
//! cgroup v2 has no devices.allow file; the kernel instead runs the eBPF programs attached to
//! the cgroup (and its ancestors) on every open/mknod of a device node and refuses with EPERM
//! when one returns 0. The program reads `struct bpf_cgroup_dev_ctx` (include/uapi/linux/bpf.h):
//! `access_type` (`(BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*`), `major`, `minor`.
//!
//! Instruction encoding: Documentation/bpf/standardization/instruction-set.rst (8-byte
//! `struct bpf_insn`: opcode, dst/src register nibbles, 16-bit offset, 32-bit immediate).
//!
//! Semantics: the last rule that matches decides, nothing matching means deny (the OCI
//! default). An allow rule matches when every requested access bit is in its access; a deny
//! rule matches when any requested bit is — so `deny c 1:9 w` stops `open(O_RDWR)` too.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::Error;

// Opcode parts (instruction-set.rst, "Instruction classes" and following tables).
const CLASS_LDX: u8 = 0x01;
const CLASS_JMP: u8 = 0x05;
const CLASS_ALU64: u8 = 0x07;
const SIZE_W: u8 = 0x00;
const MODE_MEM: u8 = 0x60;
const SRC_K: u8 = 0x00;
const SRC_X: u8 = 0x08;
const ALU_AND: u8 = 0x50;
const ALU_RSH: u8 = 0x70;
const ALU_MOV: u8 = 0xb0;
const JMP_JEQ: u8 = 0x10;
const JMP_JNE: u8 = 0x50;
const JMP_EXIT: u8 = 0x90;

// include/uapi/linux/bpf.h
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;
const ACC_ALL: i32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// One eBPF instruction, laid out as the kernel's `struct bpf_insn`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// Opcode.
    pub code: u8,
    /// Destination register in the low nibble, source register in the high nibble.
    pub regs: u8,
    /// Signed offset (jump distance in instructions, or memory offset).
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            regs: (src << 4) | (dst & 0x0f),
            off,
            imm,
        }
    }
    fn ldx_w(dst: u8, src: u8, off: i16) -> Insn {
        Insn::new(CLASS_LDX | SIZE_W | MODE_MEM, dst, src, off, 0)
    }
    fn alu_k(op: u8, dst: u8, imm: i32) -> Insn {
        Insn::new(CLASS_ALU64 | op | SRC_K, dst, 0, 0, imm)
    }
    fn mov_x(dst: u8, src: u8) -> Insn {
        Insn::new(CLASS_ALU64 | ALU_MOV | SRC_X, dst, src, 0, 0)
    }
    /// A conditional jump whose offset is patched once the block's length is known.
    fn jmp_k(op: u8, dst: u8, imm: i32) -> Insn {
        Insn::new(CLASS_JMP | op | SRC_K, dst, 0, 0, imm)
    }
    fn exit() -> Insn {
        Insn::new(CLASS_JMP | JMP_EXIT, 0, 0, 0, 0)
    }
    /// Destination register.
    pub fn dst(&self) -> u8 {
        self.regs & 0x0f
    }
    /// Source register.
    pub fn src(&self) -> u8 {
        self.regs >> 4
    }
}

fn access_bits(rule: &LinuxDeviceCgroup) -> Result<i32, Error> {
    let a = crate::v1::devices::access(rule)?;
    Ok(a.chars().fold(0, |acc, c| {
        acc | match c {
            'm' => ACC_MKNOD,
            'r' => ACC_READ,
            _ => ACC_WRITE,
        }
    }))
}

fn number(field: &str, n: Option<i64>) -> Result<Option<i32>, Error> {
    match n {
        None => Ok(None),
        Some(n) if n < 0 => Ok(None), // -1 is the wildcard
        Some(n) => i32::try_from(n).map(Some).map_err(|_| Error::InvalidValue {
            field: field.into(),
            value: n.to_string(),
            reason: "device numbers must fit in 32 bits".into(),
        }),
    }
}

/// Builds the program for `rules`: registers r2 = device type, r3 = access, r4 = major,
/// r5 = minor; then one block per rule, last rule first, each returning its verdict when it
/// matches and jumping to the next block otherwise; finally "deny".
pub fn program(rules: &[LinuxDeviceCgroup]) -> Result<Vec<Insn>, Error> {
    let mut p = vec![
        Insn::ldx_w(2, 1, 0),
        Insn::alu_k(ALU_AND, 2, 0xffff),
        Insn::ldx_w(3, 1, 0),
        Insn::alu_k(ALU_RSH, 3, 16),
        Insn::ldx_w(4, 1, 4),
        Insn::ldx_w(5, 1, 8),
    ];
    for rule in rules.iter().rev() {
        let ty = match rule.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => None,
            LinuxDeviceType::B => Some(DEV_BLOCK),
            LinuxDeviceType::C | LinuxDeviceType::U => Some(DEV_CHAR),
            // The device hook never sees FIFOs.
            LinuxDeviceType::P => continue,
        };
        let major = number("linux.resources.devices.major", rule.major())?;
        let minor = number("linux.resources.devices.minor", rule.minor())?;
        let acc = access_bits(rule)?;
        let mut block = Vec::new();
        if let Some(t) = ty {
            block.push(Insn::jmp_k(JMP_JNE, 2, t));
        }
        if let Some(m) = major {
            block.push(Insn::jmp_k(JMP_JNE, 4, m));
        }
        if let Some(m) = minor {
            block.push(Insn::jmp_k(JMP_JNE, 5, m));
        }
        if acc != ACC_ALL {
            block.push(Insn::mov_x(1, 3));
            if rule.allow() {
                // Requested bits outside the rule: not covered, try earlier rules.
                block.push(Insn::alu_k(ALU_AND, 1, !acc & ACC_ALL));
                block.push(Insn::jmp_k(JMP_JNE, 1, 0));
            } else {
                // No requested bit in the rule: not concerned.
                block.push(Insn::alu_k(ALU_AND, 1, acc));
                block.push(Insn::jmp_k(JMP_JEQ, 1, 0));
            }
        }
        let conditional = !block.is_empty();
        block.push(Insn::alu_k(ALU_MOV, 0, i32::from(rule.allow())));
        block.push(Insn::exit());
        let len = block.len();
        for (i, insn) in block.iter_mut().enumerate() {
            if insn.code & 0x07 == CLASS_JMP && insn.code != CLASS_JMP | JMP_EXIT {
                // Jump past the rest of the block (offsets count from the next instruction).
                insn.off = i16::try_from(len - i - 1).unwrap_or(i16::MAX);
            }
        }
        p.extend(block);
        if !conditional {
            // Everything after an unconditional verdict is unreachable, and the verifier
            // rejects unreachable instructions.
            return Ok(p);
        }
    }
    p.push(Insn::alu_k(ALU_MOV, 0, 0));
    p.push(Insn::exit());
    Ok(p)
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// Calls bpf(2) with one of the attribute structs above.
fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, fully initialised repr(C) struct laid out as the prefix of
    // `union bpf_attr` for `cmd`; the kernel reads at most size_of::<T>() bytes and only
    // writes back within it (prog_cnt for BPF_PROG_QUERY). Pointers inside it are valid
    // for the duration of the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>(),
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn fd_from(r: libc::c_long) -> std::io::Result<OwnedFd> {
    let fd = RawFd::try_from(r).map_err(|_| std::io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just returned this new file descriptor to us; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn load(insns: &[Insn], path: &Path) -> Result<OwnedFd, Error> {
    let license = c"Apache";
    let mut name = [0u8; 16];
    name[..9].copy_from_slice(b"berth_dev");
    let attr = |log: &mut Vec<u8>, level: u32| ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(insns.len()).unwrap_or(u32::MAX),
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: level,
        log_size: u32::try_from(log.len()).unwrap_or(0),
        log_buf: if log.is_empty() {
            0
        } else {
            log.as_mut_ptr() as u64
        },
        prog_name: name,
        ..ProgLoadAttr::default()
    };
    let mut none = Vec::new();
    match bpf(BPF_PROG_LOAD, &mut attr(&mut none, 0)) {
        Ok(fd) => {
            fd_from(fd).map_err(|source| bpf_err("BPF_PROG_LOAD", path, source, String::new()))
        }
        Err(source) => {
            // Load again with the verifier log on, to say why.
            let mut log = vec![0u8; 1 << 16];
            let _ = bpf(BPF_PROG_LOAD, &mut attr(&mut log, 1));
            let end = log.iter().position(|b| *b == 0).unwrap_or(0);
            let text = String::from_utf8_lossy(&log[..end]).trim().to_string();
            let mut extra = if text.is_empty() {
                String::new()
            } else {
                format!("\nverifier: {text}")
            };
            if source.raw_os_error() == Some(libc::EPERM) {
                extra.push_str("\nhint: loading BPF programs needs CAP_BPF/CAP_SYS_ADMIN (and on kernels before 5.11 a large RLIMIT_MEMLOCK)");
            }
            Err(bpf_err("BPF_PROG_LOAD", path, source, extra))
        }
    }
}

fn bpf_err(op: &'static str, path: &Path, source: std::io::Error, log: String) -> Error {
    Error::Bpf {
        op,
        path: path.to_path_buf(),
        source,
        log,
    }
}

fn open_dir(path: &Path) -> Result<OwnedFd, Error> {
    use nix::fcntl::OFlag;
    nix::fcntl::open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::Read {
        path: path.to_path_buf(),
        source: std::io::Error::from(e),
    })
}

/// IDs of the device programs attached directly to the cgroup.
fn attached(dir: &OwnedFd, path: &Path) -> Result<Vec<u32>, Error> {
    let mut ids = vec![0u32; 64];
    let mut q = QueryAttr {
        target_fd: dir.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: 64,
        ..QueryAttr::default()
    };
    bpf(BPF_PROG_QUERY, &mut q).map_err(|e| bpf_err("BPF_PROG_QUERY", path, e, String::new()))?;
    ids.truncate(usize::try_from(q.prog_cnt).unwrap_or(0).min(64));
    Ok(ids)
}

/// Replaces the device programs attached to the cgroup directory `path` with one built from
/// `rules`. The new program is attached before the old ones are detached, so the cgroup is
/// never without a filter.
///
/// ```no_run
/// use oci_spec::runtime::LinuxDeviceCgroupBuilder;
/// let deny_all = LinuxDeviceCgroupBuilder::default().allow(false).build().unwrap();
/// berth_cgroups::v2::devices::apply(std::path::Path::new("/sys/fs/cgroup/berth/abc"), &[deny_all])?;
/// # Ok::<(), berth_cgroups::Error>(())
/// ```
pub fn apply(path: &Path, rules: &[LinuxDeviceCgroup]) -> Result<(), Error> {
    let insns = program(rules)?;
    let dir = open_dir(path)?;
    let old = attached(&dir, path)?;
    let prog = load(&insns, path)?;
    let mut a = AttachAttr {
        target_fd: dir.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..AttachAttr::default()
    };
    bpf(BPF_PROG_ATTACH, &mut a).map_err(|e| bpf_err("BPF_PROG_ATTACH", path, e, String::new()))?;
    for id in old {
        let mut g = GetFdAttr {
            prog_id: id,
            ..GetFdAttr::default()
        };
        let old_fd = match bpf(BPF_PROG_GET_FD_BY_ID, &mut g) {
            Ok(r) => {
                fd_from(r).map_err(|e| bpf_err("BPF_PROG_GET_FD_BY_ID", path, e, String::new()))?
            }
            // Detached by someone else meanwhile.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(bpf_err("BPF_PROG_GET_FD_BY_ID", path, e, String::new())),
        };
        let mut d = AttachAttr {
            target_fd: dir.as_raw_fd() as u32,
            attach_bpf_fd: old_fd.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            ..AttachAttr::default()
        };
        bpf(BPF_PROG_DETACH, &mut d)
            .map_err(|e| bpf_err("BPF_PROG_DETACH", path, e, String::new()))?;
    }
    Ok(())
}

/// Number of device programs attached directly to the cgroup directory `path`.
pub fn attached_count(path: &Path) -> Result<usize, Error> {
    let dir = open_dir(path)?;
    Ok(attached(&dir, path)?.len())
}

#[cfg(test)]
#[path = "devices_tests.rs"]
mod tests;
