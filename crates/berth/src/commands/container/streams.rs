//! `run -a/--attach STDIN|STDOUT|STDERR`: which of the container's streams reach the
//! terminal. Docker attaches stdout and stderr (and stdin with `-i`) when `-a` is not
//! given; with `-a`, exactly the streams named.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The streams `run` attaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attach {
    /// The container's stdin comes from the terminal.
    pub stdin: bool,
    /// The container's stdout reaches berth's stdout.
    pub stdout: bool,
    /// The container's stderr reaches berth's stderr.
    pub stderr: bool,
}

impl Attach {
    /// Parses the `-a` values (case-insensitive, as Docker).
    pub fn parse(values: &[String], interactive: bool) -> anyhow::Result<Attach> {
        if values.is_empty() {
            return Ok(Attach {
                stdin: interactive,
                stdout: true,
                stderr: true,
            });
        }
        let mut a = Attach {
            stdin: interactive,
            stdout: false,
            stderr: false,
        };
        for v in values {
            match v.to_ascii_lowercase().as_str() {
                "stdin" => a.stdin = true,
                "stdout" => a.stdout = true,
                "stderr" => a.stderr = true,
                _ => anyhow::bail!(
                    "invalid argument {v:?} for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"
                ),
            }
        }
        Ok(a)
    }
}

/// While alive, berth's own stdout and/or stderr point at /dev/null for the streams
/// not attached (the container inherits them, or the attach relay writes to them);
/// dropping it restores them, so berth's own messages are still seen.
pub struct Muted {
    saved: Vec<(i32, OwnedFd)>,
}

impl Muted {
    /// Mutes what `a` does not attach.
    pub fn apply(a: Attach) -> anyhow::Result<Muted> {
        let mut saved = Vec::new();
        let targets: Vec<i32> = [(a.stdout, 1), (a.stderr, 2)]
            .into_iter()
            .filter(|(on, _)| !on)
            .map(|(_, fd)| fd)
            .collect();
        if targets.is_empty() {
            return Ok(Muted { saved });
        }
        let null = fs_err::OpenOptions::new().write(true).open("/dev/null")?;
        for fd in targets {
            // SAFETY: dup of one of our standard descriptors; the copy is owned below.
            let copy = unsafe { libc::dup(fd) };
            if copy < 0 {
                return Err(std::io::Error::last_os_error().into());
            }
            // SAFETY: `copy` is a fresh descriptor nobody else owns.
            saved.push((fd, unsafe { OwnedFd::from_raw_fd(copy) }));
            // SAFETY: replacing a standard descriptor with /dev/null.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
        Ok(Muted { saved })
    }
}

impl Drop for Muted {
    fn drop(&mut self) {
        for (fd, copy) in &self.saved {
            // SAFETY: putting back the descriptor saved in `apply`.
            unsafe { libc::dup2(copy.as_raw_fd(), *fd) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_values_follow_docker() {
        let a = Attach::parse(&[], false).unwrap();
        assert!(a.stdout && a.stderr && !a.stdin);
        let a = Attach::parse(&["STDOUT".into()], false).unwrap();
        assert!(a.stdout && !a.stderr && !a.stdin);
        let a = Attach::parse(&["stderr".into()], true).unwrap();
        assert!(!a.stdout && a.stderr && a.stdin);
        let e = Attach::parse(&["stdio".into()], false).unwrap_err();
        assert!(
            e.to_string()
                .contains("valid streams are STDIN, STDOUT and STDERR")
        );
    }
}
