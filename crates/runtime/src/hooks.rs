//! OCI hooks: run with the container's state on stdin, with optional timeouts.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use crate::error::{Error, Result};
use crate::state::OciState;

/// Runs `hooks` in order; the first failure stops the rest and is returned.
pub fn run(kind: &'static str, hooks: &[Hook], state: &OciState) -> Result<()> {
    let json = serde_json::to_vec(state).map_err(|e| Error::Init(e.to_string()))?;
    run_json(kind, hooks, &json)
}

/// Runs every hook even when some fail, returning the failures: poststart and poststop
/// failures are warnings, not errors (runtime spec, "Lifecycle").
pub fn run_all(kind: &'static str, hooks: &[Hook], state: &OciState) -> Vec<Error> {
    let json = match serde_json::to_vec(state) {
        Ok(j) => j,
        Err(e) => return vec![Error::Init(e.to_string())],
    };
    hooks
        .iter()
        .filter_map(|h| run_one(kind, h, &json).err())
        .collect()
}

/// Runs `hooks` in order with already-encoded state JSON on their stdin.
pub fn run_json(kind: &'static str, hooks: &[Hook], json: &[u8]) -> Result<()> {
    for h in hooks {
        run_one(kind, h, json)?;
    }
    Ok(())
}

fn run_one(kind: &'static str, h: &Hook, state: &[u8]) -> Result<()> {
    let path = h.path().clone();
    let fail = |message: String| Error::Hook {
        kind,
        path: path.clone(),
        message,
    };
    let args = h.args().clone().unwrap_or_default();
    let mut cmd = Command::new(&path);
    if let Some(arg0) = args.first() {
        use std::os::unix::process::CommandExt;
        cmd.arg0(arg0);
        cmd.args(&args[1..]);
    }
    cmd.env_clear();
    for e in h.env().iter().flatten() {
        if let Some((k, v)) = e.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped());
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: unblock_signals is async-signal-safe.
        unsafe { cmd.pre_exec(crate::unblock_signals) };
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(format!("cannot start: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook may exit without reading its stdin; that is not an error.
        let _ = stdin.write_all(state);
    }
    let deadline = h
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(u64::try_from(t).unwrap_or(0)));
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(fail(format!("exited with {status}"))),
            Ok(None) => {}
            Err(e) => return Err(fail(format!("waiting: {e}"))),
        }
        if let Some(d) = deadline
            && Instant::now() >= d
        {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fail(format!(
                "timed out after {}s",
                h.timeout().unwrap_or_default()
            )));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
