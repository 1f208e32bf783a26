//! `berth exec`: another process in a running container, made from the container's
//! own process settings (env, user, capabilities) with the user's changes.

use std::path::PathBuf;

use berth_runtime::{ExecOptions, Supervised};
use oci_spec::runtime::Process;
use serde_json::{Value, json};

use super::attach::{self, AttachEnd, DetachMatcher};
use super::{security, user};
use crate::{Engine, Error, Result};

/// What `exec` was asked for.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    /// Command and arguments.
    pub cmd: Vec<String>,
    /// `-t`.
    pub tty: bool,
    /// `-d`.
    pub detach: bool,
    /// `-e`.
    pub env: Vec<String>,
    /// `-u`.
    pub user: Option<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `--privileged`.
    pub privileged: bool,
}

impl Engine {
    /// Runs `req` in container `name`; returns its exit code (0 with `-d`, or when the
    /// user detached from a `-t` session with Docker's default keys).
    pub fn exec(&self, name: &str, req: &ExecRequest) -> Result<i32> {
        Ok(
            match self.exec_attached(name, req, &attach::DEFAULT_DETACH_KEYS)? {
                AttachEnd::Exited(code) => code,
                AttachEnd::Detached => 0,
            },
        )
    }

    /// Runs `req` in container `name`. A `-t` session ends early when the user types
    /// `detach_keys` (matched as `attach` matches them): the process runs on, holding
    /// its terminal, and [`AttachEnd::Detached`] comes back. With `-d`, returns
    /// `Exited(0)` once the process runs.
    pub fn exec_attached(
        &self,
        name: &str,
        req: &ExecRequest,
        detach_keys: &[u8],
    ) -> Result<AttachEnd> {
        let (rec, process) = self.exec_process(name, req)?;
        let rt = self.runtime();
        let opts = ExecOptions {
            detach: req.detach,
            ..ExecOptions::default()
        };
        let map = |e: berth_runtime::Error| match e {
            berth_runtime::Error::Exec { message, status } => Error::Exec { message, status },
            e => Error::Runtime(e),
        };
        if req.detach {
            let started = berth_runtime::exec(&rt, &rec.id, &process, &opts).map_err(map)?;
            if let Some(pty) = started.pty {
                super::exec_tty::keep_draining(pty)?;
            }
            return Ok(AttachEnd::Exited(0));
        }
        let mut keys = DetachMatcher::new(detach_keys);
        let ended =
            berth_runtime::exec_foreground_with(&rt, &rec.id, &process, &opts, &mut |typed| {
                keys.feed(typed)
            })
            .map_err(map)?;
        match ended {
            Supervised::Exited(code) => Ok(AttachEnd::Exited(code)),
            Supervised::Detached(pty) => {
                // The process keeps its terminal: someone must hold the master.
                if let Some(pty) = pty {
                    super::exec_tty::keep_draining(pty)?;
                }
                Ok(AttachEnd::Detached)
            }
        }
    }

    /// The running container `name` and the process `req` asks for, made from the
    /// container's own process settings (also used by the health checks).
    pub(crate) fn exec_process(
        &self,
        name: &str,
        req: &ExecRequest,
    ) -> Result<(berth_store::ContainerRecord, Process)> {
        let (rec, stored) = self.container(name)?;
        if self.reconcile(&rec)? != berth_store::ContainerStatus::Running {
            return Err(Error::ContainerState {
                name: rec.name,
                status: rec.state.status.as_str().into(),
                op: "exec in it",
                hint: "\nhint: start it first".into(),
            });
        }
        if req.cmd.is_empty() {
            return Err(Error::Invalid {
                flag: "COMMAND",
                value: String::new(),
                hint: "give the command to run in the container".into(),
            });
        }
        let dir = self.store().container_dir(&rec.id)?;
        let cfg = dir.join("config.json");
        let text = fs_err::read_to_string(&cfg).map_err(|e| Error::Io {
            path: cfg.clone(),
            source: e,
        })?;
        let spec: Value = serde_json::from_str(&text).map_err(|e| Error::Json {
            what: cfg.display().to_string(),
            source: e,
        })?;
        let mut p = spec["process"].clone();
        // `--init` wraps the main process only.
        p["args"] = json!(req.cmd);
        p["terminal"] = json!(req.tty);
        let mut env = super::bundle::process_env(&p);
        if req.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
            env.push("TERM=xterm".into());
        }
        for e in &req.env {
            let key = e.split('=').next().unwrap_or(e);
            env.retain(|x| x.split('=').next() != Some(key));
            env.push(e.clone());
        }
        p["env"] = json!(env);
        if let Some(w) = &req.workdir {
            p["cwd"] = json!(w);
        }
        if let Some(u) = &req.user {
            let root = PathBuf::from(format!("/proc/{}/root", rec.state.pid.unwrap_or(0)));
            let passwd = user::read_in_root(&root, "/etc/passwd")?;
            let group = user::read_in_root(&root, "/etc/group")?;
            let ru = user::resolve(u, &passwd, &group, &stored.opts.group_add)?;
            p["user"] = json!({"uid": ru.uid, "gid": ru.gid, "additionalGids": ru.additional_gids});
        }
        if req.privileged {
            let all = security::all_caps();
            p["capabilities"] = json!({"bounding": all, "effective": all, "permitted": all});
        }
        let process: Process = serde_json::from_value(p).map_err(|e| Error::Json {
            what: "exec process".into(),
            source: e,
        })?;
        Ok((rec, process))
    }
}
