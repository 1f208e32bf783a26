//! `RUN`: the step's process runs in a temporary container (engine) while its output
//! is streamed to the user and kept in a file, so a failure can quote the last lines.
//!
//! The container inherits this process's stdio, so fds 1 and 2 are pointed at a pipe
//! for the step's duration; a forked copier (this process is single-threaded here, as
//! containers require) forwards the pipe to the user's output and the capture file.

use std::io::{Read as _, Seek as _, Write as _};
use std::os::fd::{AsFd as _, AsRawFd as _, BorrowedFd, OwnedFd, RawFd};

use berth_engine::Engine;
use berth_engine::build_support::{BuildRun, BuildRunOutcome};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, dup2_raw, fork, pipe};

use crate::error::{Error, Result};

/// How many output lines a failure quotes.
const TAIL_LINES: usize = 10;

fn sys(what: &str, e: nix::Error) -> Error {
    Error::io(what, std::io::Error::from(e))
}

/// Restores fds 0–2 when dropped.
struct SavedStdio {
    saved: Vec<(RawFd, OwnedFd)>,
}

impl Drop for SavedStdio {
    fn drop(&mut self) {
        for (fd, old) in self.saved.drain(..) {
            // SAFETY: putting back the descriptor this process had before the step.
            let _ = unsafe { dup2_raw(old.as_fd(), fd) }.map(std::mem::forget::<OwnedFd>);
        }
    }
}

/// Runs `run`, echoing its output to `echo` (none when quiet); returns the outcome and
/// the last lines of its output.
pub fn run_step(
    engine: &Engine,
    run: &BuildRun,
    echo: Option<BorrowedFd<'_>>,
) -> Result<(BuildRunOutcome, String)> {
    let tmp = engine.store().root().join("tmp");
    let mut capture = tempfile::tempfile_in(&tmp).map_err(|e| Error::io(tmp.clone(), e))?;
    let (rd, wr) = pipe().map_err(|e| sys("pipe", e))?;
    let echo_raw = echo.map(|f| f.as_raw_fd());
    let cap_raw = capture.as_raw_fd();
    // SAFETY: this process is single-threaded here (the engine refuses to start
    // containers otherwise); the child only reads, writes and exits.
    let child = match unsafe { fork() }.map_err(|e| sys("fork", e))? {
        ForkResult::Child => {
            drop(wr);
            let mut buf = [0u8; 8192];
            loop {
                let n = match nix::unistd::read(&rd, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                for fd in echo_raw.into_iter().chain([cap_raw]) {
                    // SAFETY: fds inherited from the parent, valid for the child's life.
                    let f = unsafe { BorrowedFd::borrow_raw(fd) };
                    let _ = nix::unistd::write(f, &buf[..n]);
                }
            }
            // SAFETY: leave without running the parent's destructors or atexit hooks.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => child,
    };
    drop(rd);
    let outcome = {
        let mut guard = SavedStdio { saved: Vec::new() };
        let null = fs_err::File::open("/dev/null").map_err(|e| Error::io("/dev/null", e))?;
        for (fd, src) in [(0, null.as_fd()), (1, wr.as_fd()), (2, wr.as_fd())] {
            // Close-on-exec: the step's container must not inherit the saved
            // descriptors (it would hold the caller's stdout open).
            // SAFETY: fds 0–2 are open for the process's life.
            let raw = nix::fcntl::fcntl(
                unsafe { BorrowedFd::borrow_raw(fd) },
                nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3),
            )
            .map_err(|e| sys("dup", e))?;
            // SAFETY: `raw` is a new descriptor this process now owns.
            let old = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
            guard.saved.push((fd, old));
            // SAFETY: replacing a standard descriptor; the guard restores it.
            let new = unsafe { dup2_raw(src, fd) }.map_err(|e| sys("dup2", e))?;
            std::mem::forget(new);
        }
        drop(wr);
        let r = engine.run_build_step(run);
        drop(guard);
        r
    };
    let _ = waitpid(child, None);
    let outcome = outcome?;
    let mut text = String::new();
    let _ = capture.rewind();
    let mut bytes = Vec::new();
    let _ = capture.read_to_end(&mut bytes);
    text.push_str(&String::from_utf8_lossy(&bytes));
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    let _ = std::io::stdout().flush();
    Ok((outcome, tail))
}

/// A `RUN` whose command is only a here-document (`RUN <<EOF`) runs the document as
/// its script, as BuildKit does: with the shell, or as a file when it has a `#!` line.
pub(crate) fn heredoc_script(
    command: &str,
    heredocs: &[berth_dockerfile::Heredoc],
) -> Option<String> {
    let [h] = heredocs else { return None };
    let name = command.trim().strip_prefix("<<")?;
    let name = name.trim_start_matches('-').trim_matches(['"', '\'']);
    if name != h.name {
        return None;
    }
    if !h.content.starts_with("#!") {
        return Some(h.content.clone());
    }
    let mut delim = String::from("BERTH_HEREDOC_EOF");
    while h.content.contains(&delim) {
        delim.push('_');
    }
    let body = h.content.trim_end_matches('\n');
    Some(format!(
        "f=$(mktemp) || exit 1\ncat > \"$f\" <<'{delim}'\n{body}\n{delim}\nchmod 700 \"$f\"\n\"$f\"\nrc=$?\nrm -f \"$f\"\nexit $rc"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, content: &str) -> berth_dockerfile::Heredoc {
        berth_dockerfile::Heredoc {
            name: name.into(),
            content: content.into(),
            expand: true,
            strip_tabs: false,
        }
    }

    #[test]
    fn bare_heredocs_become_the_script() {
        let d = [doc("EOF", "echo hi\n")];
        assert_eq!(heredoc_script("<<EOF", &d).as_deref(), Some("echo hi\n"));
        assert_eq!(heredoc_script("<<-'EOF'", &d).as_deref(), Some("echo hi\n"));
        assert_eq!(heredoc_script("cat <<EOF", &d), None);
        assert_eq!(heredoc_script("<<OTHER", &d), None);
        let s = heredoc_script("<<EOF", &[doc("EOF", "#!/bin/sh\necho x\n")]).unwrap();
        assert!(
            s.contains("<<'BERTH_HEREDOC_EOF'\n#!/bin/sh\necho x\nBERTH_HEREDOC_EOF\n"),
            "{s}"
        );
    }
}
