//! `berth volume create|ls|inspect|rm|prune`.

use std::process::ExitCode;

use berth_engine::Paths;
use berth_store::{LabelFilter, VolumeFilter};
use clap::{Args, Subcommand};
use serde_json::json;

/// `berth volume COMMAND`.
#[derive(Debug, Args)]
pub struct VolumeArgs {
    /// What to do with volumes.
    #[command(subcommand)]
    pub command: VolumeCommand,
}

/// The `berth volume` subcommands.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum VolumeCommand {
    /// Create a volume.
    Create {
        /// Volume name.
        #[arg(long = "name")]
        name_flag: Option<String>,
        /// Volume driver name (only local).
        #[arg(short, long, default_value = "local")]
        driver: String,
        /// Set metadata for a volume.
        #[arg(long)]
        label: Vec<String>,
        /// Set driver specific options.
        #[arg(short, long)]
        opt: Vec<String>,
        /// Volume name.
        name: Option<String>,
    },
    /// List volumes.
    #[command(visible_alias = "list")]
    Ls {
        /// Only display volume names.
        #[arg(short, long)]
        quiet: bool,
        /// Provide filter values (dangling, name, label, driver).
        #[arg(short, long)]
        filter: Vec<String>,
        /// Format output using a Go template or `json`.
        #[arg(long)]
        format: Option<String>,
    },
    /// Display detailed information on one or more volumes.
    Inspect {
        /// Format output using a Go template or `json`.
        #[arg(short, long)]
        format: Option<String>,
        /// Volumes.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove one or more volumes.
    #[command(visible_alias = "remove")]
    Rm {
        /// Do not error on a missing volume.
        #[arg(short, long)]
        force: bool,
        /// Volumes.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove unused local volumes.
    Prune {
        /// Do not prompt for confirmation.
        #[arg(short, long)]
        force: bool,
        /// Remove all unused volumes, not just anonymous ones.
        #[arg(short, long)]
        all: bool,
    },
}

/// Runs `berth volume …`.
pub fn main(paths: &Paths, args: VolumeArgs) -> ExitCode {
    super::done(run(paths, args.command))
}

fn run(paths: &Paths, cmd: VolumeCommand) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    match cmd {
        VolumeCommand::Create {
            name_flag,
            driver,
            label,
            opt,
            name,
        } => {
            if driver != "local" {
                anyhow::bail!(
                    "volume driver {driver:?} is not supported\nhint: berth has the local driver only"
                );
            }
            if let (Some(a), Some(b)) = (&name_flag, &name)
                && a != b
            {
                anyhow::bail!(
                    "conflicting options: either specify --name or provide positional arg, not both"
                );
            }
            let v = engine.create_volume(name_flag.as_deref().or(name.as_deref()), &label, &opt)?;
            println!("{}", v.name);
        }
        VolumeCommand::Ls {
            quiet,
            filter,
            format,
        } => {
            let mut f = VolumeFilter::default();
            for kv in &filter {
                match kv.split_once('=') {
                    Some(("dangling", v)) => f.dangling = Some(matches!(v, "true" | "1")),
                    Some(("name", v)) => f.names.push(v.to_owned()),
                    Some(("label", v)) => f.labels.push(LabelFilter::parse(v)),
                    Some(("driver", v)) => f.drivers.push(v.to_owned()),
                    _ => anyhow::bail!(
                        "invalid filter {kv:?}\nhint: volume filters: dangling, name, label, driver"
                    ),
                }
            }
            let vols = engine.list_volumes(&f)?;
            if quiet {
                for v in &vols {
                    println!("{}", v.name);
                }
                return Ok(());
            }
            let rows: Vec<_> = vols
                .iter()
                .map(|v| {
                    json!({"Driver": v.driver, "Name": v.name, "Mountpoint": v.mountpoint, "Scope": "local",
                        "Labels": v.labels.iter().map(|(k, x)| format!("{k}={x}")).collect::<Vec<_>>().join(",")})
                })
                .collect();
            match format.as_deref() {
                Some("json") => {
                    for r in &rows {
                        println!("{r}");
                    }
                }
                Some(t) if t != "table" => {
                    print!(
                        "{}",
                        crate::format::render_table(t, &rows, &[("Name", "VOLUME NAME")])?
                    );
                }
                _ => {
                    let mut lines = vec!["DRIVER\tVOLUME NAME".to_owned()];
                    lines.extend(vols.iter().map(|v| format!("{}\t{}", v.driver, v.name)));
                    print!("{}", crate::format::tabwrite(&lines));
                }
            }
        }
        VolumeCommand::Inspect { format, names } => {
            let mut docs = Vec::new();
            let mut failed = false;
            for n in &names {
                match engine.inspect_volume(n) {
                    Ok(d) => docs.push(d),
                    Err(e) => {
                        super::print_error(&e.into());
                        failed = true;
                    }
                }
            }
            super::inspect::print_docs(&docs, format.as_deref())?;
            if failed {
                return Err(super::Reported.into());
            }
        }
        VolumeCommand::Rm { force, names } => {
            super::each(&names, |n| {
                engine.remove_volume(n, force)?;
                Ok(n.to_owned())
            })?;
        }
        VolumeCommand::Prune { force, all } => {
            if !force
                && !super::confirm(
                    "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?",
                )
            {
                return Ok(());
            }
            let removed = engine.prune_volumes(all)?;
            let names: Vec<String> = removed.iter().map(|(n, _)| n.clone()).collect();
            crate::format::print_deleted("Deleted Volumes:", &names);
            let bytes = removed.iter().map(|(_, b)| b).sum();
            println!(
                "Total reclaimed space: {}",
                crate::format::human_size(bytes)
            );
        }
    }
    Ok(())
}
