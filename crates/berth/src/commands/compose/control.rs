//! `compose pause`, `unpause`, `wait`, `create`, `attach` and `version`.

use std::process::ExitCode;
use std::sync::mpsc;

use berth_compose::run::{Compose, DownOptions, UpOptions, is_running};
use berth_engine::Paths;
use clap::Args;

use super::lifecycle::ServicesArgs;
use super::{ComposeArgs, open, printer};
use crate::commands::container::attach::{self, AttachArgs};

/// Runs `pause` (`pause` true) or `unpause`.
pub fn pause(paths: &Paths, g: &ComposeArgs, a: &ServicesArgs, pause: bool) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    Compose::new(&engine, &project).pause(&a.services, pause, &mut printer())?;
    Ok(())
}

/// `wait` flags.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Drops project when the first container stops.
    #[arg(long)]
    pub down_project: bool,
    /// Services.
    #[arg(required = true)]
    pub services: Vec<String>,
}

/// Runs `wait`: blocks until the first container of the services stops and exits with its
/// code, as Docker Compose does.
pub fn wait(paths: &Paths, g: &ComposeArgs, a: &WaitArgs) -> ExitCode {
    let r = (|| -> anyhow::Result<i32> {
        let (engine, project) = open(paths, g)?;
        let compose = Compose::new(&engine, &project);
        let containers = compose.service_containers(&a.services)?;
        if containers.is_empty() {
            anyhow::bail!(
                "no containers for services {}\nhint: start them with `berth compose up -d`",
                a.services.join(", ")
            );
        }
        let (tx, rx) = mpsc::channel();
        let code = std::thread::scope(|s| -> anyhow::Result<i32> {
            for c in &containers {
                let tx = tx.clone();
                let engine = &engine;
                s.spawn(move || {
                    let _ = tx.send(engine.wait_exit(&c.record.id, None));
                });
            }
            drop(tx);
            let first = rx
                .recv()
                .map_err(|_| anyhow::anyhow!("no container to wait for"))??;
            let code = first.exit_code.unwrap_or(0);
            if a.down_project {
                compose.down(&DownOptions::default(), &mut printer())?;
            } else {
                // The other waits end with the process; nothing else holds them.
                std::process::exit(code);
            }
            Ok(code)
        })?;
        Ok(code)
    })();
    match r {
        Ok(code) => crate::commands::container::exit(code),
        Err(e) => {
            crate::commands::container::print_error(&e);
            ExitCode::from(1)
        }
    }
}

/// `create` flags.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// How to converge: build, recreate, orphans, scale.
    #[command(flatten)]
    pub converge: super::up::ConvergeFlags,
    /// Services (default: all).
    pub services: Vec<String>,
}

/// Runs `create`: `up --no-start`.
pub fn create(paths: &Paths, g: &ComposeArgs, a: &CreateArgs) -> anyhow::Result<()> {
    let (engine, project) = open(paths, g)?;
    let compose = Compose::new(&engine, &project);
    let opts = UpOptions {
        no_start: true,
        ..a.converge.up_options(&a.services)?
    };
    compose.up(&opts, &mut std::io::stderr(), &mut printer())?;
    Ok(())
}

/// `attach` flags.
#[derive(Debug, Args)]
pub struct ComposeAttachArgs {
    /// Override the key sequence for detaching from a container.
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Index of the container if service has multiple replicas.
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    /// Do not attach STDIN.
    #[arg(long)]
    pub no_stdin: bool,
    /// Proxy all received signals to the process.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    /// The service.
    pub service: String,
}

/// Runs `attach SERVICE`: `berth attach` on the service's container.
pub fn attach(paths: &Paths, g: &ComposeArgs, a: &ComposeAttachArgs) -> ExitCode {
    let name = (|| -> anyhow::Result<String> {
        let (engine, project) = open(paths, g)?;
        let c = Compose::new(&engine, &project).container_of(&a.service, a.index)?;
        if !is_running(c.status) {
            anyhow::bail!(
                "container {} is not running\nhint: start it with `berth compose start {}`",
                c.record.name,
                a.service
            );
        }
        Ok(c.record.name)
    })();
    match name {
        Ok(container) => attach::main(
            paths,
            AttachArgs {
                detach_keys: a.detach_keys.clone(),
                no_stdin: a.no_stdin,
                sig_proxy: a.sig_proxy,
                container,
            },
        ),
        Err(e) => {
            crate::commands::container::print_error(&e);
            ExitCode::from(1)
        }
    }
}

/// `version` flags.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Format the output: pretty or json.
    #[arg(short, long, default_value = "pretty", value_parser = ["pretty", "json"])]
    pub format: String,
    /// Shows only Compose's version number.
    #[arg(long)]
    pub short: bool,
}

/// Runs `version`.
pub fn version(a: &VersionArgs) -> anyhow::Result<()> {
    let v = env!("CARGO_PKG_VERSION");
    if a.short {
        println!("{v}");
    } else if a.format == "json" {
        println!("{}", serde_json::json!({ "version": format!("v{v}") }));
    } else {
        println!("berth compose version v{v}");
    }
    Ok(())
}
