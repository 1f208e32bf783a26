//! `berth create [OPTIONS] IMAGE [COMMAND] [ARG...]`, and the flags it shares with `run`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use berth_engine::containers::RunOptions;
use berth_engine::containers::host_opts::{self, HostOptions};
use berth_engine::containers::kernel_opts::KernelOptions;
use berth_engine::containers::options::AttachStreams;
use berth_engine::{Engine, Paths};
use clap::{ArgAction, Args};

/// The flags of `create` and `run` (Docker's names and short forms).
#[derive(Debug, Args, Clone)]
pub struct ContainerFlags {
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
    /// Assign a name to the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Keep STDIN open even if not attached.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Automatically remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Run an init inside the container that forwards signals and reaps processes.
    #[arg(long)]
    pub init: bool,
    /// Set environment variables.
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Read in a file of environment variables.
    #[arg(long)]
    pub env_file: Vec<PathBuf>,
    /// Username or UID (format: <name|uid>[:<group|gid>]).
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Container host name.
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Set meta data on a container.
    #[arg(short, long = "label")]
    pub label: Vec<String>,
    /// Memory, CPU and pids limits.
    #[command(flatten)]
    pub resources: super::resource_flags::ResourceFlags,
    /// Ulimit options.
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Mount the container's root filesystem as read only.
    #[arg(long)]
    pub read_only: bool,
    /// Mount a tmpfs directory.
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Add Linux capabilities.
    #[arg(long)]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities.
    #[arg(long)]
    pub cap_drop: Vec<String>,
    /// Give extended privileges to this container.
    #[arg(long)]
    pub privileged: bool,
    /// Security Options.
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// Add a host device to the container.
    #[arg(long)]
    pub device: Vec<String>,
    /// User namespace to use (only "host", the default, for now).
    #[arg(long)]
    pub userns: Option<String>,
    /// Restart policy to apply when a container exits.
    #[arg(long)]
    pub restart: Option<String>,
    /// Signal to stop the container.
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container.
    #[arg(long)]
    pub stop_timeout: Option<i64>,
    /// Logging driver for the container (json-file, none).
    #[arg(long)]
    pub log_driver: Option<String>,
    /// Log driver options.
    #[arg(long)]
    pub log_opt: Vec<String>,
    /// Override the key sequence for detaching a container.
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Attach to STDIN, STDOUT or STDERR.
    #[arg(short, long)]
    pub attach: Vec<String>,
    /// Write the container ID to the file.
    #[arg(long)]
    pub cidfile: Option<PathBuf>,
    /// Bind mount a volume.
    #[arg(short, long = "volume")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container.
    #[arg(long)]
    pub mount: Vec<String>,
    /// Add additional groups to join.
    #[arg(long)]
    pub group_add: Vec<String>,
    /// Set platform if server is multi-platform capable.
    #[arg(long)]
    pub platform: Option<String>,
    /// Pull image before running ("always", "missing", "never").
    #[arg(long, default_value = "missing", value_parser = ["always", "missing", "never"])]
    pub pull: String,
    /// Connect a container to a network (bridge, NAME, none, host, container:NAME).
    #[arg(long, visible_alias = "net")]
    pub network: Option<String>,
    /// Add network-scoped alias for the container.
    #[arg(long, visible_alias = "net-alias")]
    pub network_alias: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104).
    #[arg(long)]
    pub ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33).
    #[arg(long)]
    pub ip6: Option<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33).
    #[arg(long)]
    pub mac_address: Option<String>,
    /// Publish a container's port(s) to the host.
    #[arg(short, long)]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports.
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// Expose a port or a range of ports.
    #[arg(long)]
    pub expose: Vec<String>,
    /// Add link to another container (NAME[:ALIAS]).
    #[arg(long)]
    pub link: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip).
    #[arg(long)]
    pub add_host: Vec<String>,
    /// Set custom DNS servers.
    #[arg(long)]
    pub dns: Vec<String>,
    /// Set custom DNS search domains.
    #[arg(long)]
    pub dns_search: Vec<String>,
    /// Set DNS options.
    #[arg(long)]
    pub dns_option: Vec<String>,
    /// Health check flags.
    #[command(flatten)]
    pub health: super::health::HealthFlags,
    /// Namespaces, sysctls, /dev/shm and the finer limits.
    #[command(flatten)]
    pub kernel: super::kernel_flags::KernelFlags,
    /// Runtime to use for this container (runc or berth: berth's own).
    #[arg(long)]
    pub runtime: Option<String>,
    /// GPU devices to add to the container ('all' to pass all GPUs).
    #[arg(long)]
    pub gpus: Vec<String>,
    /// Storage driver options for the container.
    #[arg(long)]
    pub storage_opt: Vec<String>,
    /// Mount volumes from the specified container(s).
    #[arg(long)]
    pub volumes_from: Vec<String>,
    /// Read in a line delimited file of labels.
    #[arg(long)]
    pub label_file: Vec<PathBuf>,
    /// Suppress the pull output.
    #[arg(short, long)]
    pub quiet: bool,
    /// The image, then the command and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "IMAGE [COMMAND] [ARG...]"
    )]
    pub image_and_command: Vec<String>,
}

/// Reads a `--env-file`/`--label-file`: one `KEY=VALUE` (or `KEY`) per line, `#`
/// comments and blank lines skipped.
pub(crate) fn read_kv_file(
    path: &PathBuf,
    what: &str,
    out: &mut Vec<String>,
) -> anyhow::Result<()> {
    let text = fs_err::read_to_string(path)?;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.contains(char::is_whitespace) && !line.contains('=') {
            anyhow::bail!(
                "{}:{}: {what} {line:?} contains whitespace\nhint: write KEY=VALUE, one per line",
                path.display(),
                n + 1
            );
        }
        out.push(line.to_owned());
    }
    Ok(())
}

/// `-e KEY` takes KEY from berth's environment (dropped when unset), as Docker.
pub(crate) fn resolve_env(items: Vec<String>) -> Vec<String> {
    items
        .into_iter()
        .filter_map(|e| {
            if e.contains('=') {
                Some(e)
            } else {
                std::env::var(&e).ok().map(|v| format!("{e}={v}"))
            }
        })
        .collect()
}

impl ContainerFlags {
    /// The image named on the command line.
    pub fn image(&self) -> &str {
        self.image_and_command.first().map_or("", String::as_str)
    }

    /// Converts the flags into the engine's options, checking their values.
    pub fn options(&self) -> anyhow::Result<RunOptions> {
        // Everything after the image is the command; before it, a word with a dash is a
        // flag clap did not know.
        if let Some(flag) = self.image().strip_prefix('-') {
            anyhow::bail!("unknown flag: -{flag}\nhint: see berth run --help");
        }
        let attach = super::streams::Attach::parse(&self.attach, self.interactive)?;
        let mut env = Vec::new();
        for f in &self.env_file {
            read_kv_file(f, "variable", &mut env)?;
        }
        env.extend(self.env.iter().cloned());
        // Docker: the files first, then -l (later entries win).
        let mut labels = Vec::new();
        for f in &self.label_file {
            read_kv_file(f, "label", &mut labels)?;
        }
        labels.extend(self.label.iter().cloned());
        let limits = self.resources.parsed(false)?;
        if let Some(u) = &self.userns
            && u != "host"
            && !u.is_empty()
        {
            anyhow::bail!(
                "invalid --userns value {u:?}\nhint: only the host user namespace is supported for now"
            );
        }
        Ok(RunOptions {
            name: self.name.clone(),
            interactive: self.interactive,
            tty: self.tty,
            init: self.init,
            env: resolve_env(env),
            user: self.user.clone(),
            workdir: self.workdir.clone(),
            entrypoint: self.entrypoint.clone(),
            cmd: self
                .image_and_command
                .get(1..)
                .map(<[String]>::to_vec)
                .unwrap_or_default(),
            hostname: self.hostname.clone(),
            labels,
            memory: limits.memory,
            memory_swap: limits.memory_swap,
            nano_cpus: limits.nano_cpus,
            cpu_shares: limits.cpu_shares,
            cpuset_cpus: limits.cpuset_cpus,
            pids_limit: limits.pids_limit,
            ulimits: self.ulimit.clone(),
            read_only: self.read_only,
            tmpfs: self.tmpfs.clone(),
            cap_add: self.cap_add.clone(),
            cap_drop: self.cap_drop.clone(),
            privileged: self.privileged,
            security_opt: self.security_opt.clone(),
            devices: self.device.clone(),
            group_add: self.group_add.clone(),
            restart: self.restart.clone(),
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            volumes: self.volume.clone(),
            mounts: self.mount.clone(),
            network: self.network.clone(),
            network_aliases: self.network_alias.clone(),
            ip: self.ip.clone(),
            ip6: self.ip6.clone(),
            mac_address: self.mac_address.clone(),
            publish: self.publish.clone(),
            publish_all: self.publish_all,
            expose: self.expose.clone(),
            links: self.link.clone(),
            add_hosts: self.add_host.clone(),
            dns: self.dns.clone(),
            dns_search: self.dns_search.clone(),
            dns_options: self.dns_option.clone(),
            log_driver: self.log_driver.clone(),
            log_opts: self.log_opt.clone(),
            auto_remove: self.rm,
            detach_keys: self.detach_keys.clone(),
            attach: Some(AttachStreams {
                stdin: attach.stdin,
                stdout: attach.stdout,
                stderr: attach.stderr,
            }),
            healthcheck: self.health.healthcheck()?,
            volumes_from: self.volumes_from.clone(),
            kernel: KernelOptions {
                blkio_weight: limits.blkio_weight,
                cpu_rt_period: limits.cpu_rt_period,
                cpu_rt_runtime: limits.cpu_rt_runtime,
                ..self.kernel.options()?
            },
            host: HostOptions {
                runtime: self.runtime.clone(),
                gpus: self
                    .gpus
                    .iter()
                    .map(|g| host_opts::parse_gpus(g))
                    .collect::<Result<_, _>>()?,
                storage_opt: host_opts::parse_storage_opts(&self.storage_opt)?,
            },
        })
    }

    /// Creates the container: pulls the image if needed (`--pull`), writes `--cidfile`.
    /// A `detached` container (`run -d`) records no attached streams, as Docker's.
    pub fn create(&self, paths: &Paths, detached: bool) -> anyhow::Result<(Engine, String)> {
        let mut opts = self.options()?;
        if detached {
            opts.attach = Some(AttachStreams::default());
        }
        if let Some(cid) = &self.cidfile
            && cid.exists()
        {
            anyhow::bail!(
                "container ID file found, make sure the other container isn't running or delete {}",
                cid.display()
            );
        }
        if let Some(k) = &self.detach_keys {
            berth_engine::containers::attach::parse_detach_keys(k)?;
        }
        let engine = super::engine(paths)?;
        // Refused before a pull, as Docker's daemon refuses them before it creates anything.
        opts.host.validate(&paths.data)?;
        let image = self.image();
        let wanted = self
            .platform
            .as_deref()
            .map(berth_image::Platform::parse)
            .transpose()?;
        let found = engine.find_image(image);
        let missing = matches!(found, Err(berth_engine::Error::ImageMissing { .. }));
        // A local image of another platform than --platform asks for is pulled again
        // (for that platform), as Docker does.
        let other_platform = found
            .as_ref()
            .is_ok_and(|img| wanted.as_ref().is_some_and(|w| !platform_matches(w, img)));
        if self.pull == "always" || ((missing || other_platform) && self.pull == "missing") {
            let args = crate::commands::image::pull::PullArgs {
                quiet: self.quiet,
                platform: self.platform.clone(),
                name: image.to_owned(),
            };
            if let Err(e) = crate::commands::image::pull::run(paths, &args) {
                if missing {
                    return Err(e.context(format!("unable to find image {image:?} locally")));
                }
            }
        }
        if let Some(w) = &wanted
            && let Ok(img) = engine.find_image(image)
            && !platform_matches(w, &img)
        {
            anyhow::bail!(
                "image with reference {image} was found but does not match the specified platform: wanted {}, actual: {}",
                platform_text(&w.os, &w.architecture, w.variant.as_deref()),
                platform_text(&img.os, &img.architecture, img.variant.as_deref())
            );
        }
        let rec = engine.create_container(image, &opts)?;
        if let Some(cid) = &self.cidfile {
            fs_err::write(cid, &rec.id)
                .with_context(|| format!("writing the container id to {}", cid.display()))?;
        }
        Ok((engine, rec.id))
    }
}

/// Whether a local image is of the platform `--platform` asks for (arm64's variant
/// defaults to v8; a wanted platform without a variant takes any).
fn platform_matches(wanted: &berth_image::Platform, img: &berth_store::ImageRecord) -> bool {
    let have = berth_image::Platform::new(&img.os, &img.architecture, img.variant.as_deref());
    let variant = |p: &berth_image::Platform| match (p.architecture.as_str(), p.variant.as_deref())
    {
        ("arm64", None) => Some("v8".to_owned()),
        (_, v) => v.map(str::to_owned),
    };
    wanted.os == have.os
        && wanted.architecture == have.architecture
        && (wanted.variant.is_none() || variant(wanted) == variant(&have))
}

fn platform_text(os: &str, arch: &str, variant: Option<&str>) -> String {
    match variant {
        Some(v) => format!("{os}/{arch}/{v}"),
        None => format!("{os}/{arch}"),
    }
}

/// Create a new container.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct CreateArgs {
    /// The flags.
    #[command(flatten)]
    pub flags: ContainerFlags,
}

/// Runs `berth create`: prints the new container's full id.
pub fn main(paths: &Paths, args: CreateArgs) -> ExitCode {
    match args.flags.create(paths, false) {
        Ok((engine, id)) => {
            // Mounted only to prepare it (volume copy-up, the user's lookup), as Docker's
            // daemon does; `start` mounts it again. A created container holding a mount
            // would make every later mount namespace on the host copy it.
            let _ = engine.store().unmount_rootfs(&id);
            println!("{id}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            super::print_error(&e);
            ExitCode::from(super::status_of(&e))
        }
    }
}
