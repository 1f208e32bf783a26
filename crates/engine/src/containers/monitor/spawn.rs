//! Starting a monitor from the CLI: `berth __monitor` as a fresh process, and the sync
//! pipe on which it says that the container runs (or why it could not start).

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use super::SYNC_FD;
use crate::containers::{attach, short};
use crate::{Engine, Error, Result};

impl Engine {
    /// Starts a created (or stopped) container under a new monitor process and returns
    /// once it runs; the error of a failed start comes back as the error.
    pub fn start_detached(&self, name: &str) -> Result<String> {
        self.spawn_monitor(name, false).map(|(id, _)| id)
    }

    /// Like [`Engine::start_detached`], but connected to the attach socket before the
    /// container starts, so no output is missed (`start -a`, `run -t`).
    pub fn start_attached(
        &self,
        name: &str,
        opts: &attach::AttachOptions,
    ) -> Result<attach::AttachEnd> {
        let (id, sock) = self.spawn_monitor(name, true)?;
        self.attach_with(&id, sock, opts)
    }

    fn spawn_monitor(&self, name: &str, wait_attach: bool) -> Result<(String, Option<UnixStream>)> {
        use std::io::BufRead;
        use std::os::unix::process::CommandExt;
        let (rec, _) = self.container(name)?;
        if matches!(
            self.reconcile(&rec)?,
            berth_store::ContainerStatus::Running
                | berth_store::ContainerStatus::Paused
                | berth_store::ContainerStatus::Restarting
        ) {
            return Ok((rec.id, None));
        }
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::Sys {
            what: "creating a pipe".into(),
            source: e,
        })?;
        let exe = std::env::current_exe().map_err(|e| Error::Io {
            path: "/proc/self/exe".into(),
            source: e,
        })?;
        let wfd = w.as_raw_fd();
        let mut cmd = std::process::Command::new(exe);
        cmd.arg("__monitor")
            .arg(&rec.id)
            .arg(&self.paths().data)
            .arg(&self.paths().run)
            .args(wait_attach.then_some("--attach"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(wfd, SYNC_FD) < 0 || libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| Error::Io {
            path: "berth __monitor".into(),
            source: e,
        })?;
        drop(w);
        let mut reader = std::io::BufReader::new(std::fs::File::from(r));
        let mut sock = None;
        if wait_attach {
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            if line == "listening\n" {
                let path = self.attach_socket(&rec.id);
                sock = Some(UnixStream::connect(&path).map_err(|e| Error::Io { path, source: e })?);
            }
        }
        let mut answer = String::new();
        let _ = reader.read_to_string(&mut answer);
        // The monitor stays; reap it only if it already ended (a failed start).
        let _ = child.try_wait();
        match answer.split_once('\n') {
            Some(("ok", _)) => Ok((rec.id, sock)),
            Some((status, msg)) if status.starts_with("err ") => {
                let status: i32 = status[4..].parse().unwrap_or(125);
                let _ = child.wait();
                if status == 126 || status == 127 {
                    Err(Error::Exec {
                        message: msg.trim_end().to_owned(),
                        status,
                    })
                } else {
                    Err(Error::Monitor(msg.trim_end().to_owned()))
                }
            }
            _ => {
                let _ = child.wait();
                Err(Error::Monitor(format!(
                    "the monitor of container {} exited before starting it",
                    short(&rec.id)
                )))
            }
        }
    }
}
