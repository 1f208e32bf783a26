//! POSIX resource limits.

use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

use crate::error::{Error, Result};

fn resource(t: PosixRlimitType) -> libc::__rlimit_resource_t {
    match t {
        PosixRlimitType::RlimitCpu => libc::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => libc::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => libc::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => libc::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => libc::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => libc::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => libc::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => libc::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => libc::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => libc::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => libc::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => libc::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// Applies every rlimit. Raising a hard limit above the host's needs CAP_SYS_RESOURCE;
/// without it the error says which limit and what the host allows.
pub fn apply(limits: &[PosixRlimit]) -> Result<()> {
    for l in limits {
        let res = resource(l.typ());
        let new = libc::rlimit {
            rlim_cur: l.soft(),
            rlim_max: l.hard(),
        };
        // SAFETY: plain syscall on a valid struct.
        if unsafe { libc::setrlimit(res, &new) } != 0 {
            let err = std::io::Error::last_os_error();
            let mut cur = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: plain syscall writing into a valid struct.
            unsafe { libc::getrlimit(res, &mut cur) };
            let name = format!("{:?}", l.typ())
                .to_uppercase()
                .replace("RLIMIT", "RLIMIT_");
            return Err(Error::Init(format!(
                "setting {name} to soft {} hard {}: {err}; the host allows at most {} here\nhint: lower process.rlimits {name} (or `--ulimit`) to {} or less, or grant CAP_SYS_RESOURCE to the runtime",
                l.soft(),
                l.hard(),
                cur.rlim_max,
                cur.rlim_max
            )));
        }
    }
    Ok(())
}
