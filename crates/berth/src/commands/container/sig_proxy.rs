//! `--sig-proxy` (default on) for `attach` and `start -a` without a terminal: the
//! signals berth receives go to the container's main process, as Docker's CLI forwards
//! them. The container is owned by its monitor, not by this process, so a thread waits
//! for the signals (blocked everywhere else) and sends them with `kill`; `Command`
//! resets the mask, so the monitor started afterwards does not inherit it.

use berth_engine::{Engine, Paths};
use nix::sys::signal::{SigSet, Signal};

/// Starts forwarding to container `name`; lasts until the process exits.
pub fn forward(paths: &Paths, name: &str) -> anyhow::Result<()> {
    let mut set = berth_engine::containers::lifecycle::forwarded_signals();
    // Not signals for the container: children, broken pipes, urgent data, and window
    // size changes (the attach relay sends those as sizes).
    for s in [
        Signal::SIGCHLD,
        Signal::SIGPIPE,
        Signal::SIGURG,
        Signal::SIGWINCH,
    ] {
        set.remove(s);
    }
    let mut blocked: SigSet = set;
    blocked.add(Signal::SIGWINCH);
    blocked.thread_block()?;
    let paths = paths.clone();
    let name = name.to_owned();
    std::thread::Builder::new()
        .name("sig-proxy".into())
        .spawn(move || {
            let mut engine = None;
            while let Ok(sig) = set.wait() {
                if engine.is_none() {
                    engine = Engine::open(paths.clone()).ok();
                }
                if let Some(e) = &engine {
                    // Not running (any more): nothing to forward to, as Docker.
                    let _ = e.kill_container(&name, sig.as_str());
                }
            }
        })?;
    Ok(())
}
