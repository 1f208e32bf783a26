//! `berth oci update`: new resource limits from flags or a JSON document.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use berth_runtime::Runtime;
use clap::Args;
use oci_spec::runtime::LinuxResources;
use serde_json::{Map, Value, json};

/// Flags of `update`, as runc has them.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// JSON file with linux.resources (`-` for stdin).
    #[arg(short, long)]
    pub resources: Option<PathBuf>,
    /// Memory limit in bytes.
    #[arg(long)]
    pub memory: Option<i64>,
    /// Memory reservation in bytes.
    #[arg(long)]
    pub memory_reservation: Option<i64>,
    /// Memory plus swap limit in bytes (-1 unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<i64>,
    /// CPU shares (relative weight).
    #[arg(long)]
    pub cpu_shares: Option<u64>,
    /// CPU CFS period in microseconds.
    #[arg(long)]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota in microseconds.
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPUs allowed (0-3, 0,1).
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes allowed.
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Maximum number of processes.
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Block IO weight (10-1000).
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    /// Container id.
    pub id: String,
}

/// Applies the update.
pub fn run(rt: &Runtime, a: &UpdateArgs) -> Result<()> {
    let res: LinuxResources = match &a.resources {
        Some(p) => {
            let mut text = Vec::new();
            if p.as_os_str() == "-" {
                std::io::stdin().read_to_end(&mut text)?;
            } else {
                text = fs_err::read(p)?;
            }
            serde_json::from_slice(&text).with_context(|| {
                format!(
                    "--resources {}: not a linux.resources document",
                    p.display()
                )
            })?
        }
        None => serde_json::from_value(from_flags(a))?,
    };
    berth_runtime::update(rt, &a.id, &res)
        .with_context(|| format!("updating container {}", a.id))?;
    Ok(())
}

fn from_flags(a: &UpdateArgs) -> Value {
    let mut memory = Map::new();
    if let Some(v) = a.memory {
        memory.insert("limit".into(), json!(v));
    }
    if let Some(v) = a.memory_reservation {
        memory.insert("reservation".into(), json!(v));
    }
    if let Some(v) = a.memory_swap {
        memory.insert("swap".into(), json!(v));
    }
    let mut cpu = Map::new();
    if let Some(v) = a.cpu_shares {
        cpu.insert("shares".into(), json!(v));
    }
    if let Some(v) = a.cpu_period {
        cpu.insert("period".into(), json!(v));
    }
    if let Some(v) = a.cpu_quota {
        cpu.insert("quota".into(), json!(v));
    }
    if let Some(v) = &a.cpuset_cpus {
        cpu.insert("cpus".into(), json!(v));
    }
    if let Some(v) = &a.cpuset_mems {
        cpu.insert("mems".into(), json!(v));
    }
    let mut out = Map::new();
    if !memory.is_empty() {
        out.insert("memory".into(), Value::Object(memory));
    }
    if !cpu.is_empty() {
        out.insert("cpu".into(), Value::Object(cpu));
    }
    if let Some(v) = a.pids_limit {
        out.insert("pids".into(), json!({ "limit": v }));
    }
    if let Some(v) = a.blkio_weight {
        out.insert("blockIO".into(), json!({ "weight": v }));
    }
    Value::Object(out)
}
