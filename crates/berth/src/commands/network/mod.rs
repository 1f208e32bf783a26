//! `berth network create|ls|inspect|rm|prune|connect|disconnect`, `berth port`, and
//! the hidden helpers `__dns` (a user network's resolver) and `__proxy` (published
//! ports where nftables is missing).

pub mod port;

use std::path::PathBuf;
use std::process::ExitCode;

use berth_engine::Paths;
use berth_engine::networks::NetworkOptions;
use berth_store::{LabelFilter, NetworkFilter};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::commands::container::{self as ctr, done};

/// `berth network COMMAND`.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// What to do with networks.
    #[command(subcommand)]
    pub command: NetworkCommand,
}

/// The `berth network` subcommands.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum NetworkCommand {
    /// Create a network.
    Create {
        /// Driver to manage the network (bridge).
        #[arg(short, long, default_value = "bridge")]
        driver: String,
        /// Subnet in CIDR format (one IPv4 and, with --ipv6, one IPv6).
        #[arg(long)]
        subnet: Vec<String>,
        /// Gateway for the subnet (one IPv4 and, with --ipv6, one IPv6).
        #[arg(long)]
        gateway: Vec<String>,
        /// Allocate container addresses from a sub-range.
        #[arg(long)]
        ip_range: Option<String>,
        /// Restrict external access to the network.
        #[arg(long)]
        internal: bool,
        /// Enable IPv6 (dual stack; without an IPv6 --subnet a random fdXX::/64).
        #[arg(long)]
        ipv6: bool,
        /// Set metadata on a network.
        #[arg(long)]
        label: Vec<String>,
        /// Set driver specific options.
        #[arg(short, long)]
        opt: Vec<String>,
        /// Network name.
        name: String,
    },
    /// List networks.
    #[command(visible_alias = "list")]
    Ls {
        /// Only display network IDs.
        #[arg(short, long)]
        quiet: bool,
        /// Provide filter values (name, id, driver, label).
        #[arg(short, long)]
        filter: Vec<String>,
        /// Format output using a Go template or `json`.
        #[arg(long)]
        format: Option<String>,
        /// Do not truncate the output.
        #[arg(long)]
        no_trunc: bool,
    },
    /// Display detailed information on one or more networks.
    Inspect {
        /// Format output using a Go template or `json`.
        #[arg(short, long)]
        format: Option<String>,
        /// Networks.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove one or more networks.
    #[command(visible_alias = "remove")]
    Rm {
        /// Do not error if the network does not exist.
        #[arg(short, long)]
        force: bool,
        /// Networks.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove all unused networks.
    Prune {
        /// Do not prompt for confirmation.
        #[arg(short, long)]
        force: bool,
    },
    /// Connect a container to a network.
    Connect {
        /// Add network-scoped alias for the container.
        #[arg(long)]
        alias: Vec<String>,
        /// IPv4 address.
        #[arg(long)]
        ip: Option<String>,
        /// IPv6 address.
        #[arg(long)]
        ip6: Option<String>,
        /// Network.
        network: String,
        /// Container.
        container: String,
    },
    /// Disconnect a container from a network.
    Disconnect {
        /// Force the container to disconnect from a network.
        #[arg(short, long)]
        force: bool,
        /// Network.
        network: String,
        /// Container.
        container: String,
    },
}

/// `berth __dns DIR`.
#[derive(Debug, Args)]
pub struct DnsArgs {
    /// The resolver's directory.
    pub dir: PathBuf,
}

/// `berth __proxy STATE ID`.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// berth-net's state directory.
    pub state: PathBuf,
    /// The container.
    pub id: String,
}

/// Runs `berth network …`.
pub fn main(paths: &Paths, args: NetworkArgs) -> ExitCode {
    done(run(paths, args.command))
}

/// Runs the resolver of a network until it is stopped.
pub fn dns_main(args: &DnsArgs) -> ExitCode {
    match berth_engine::networks::resolver::dns_main(&args.dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}

/// Runs the port proxy of a container until its ports are unpublished.
pub fn proxy_main(args: &ProxyArgs) -> ExitCode {
    match berth_engine::networks::resolver::proxy_main(&args.state, &args.id) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}

fn filter_of(filter: &[String]) -> anyhow::Result<NetworkFilter> {
    let mut f = NetworkFilter::default();
    for kv in filter {
        match kv.split_once('=') {
            Some(("name", v)) => f.names.push(v.to_owned()),
            Some(("id", v)) => f.ids.push(v.to_owned()),
            Some(("driver", v)) => f.drivers.push(v.to_owned()),
            Some(("label", v)) => f.labels.push(LabelFilter::parse(v)),
            _ => anyhow::bail!(
                "invalid filter {kv:?}\nhint: network filters: name, id, driver, label"
            ),
        }
    }
    Ok(f)
}

/// Splits repeated `--subnet`/`--gateway` values into the IPv4 one and the IPv6 one,
/// as Docker takes them (`--subnet 172.28.0.0/16 --subnet fd00:28::/64`).
fn by_family(flag: &str, values: Vec<String>) -> anyhow::Result<(Option<String>, Option<String>)> {
    let (v6, v4): (Vec<String>, Vec<String>) = values.into_iter().partition(|v| v.contains(':'));
    if v4.len() > 1 || v6.len() > 1 {
        anyhow::bail!(
            "{flag} given more than once for one address family: {}\nhint: berth networks have one IPv4 and at most one IPv6 {}",
            [v4, v6].concat().join(", "),
            flag.trim_start_matches('-')
        );
    }
    Ok((v4.into_iter().next(), v6.into_iter().next()))
}

fn run(paths: &Paths, cmd: NetworkCommand) -> anyhow::Result<()> {
    let engine = ctr::engine(paths)?;
    match cmd {
        NetworkCommand::Create {
            driver,
            subnet,
            gateway,
            ip_range,
            internal,
            ipv6,
            label,
            opt,
            name,
        } => {
            let (subnet, subnet6) = by_family("--subnet", subnet)?;
            let (gateway, gateway6) = by_family("--gateway", gateway)?;
            let n = engine.create_network(
                &name,
                &NetworkOptions {
                    driver: Some(driver),
                    subnet,
                    gateway,
                    ip_range,
                    internal,
                    ipv6,
                    subnet6,
                    gateway6,
                    labels: label,
                    options: opt,
                },
            )?;
            println!("{}", n.id);
        }
        NetworkCommand::Ls {
            quiet,
            filter,
            format,
            no_trunc,
        } => {
            let nets = engine.list_networks(&filter_of(&filter)?)?;
            let id = |i: &str| {
                if no_trunc {
                    i.to_owned()
                } else {
                    i.chars().take(12).collect()
                }
            };
            if quiet {
                for n in &nets {
                    println!("{}", id(&n.id));
                }
                return Ok(());
            }
            let rows: Vec<_> = nets
                .iter()
                .map(|n| {
                    json!({"ID": id(&n.id), "Name": n.name, "Driver": n.driver, "Scope": "local",
                        "IPv6": "false", "Internal": n.internal.to_string(),
                        "CreatedAt": berth_engine::containers::inspect::rfc3339(Some(n.created)),
                        "Labels": n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")})
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
                        crate::format::render_table(
                            t,
                            &rows,
                            &[
                                ("ID", "NETWORK ID"),
                                ("Name", "NAME"),
                                ("Driver", "DRIVER"),
                                ("Scope", "SCOPE")
                            ]
                        )?
                    );
                }
                _ => {
                    let mut lines = vec!["NETWORK ID\tNAME\tDRIVER\tSCOPE".to_owned()];
                    lines.extend(
                        nets.iter()
                            .map(|n| format!("{}\t{}\t{}\tlocal", id(&n.id), n.name, n.driver)),
                    );
                    print!("{}", crate::format::tabwrite(&lines));
                }
            }
        }
        NetworkCommand::Inspect { format, names } => {
            let mut docs = Vec::new();
            let mut failed = false;
            for n in &names {
                match engine
                    .find_network(n)
                    .and_then(|net| berth_engine::networks::network_json(&engine, &net))
                {
                    Ok(d) => docs.push(d),
                    Err(e) => {
                        ctr::print_error(&e.into());
                        failed = true;
                    }
                }
            }
            ctr::inspect::print_docs(&docs, format.as_deref())?;
            if failed {
                return Err(ctr::Reported.into());
            }
        }
        NetworkCommand::Rm { force, names } => {
            ctr::each(&names, |n| match engine.remove_network(n) {
                Ok(_) => Ok(n.to_owned()),
                Err(berth_engine::Error::Store(berth_store::Error::NetworkNotFound(_)))
                    if force =>
                {
                    Ok(String::new())
                }
                Err(e) => Err(e.into()),
            })?;
        }
        NetworkCommand::Prune { force } => {
            if !force
                && !ctr::confirm(
                    "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?",
                )
            {
                return Ok(());
            }
            let removed = engine.prune_networks()?;
            if !removed.is_empty() {
                println!("Deleted Networks:");
                for n in &removed {
                    println!("{n}");
                }
            }
        }
        NetworkCommand::Connect {
            alias,
            ip,
            ip6,
            network,
            container,
        } => engine.connect_network_dual(
            &network,
            &container,
            &alias,
            ip.as_deref(),
            ip6.as_deref(),
        )?,
        NetworkCommand::Disconnect {
            force: _,
            network,
            container,
        } => engine.disconnect_network(&network, &container)?,
    }
    Ok(())
}
