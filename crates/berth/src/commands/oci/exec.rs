//! `berth oci exec`: a process from `--process FILE` or from flags and arguments.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use berth_runtime::{ExecOptions, Runtime};
use clap::Args;
use oci_spec::runtime::Process;

/// Flags of `exec`, as runc has them.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// JSON file with the process to run (runtime spec's `process`).
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Allocate a terminal.
    #[arg(short, long)]
    pub tty: bool,
    /// Return once the process started.
    #[arg(short, long)]
    pub detach: bool,
    /// Write the process's pid here.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Environment variables (KEY=VALUE).
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Working directory inside the container.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// UID[:GID] to run as.
    #[arg(short, long)]
    pub user: Option<String>,
    /// Extra group ids.
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Set no_new_privs.
    #[arg(long)]
    pub no_new_privs: bool,
    /// Add a capability to the process's sets (CAP_NET_ADMIN; repeatable).
    #[arg(short = 'c', long = "cap")]
    pub caps: Vec<String>,
    /// AppArmor profile for the process.
    #[arg(long)]
    pub apparmor: Option<String>,
    /// SELinux label for the process.
    #[arg(long)]
    pub process_label: Option<String>,
    /// Descriptors from 3 upward passed through.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: i32,
    /// Container id.
    pub id: String,
    /// Command and arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Runs the exec; returns the process's exit code (0 when detached).
pub fn run(rt: &Runtime, a: &ExecArgs) -> Result<i32> {
    let process = build_process(rt, a)?;
    let opts = ExecOptions {
        detach: a.detach,
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        preserve_fds: a.preserve_fds,
    };
    if a.detach {
        if process.terminal().unwrap_or(false) && a.console_socket.is_none() {
            bail!("exec: a detached process with a terminal needs --console-socket");
        }
        berth_runtime::exec(rt, &a.id, &process, &opts)
            .with_context(|| format!("exec in container {}", a.id))?;
        return Ok(0);
    }
    berth_runtime::exec_foreground(rt, &a.id, &process, &opts)
        .with_context(|| format!("exec in container {}", a.id))
}

fn build_process(rt: &Runtime, a: &ExecArgs) -> Result<Process> {
    if let Some(path) = &a.process {
        let text = fs_err::read(path)?;
        let de = &mut serde_json::Deserializer::from_slice(&text);
        return serde_path_to_error::deserialize(de).map_err(|e| {
            anyhow::anyhow!(
                "{}: invalid field `{}`: {}",
                path.display(),
                e.path(),
                e.inner()
            )
        });
    }
    if a.args.is_empty() {
        bail!(
            "exec: no command given\nhint: berth oci exec ID COMMAND [ARG...], or --process FILE"
        );
    }
    let c = rt.load(&a.id)?;
    let spec = c.dir.load_spec()?;
    let mut p = spec.process().clone().unwrap_or_default();
    p.set_args(Some(a.args.clone()));
    p.set_terminal(Some(a.tty));
    p.set_console_size(None);
    let mut env = p.env().clone().unwrap_or_default();
    for e in &a.env {
        let key = e.split('=').next().unwrap_or("");
        env.retain(|x| x.split('=').next() != Some(key));
        env.push(e.clone());
    }
    p.set_env(Some(env));
    if let Some(cwd) = &a.cwd {
        p.set_cwd(cwd.clone());
    }
    if let Some(u) = &a.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u.parse::<u32>(), g.parse::<u32>().map(Some)),
            None => (u.parse::<u32>(), Ok(None)),
        };
        let uid = uid.with_context(|| format!("--user {u:?}: expected UID[:GID] as numbers"))?;
        let gid = gid.with_context(|| format!("--user {u:?}: expected UID[:GID] as numbers"))?;
        p.user_mut().set_uid(uid);
        if let Some(g) = gid {
            p.user_mut().set_gid(g);
        }
    }
    if !a.additional_gids.is_empty() {
        p.user_mut()
            .set_additional_gids(Some(a.additional_gids.clone()));
    }
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if !a.caps.is_empty() {
        add_caps(&mut p, &a.caps)?;
    }
    if let Some(profile) = &a.apparmor {
        p.set_apparmor_profile(Some(profile.clone()));
    }
    if let Some(label) = &a.process_label {
        p.set_selinux_label(Some(label.clone()));
    }
    Ok(p)
}

/// `--cap CAP_X`: added to every capability set but ambient, as runc does.
fn add_caps(p: &mut Process, names: &[String]) -> Result<()> {
    use std::str::FromStr;
    let mut caps = p.capabilities().clone().unwrap_or_default();
    for name in names {
        let short = name.trim_start_matches("CAP_");
        let cap = oci_spec::runtime::Capability::from_str(short).map_err(|_| {
            anyhow::anyhow!("--cap {name:?}: not a capability\nhint: use names like CAP_NET_ADMIN")
        })?;
        let with = |set: &Option<oci_spec::runtime::Capabilities>| {
            let mut s = set.clone().unwrap_or_default();
            s.insert(cap);
            Some(s)
        };
        let (b, e, pm, i) = (
            with(caps.bounding()),
            with(caps.effective()),
            with(caps.permitted()),
            with(caps.inheritable()),
        );
        caps.set_bounding(b);
        caps.set_effective(e);
        caps.set_permitted(pm);
        caps.set_inheritable(i);
    }
    p.set_capabilities(Some(caps));
    Ok(())
}
