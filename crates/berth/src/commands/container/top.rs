//! `berth top CONTAINER [ps OPTIONS]`: the host's `ps` on the container's processes.

use berth_engine::Paths;
use clap::Args;

/// Display the running processes of a container.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// The container.
    pub container: String,
    /// Options for ps (default -ef).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_options: Vec<String>,
}

/// Runs `berth top`.
pub fn run(paths: &Paths, args: &TopArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    let pids = engine.container_pids(&args.container)?;
    let opts = if args.ps_options.is_empty() {
        vec!["-ef".to_owned()]
    } else {
        args.ps_options.clone()
    };
    let out = std::process::Command::new("ps")
        .args(&opts)
        .output()
        .map_err(|e| anyhow::anyhow!("running ps: {e}\nhint: install procps"))?;
    if !out.status.success() {
        anyhow::bail!(
            "ps {}: {}",
            opts.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let pid_col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| anyhow::anyhow!("couldn't find PID field in ps output"))?;
    println!("{header}");
    for l in lines {
        if l.split_whitespace()
            .nth(pid_col)
            .and_then(|p| p.parse::<i32>().ok())
            .is_some_and(|p| pids.contains(&p))
        {
            println!("{l}");
        }
    }
    Ok(())
}
