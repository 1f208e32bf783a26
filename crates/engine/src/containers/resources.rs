//! `linux.resources` of the spec: memory, CPU and pids limits from the flags, and
//! Docker's device cgroup rules.

use serde_json::{Value, json};

use super::options::RunOptions;
use super::spec::Device;
use crate::{Error, Result};

/// Docker's device cgroup rules: deny all, then `--device` entries (the runtime adds the
/// standard devices).
fn device_rules(privileged: bool, devices: &[Device]) -> Vec<Value> {
    if privileged {
        return vec![json!({"allow": true, "access": "rwm"})];
    }
    // Deny everything; the runtime appends the devices every container needs (null,
    // zero, tty, pts, …) after these rules, so they are not listed twice.
    let mut rules = vec![json!({"allow": false, "access": "rwm"})];
    for d in devices {
        rules.push(json!({"allow": true, "type": d.kind.to_string(), "major": d.major, "minor": d.minor, "access": d.access}));
    }
    rules
}

/// The `linux.resources` object for `opts`; limits are checked here.
pub fn resources(opts: &RunOptions, devices: &[Device]) -> Result<Value> {
    check_reservation(opts)?;
    let mut r = json!({"devices": device_rules(opts.privileged, devices)});
    if opts.memory.is_some() || opts.memory_swap.is_some() {
        let mut m = json!({});
        if let Some(l) = opts.memory {
            if l < 6 * 1024 * 1024 {
                return Err(Error::Invalid {
                    flag: "--memory",
                    value: l.to_string(),
                    hint: "the minimum memory limit is 6m".into(),
                });
            }
            m["limit"] = json!(l);
        }
        match (opts.memory, opts.memory_swap) {
            (_, Some(-1)) => m["swap"] = json!(-1),
            (Some(l), Some(s)) if s < l => {
                return Err(Error::Invalid {
                    flag: "--memory-swap",
                    value: s.to_string(),
                    hint: "must be at least --memory (it counts memory plus swap) or -1".into(),
                });
            }
            (Some(_), Some(s)) => m["swap"] = json!(s),
            // Docker's default: swap as large again as the limit.
            (Some(l), None) => m["swap"] = json!(l.saturating_mul(2)),
            (None, Some(_)) => {
                return Err(Error::Invalid {
                    flag: "--memory-swap",
                    value: String::new(),
                    hint: "needs --memory as well".into(),
                });
            }
            (None, None) => {}
        }
        r["memory"] = m;
    }
    let mut cpu = json!({});
    if let Some(s) = opts.cpu_shares {
        cpu["shares"] = json!(s);
    }
    if let Some(n) = opts.nano_cpus {
        cpu["period"] = json!(100_000u64);
        cpu["quota"] = json!((n / 10_000).max(1000));
    }
    if let Some(c) = &opts.cpuset_cpus {
        cpu["cpus"] = json!(c);
    }
    if cpu.as_object().is_some_and(|o| !o.is_empty()) {
        r["cpu"] = cpu;
    }
    if let Some(p) = opts.pids_limit
        && p > 0
    {
        r["pids"] = json!({"limit": p});
    }
    opts.kernel.add_resources(&mut r)?;
    Ok(r)
}

/// Docker's daemon checks on `--memory-reservation`: at least 6 MB, and not above
/// `--memory`.
fn check_reservation(opts: &RunOptions) -> Result<()> {
    let Some(res) = opts.kernel.memory_reservation.filter(|r| *r > 0) else {
        return Ok(());
    };
    let bad = |hint: String| Error::Invalid {
        flag: "--memory-reservation",
        value: res.to_string(),
        hint,
    };
    if res < 6 * 1024 * 1024 {
        return Err(bad("the minimum memory reservation is 6m".into()));
    }
    if let Some(limit) = opts.memory.filter(|l| *l > 0 && *l < res) {
        return Err(bad(format!(
            "the memory limit ({limit} bytes) cannot be less than the memory reservation; lower the reservation or raise --memory"
        )));
    }
    Ok(())
}
