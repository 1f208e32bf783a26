//! Seccomp: the spec's `linux.seccomp` compiled with libseccomp, cached as BPF
//! ([`Compiled`]) and loaded.
//!
//! libseccomp handles multiple architectures (x86_64 with its x86 and x32 variants, as
//! Docker's default profile lists them) and argument comparisons, which a hand-rolled BPF
//! generator would have to re-learn. Listener (`SCMP_ACT_NOTIFY`) is refused clearly.

use std::collections::HashSet;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterAttr, ScmpFilterContext,
    ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};

use crate::error::{Error, Result};

mod compiled;

/// libseccomp's `SCMP_FLTATR_CTL_OPTIMIZE` level 2: a binary tree of syscall numbers.
const OPTIMIZE_BINARY_TREE: u32 = 2;
pub use compiled::{CACHE_DIR, Compiled};

fn err(field: &str, e: impl std::fmt::Display) -> Error {
    Error::Seccomp(format!("{field}: {e}"))
}

fn action(a: LinuxSeccompAction, errno: Option<u32>, field: &str) -> Result<ScmpAction> {
    Ok(match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(
            i32::try_from(errno.unwrap_or(libc::EPERM as u32)).unwrap_or(libc::EPERM),
        ),
        LinuxSeccompAction::ScmpActTrace => {
            ScmpAction::Trace(u16::try_from(errno.unwrap_or(libc::EPERM as u32)).unwrap_or(1))
        }
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(Error::Unsupported {
                field: field.into(),
                message:
                    "SCMP_ACT_NOTIFY (seccomp user notification) is not supported by berth yet"
                        .into(),
            });
        }
    })
}

fn arch(a: Arch) -> Result<ScmpArch> {
    Ok(match a {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    })
}

fn compare(
    op: LinuxSeccompOperator,
    index: usize,
    value: u64,
    two: Option<u64>,
) -> Result<ScmpArgCompare> {
    let idx = u32::try_from(index)
        .ok()
        .filter(|i| *i < 6)
        .ok_or_else(|| {
            err(
                "linux.seccomp.syscalls.args.index",
                format!("{index} is not an argument index (0-5)"),
            )
        })?;
    Ok(match op {
        LinuxSeccompOperator::ScmpCmpNe => ScmpArgCompare::new(idx, ScmpCompareOp::NotEqual, value),
        LinuxSeccompOperator::ScmpCmpLt => ScmpArgCompare::new(idx, ScmpCompareOp::Less, value),
        LinuxSeccompOperator::ScmpCmpLe => {
            ScmpArgCompare::new(idx, ScmpCompareOp::LessOrEqual, value)
        }
        LinuxSeccompOperator::ScmpCmpEq => ScmpArgCompare::new(idx, ScmpCompareOp::Equal, value),
        LinuxSeccompOperator::ScmpCmpGe => {
            ScmpArgCompare::new(idx, ScmpCompareOp::GreaterEqual, value)
        }
        LinuxSeccompOperator::ScmpCmpGt => ScmpArgCompare::new(idx, ScmpCompareOp::Greater, value),
        // The spec's value is the mask and valueTwo the datum.
        LinuxSeccompOperator::ScmpCmpMaskedEq => {
            ScmpArgCompare::new(idx, ScmpCompareOp::MaskedEqual(value), two.unwrap_or(0))
        }
    })
}

/// Compiles the spec's seccomp section into a filter (not yet loaded).
pub fn build(s: &LinuxSeccomp) -> Result<ScmpFilterContext> {
    let default = action(
        s.default_action(),
        s.default_errno_ret(),
        "linux.seccomp.defaultAction",
    )?;
    let mut ctx = ScmpFilterContext::new(default).map_err(|e| err("creating filter", e))?;
    for a in s.architectures().iter().flatten() {
        let a = arch(*a)?;
        ctx.add_arch(a)
            .map_err(|e| err("linux.seccomp.architectures", e))?;
    }
    for f in s.flags().iter().flatten() {
        match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => {
                ctx.set_filter_attr(ScmpFilterAttr::CtlLog, 1)
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => {
                ctx.set_filter_attr(ScmpFilterAttr::CtlTsync, 1)
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                ctx.set_filter_attr(ScmpFilterAttr::CtlSsb, 1)
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                ctx.set_filter_attr(ScmpFilterAttr::CtlWaitkill, 1)
            }
        }
        .map_err(|e| err("linux.seccomp.flags", e))?;
    }
    // We set no_new_privs ourselves when the spec asks; libseccomp must not force it.
    ctx.set_ctl_nnp(false)
        .map_err(|e| err("creating filter", e))?;
    // A binary search over the syscall numbers instead of one comparison per listed
    // syscall: with Docker's profile (~350 names) a `write` otherwise runs through
    // hundreds of instructions on every call. libseccomp before 2.5 lacks the setting
    // and keeps the linear filter, which allows and denies exactly the same.
    let _ = ctx.set_filter_attr(ScmpFilterAttr::CtlOptimize, OPTIMIZE_BINARY_TREE);
    for (i, sc) in s.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let act = action(sc.action(), sc.errno_ret(), &field)?;
        if act == default {
            continue; // libseccomp refuses rules equal to the default; they change nothing
        }
        let args = sc.args().as_deref().unwrap_or(&[]);
        let cmps = args
            .iter()
            .map(|a| compare(a.op(), a.index(), a.value(), a.value_two()))
            .collect::<Result<Vec<_>>>()?;
        let distinct = args.iter().map(|a| a.index()).collect::<HashSet<_>>().len() == args.len();
        for name in sc.names() {
            // Names unknown to this libseccomp (newer syscalls) are skipped, as runc does.
            let Ok(call) = ScmpSyscall::from_name(name) else {
                continue;
            };
            let r = if cmps.is_empty() {
                ctx.add_rule(act, call).map(|_| ())
            } else if distinct {
                ctx.add_rule_conditional(act, call, &cmps).map(|_| ())
            } else {
                // Several conditions on one argument cannot be ANDed; each is its own rule.
                let mut r = Ok(());
                for c in &cmps {
                    if let Err(e) = ctx.add_rule_conditional(act, call, std::slice::from_ref(c)) {
                        r = Err(e);
                        break;
                    }
                }
                r
            };
            r.map_err(|e| err(&format!("{field} ({name})"), e))?;
        }
    }
    Ok(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_like_profile_compiles() {
        let s: LinuxSeccomp = serde_json::from_str(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,
                "architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
                "syscalls":[{"names":["read","write","exit_group","no_such_call_xyz"],"action":"SCMP_ACT_ALLOW"},
                            {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]},
                            {"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#,
        )
        .unwrap();
        build(&s).unwrap();
    }

    #[test]
    fn notify_is_refused_clearly() {
        let s: LinuxSeccomp = serde_json::from_str(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        )
        .unwrap();
        let e = build(&s).unwrap_err().to_string();
        assert!(e.contains("SCMP_ACT_NOTIFY"), "{e}");
    }
}
