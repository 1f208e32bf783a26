//! What a user asks for with `berth create`/`run`: Docker's flags, already split into
//! values but not yet checked against an image. Stored with the container, so `inspect`
//! and `restart` see exactly what was asked.

use serde::{Deserialize, Serialize};

/// The flags of `create`/`run` that shape a container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOptions {
    /// `--name`.
    pub name: Option<String>,
    /// `-i`: keep stdin open.
    pub interactive: bool,
    /// `-t`: allocate a pseudo-terminal.
    pub tty: bool,
    /// `--init`: berth as a tiny init (PID 1 reaping zombies, forwarding signals).
    pub init: bool,
    /// `-e KEY=VALUE` / `-e KEY` (taken from berth's environment), after `--env-file`.
    pub env: Vec<String>,
    /// `-u user[:group]`.
    pub user: Option<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `--entrypoint` (empty string clears the image's).
    pub entrypoint: Option<String>,
    /// Command and arguments after the image.
    pub cmd: Vec<String>,
    /// `-h`.
    pub hostname: Option<String>,
    /// `-l KEY=VALUE`.
    pub labels: Vec<String>,
    /// `-m` in bytes.
    pub memory: Option<i64>,
    /// `--memory-swap` in bytes (-1 unlimited).
    pub memory_swap: Option<i64>,
    /// `--cpus` in nano-CPUs.
    pub nano_cpus: Option<i64>,
    /// `--cpu-shares`.
    pub cpu_shares: Option<u64>,
    /// `--cpuset-cpus`.
    pub cpuset_cpus: Option<String>,
    /// `--pids-limit` (0 or -1: unlimited).
    pub pids_limit: Option<i64>,
    /// `--ulimit name=soft[:hard]`.
    pub ulimits: Vec<String>,
    /// `--read-only`.
    pub read_only: bool,
    /// `--tmpfs /path[:options]`.
    pub tmpfs: Vec<String>,
    /// `--cap-add`.
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--privileged`.
    pub privileged: bool,
    /// `--security-opt`.
    pub security_opt: Vec<String>,
    /// `--device host[:container[:perms]]`.
    pub devices: Vec<String>,
    /// `--group-add`.
    pub group_add: Vec<String>,
    /// `--restart`.
    pub restart: Option<String>,
    /// `--stop-signal`.
    pub stop_signal: Option<String>,
    /// `--stop-timeout` in seconds.
    pub stop_timeout: Option<i64>,
    /// `-v`.
    pub volumes: Vec<String>,
    /// `--mount`.
    pub mounts: Vec<String>,
    /// `--network NAME|bridge|none|host|container:NAME` (default: bridge).
    pub network: Option<String>,
    /// `--network-alias`: DNS names on the (user) network.
    pub network_aliases: Vec<String>,
    /// `--ip`.
    pub ip: Option<String>,
    /// `--ip6` (on a network made with `--ipv6`).
    pub ip6: Option<String>,
    /// `--mac-address`.
    pub mac_address: Option<String>,
    /// `-p/--publish`.
    pub publish: Vec<String>,
    /// `-P/--publish-all`.
    pub publish_all: bool,
    /// `--expose`.
    pub expose: Vec<String>,
    /// `--link NAME[:ALIAS]`.
    pub links: Vec<String>,
    /// `--add-host NAME:IP`.
    pub add_hosts: Vec<String>,
    /// `--dns`.
    pub dns: Vec<String>,
    /// `--dns-search`.
    pub dns_search: Vec<String>,
    /// `--dns-option`.
    pub dns_options: Vec<String>,
    /// `--log-driver json-file|none`.
    pub log_driver: Option<String>,
    /// `--log-opt key=value`.
    pub log_opts: Vec<String>,
    /// `--rm`.
    pub auto_remove: bool,
    /// `--detach-keys`.
    pub detach_keys: Option<String>,
    /// The streams a client attaches, from `-a`, `-i` and `-d` as Docker records them
    /// (`Config.AttachStdin`/`AttachStdout`/`AttachStderr`); `None` in containers
    /// created before berth recorded them, which show Docker's defaults.
    pub attach: Option<AttachStreams>,
    /// `--health-cmd`, `--health-interval`, `--health-timeout`, `--health-start-period`,
    /// `--health-start-interval`, `--health-retries`, `--no-healthcheck`: each set field
    /// overrides the image's `HEALTHCHECK`; `--no-healthcheck` is `test: ["NONE"]`.
    pub healthcheck: Option<Healthcheck>,
    /// `--volumes-from CONTAINER[:ro|:rw]`.
    pub volumes_from: Vec<String>,
    /// Namespaces, sysctls, `/dev/shm`, OOM and the finer resource limits.
    pub kernel: super::kernel_opts::KernelOptions,
    /// `--runtime`, `--gpus`, `--storage-opt`.
    pub host: super::host_opts::HostOptions,
}

/// Which of a container's standard streams a client attaches (`create -a`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachStreams {
    /// `AttachStdin`: `-a stdin` or `-i`.
    pub stdin: bool,
    /// `AttachStdout`: `-a stdout`, or no `-a` at all.
    pub stdout: bool,
    /// `AttachStderr`: `-a stderr`, or no `-a` at all.
    pub stderr: bool,
}

impl AttachStreams {
    /// The streams recorded for `opts` (Docker's defaults for containers created before
    /// berth recorded them: stdout and stderr, stdin with `-i`).
    pub fn of(opts: &RunOptions) -> AttachStreams {
        opts.attach.unwrap_or(AttachStreams {
            stdin: opts.interactive,
            stdout: true,
            stderr: true,
        })
    }
}

/// Docker's `Healthcheck` object, as in an image config and in `inspect`'s `Config`.
///
/// `test` is `[]` (inherit the image's), `["NONE"]` (disabled), `["CMD", prog, args…]`
/// or `["CMD-SHELL", "command line"]`. Durations are nanoseconds; 0 means inherit, and
/// where nothing is inherited Docker's defaults apply (30 s interval, 30 s timeout,
/// 3 retries, no start period, 5 s start interval).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Healthcheck {
    /// The check command.
    #[serde(
        deserialize_with = "crate::containers::image_config::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub test: Vec<String>,
    /// Time between checks.
    #[serde(skip_serializing_if = "is_zero")]
    pub interval: i64,
    /// Time after which one check counts as failed.
    #[serde(skip_serializing_if = "is_zero")]
    pub timeout: i64,
    /// Grace period after start in which failures do not count.
    #[serde(skip_serializing_if = "is_zero")]
    pub start_period: i64,
    /// Time between checks during the start period.
    #[serde(skip_serializing_if = "is_zero")]
    pub start_interval: i64,
    /// Consecutive failures that make the container unhealthy.
    #[serde(skip_serializing_if = "is_zero")]
    pub retries: i64,
}

/// Docker leaves unset (zero) fields out of a `Healthcheck` (`omitempty`).
#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// Parsed `--restart` policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Never restart.
    #[default]
    No,
    /// Restart on a non-zero exit, at most `max` times (0: no limit).
    OnFailure {
        /// Maximum restarts; 0 means unlimited.
        max: u32,
    },
    /// Always restart unless stopped by the user.
    Always,
    /// Like `always`, but not after the user stopped it.
    UnlessStopped,
}

impl RestartPolicy {
    /// Parses Docker's `no|on-failure[:N]|always|unless-stopped`.
    pub fn parse(s: &str) -> crate::Result<RestartPolicy> {
        let bad = || crate::Error::Invalid {
            flag: "--restart",
            value: s.to_owned(),
            hint: "use no, on-failure[:max-retries], always or unless-stopped".into(),
        };
        match s.split_once(':') {
            None if s == "no" || s.is_empty() => Ok(RestartPolicy::No),
            None if s == "always" => Ok(RestartPolicy::Always),
            None if s == "unless-stopped" => Ok(RestartPolicy::UnlessStopped),
            None if s == "on-failure" => Ok(RestartPolicy::OnFailure { max: 0 }),
            Some(("on-failure", n)) => n
                .parse()
                .map(|max| RestartPolicy::OnFailure { max })
                .map_err(|_| bad()),
            _ => Err(bad()),
        }
    }

    /// Docker's name for `inspect`.
    pub fn name(self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::OnFailure { .. } => "on-failure",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
        }
    }

    /// Whether a container that exited with `code` after `restarts` restarts is started
    /// again; `stopped_by_user` is true after `stop`/`kill` by the user.
    pub fn should_restart(self, code: i32, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self {
            RestartPolicy::No => false,
            RestartPolicy::OnFailure { max } => code != 0 && (max == 0 || restarts < max),
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies_follow_docker() {
        assert_eq!(RestartPolicy::parse("no").unwrap(), RestartPolicy::No);
        assert_eq!(
            RestartPolicy::parse("on-failure:2").unwrap(),
            RestartPolicy::OnFailure { max: 2 }
        );
        assert!(RestartPolicy::parse("sometimes").is_err());
        assert!(RestartPolicy::parse("on-failure:x").is_err());
        let p = RestartPolicy::OnFailure { max: 2 };
        assert!(p.should_restart(1, 0, false));
        assert!(p.should_restart(1, 1, false));
        assert!(!p.should_restart(1, 2, false));
        assert!(!p.should_restart(0, 0, false));
        assert!(RestartPolicy::Always.should_restart(0, 100, false));
        assert!(!RestartPolicy::Always.should_restart(0, 0, true));
    }
}
