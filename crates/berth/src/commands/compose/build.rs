//! `compose build`, `pull`, `push` and `config`.

use std::io::Write as _;

use berth_compose::config;
use berth_compose::run::{BuildFlags, Compose};
use berth_engine::Paths;
use clap::Args;

use super::{ComposeArgs, open, printer, project};

/// `build` flags.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Do not use cache when building the image.
    #[arg(long)]
    pub no_cache: bool,
    /// Always attempt to pull a newer version of the image.
    #[arg(long)]
    pub pull: bool,
    /// Don't print anything to STDOUT.
    #[arg(short, long)]
    pub quiet: bool,
    /// Services to build (default: all with a build section).
    pub services: Vec<String>,
}

/// Flags of commands that take only services.
#[derive(Debug, Args)]
pub struct ServicesArgs {
    /// Services (default: all).
    pub services: Vec<String>,
}

/// `config` flags.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Only validate the configuration, don't print anything.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print the service names, one per line.
    #[arg(long)]
    pub services: bool,
    /// Print the volume names, one per line.
    #[arg(long)]
    pub volumes: bool,
    /// Print the image names, one per line.
    #[arg(long)]
    pub images: bool,
    /// Save to file (default: stdout).
    #[arg(short, long)]
    pub output: Option<std::path::PathBuf>,
}

/// Runs `build`.
pub fn build(paths: &Paths, g: &ComposeArgs, a: &BuildArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    let compose = Compose::new(&engine, &project);
    let plan = compose.plan(&a.services)?;
    let flags = BuildFlags {
        no_cache: a.no_cache,
        pull: a.pull,
        step_output: if a.quiet { None } else { Some(1) },
    };
    let mut print = printer();
    for sp in &plan.services {
        let named = a.services.is_empty() || a.services.contains(&sp.name);
        if sp.service.build.is_none() || !named {
            continue;
        }
        if a.quiet {
            compose.build_service(sp, &flags, &mut std::io::sink(), &mut print)?;
        } else {
            compose.build_service(sp, &flags, &mut std::io::stdout(), &mut print)?;
        }
    }
    Ok(())
}

/// Runs `pull`.
pub fn pull(paths: &Paths, g: &ComposeArgs, a: &ServicesArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    let compose = Compose::new(&engine, &project);
    let plan = compose.plan(&a.services)?;
    let mut print = printer();
    for sp in &plan.services {
        let named = a.services.is_empty() || a.services.contains(&sp.name);
        if sp.service.image.is_none() || !named {
            continue;
        }
        // A service that is also built may have a name no registry knows: skip it as
        // Docker Compose does when the pull fails for such a service.
        if let Err(e) = compose.pull_service(sp, &mut print) {
            if sp.service.build.is_none() {
                return Err(e.into());
            }
        }
    }
    Ok(())
}

/// Runs `push`.
pub fn push(paths: &Paths, g: &ComposeArgs, a: &ServicesArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    let compose = Compose::new(&engine, &project);
    let plan = compose.plan(&a.services)?;
    let mut print = printer();
    for sp in &plan.services {
        let named = a.services.is_empty() || a.services.contains(&sp.name);
        if sp.service.build.is_some() && sp.service.image.is_some() && named {
            compose.push_service(sp, &mut print)?;
        }
    }
    Ok(())
}

/// Runs `config`.
pub fn config(g: &ComposeArgs, a: &ConfigArgs) -> anyhow::Result<()> {
    let project = project(g)?;
    let resolved = config::resolved(&project);
    let text = if a.services {
        resolved.services.keys().map(|s| format!("{s}\n")).collect()
    } else if a.volumes {
        resolved.volumes.keys().map(|s| format!("{s}\n")).collect()
    } else if a.images {
        resolved
            .services
            .iter()
            .map(|(name, s)| {
                s.image
                    .clone()
                    .unwrap_or_else(|| format!("{}-{name}", project.name))
                    + "\n"
            })
            .collect()
    } else {
        config::render(&project)?
    };
    if a.quiet {
        return Ok(());
    }
    match &a.output {
        Some(p) => fs_err::write(p, text)?,
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    Ok(())
}
