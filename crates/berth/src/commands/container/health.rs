//! The health check flags of `create`/`run`: `--health-cmd`, `--health-interval`,
//! `--health-timeout`, `--health-start-period`, `--health-start-interval`,
//! `--health-retries`, `--no-healthcheck`, checked as Docker's CLI checks them.

use berth_engine::containers::Healthcheck;
use clap::Args;

/// Docker's health check flags.
#[derive(Debug, Args, Clone, Default)]
pub struct HealthFlags {
    /// Command to run to check health.
    #[arg(long, value_name = "string")]
    pub health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h) (default 0s).
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub health_interval: Option<String>,
    /// Maximum time to allow one check to run (ms|s|m|h) (default 0s).
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub health_timeout: Option<String>,
    /// Start period for the container to initialize before starting health-retries
    /// countdown (ms|s|m|h) (default 0s).
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub health_start_period: Option<String>,
    /// Time between running the check during the start period (ms|s|m|h) (default 0s).
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub health_start_interval: Option<String>,
    /// Consecutive failures needed to report unhealthy.
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub health_retries: Option<i64>,
    /// Disable any container-specified HEALTHCHECK.
    #[arg(long)]
    pub no_healthcheck: bool,
}

/// A duration flag in nanoseconds, with Go's syntax (`500ms`, `1m30s`).
fn nanos(flag: &str, value: Option<&str>) -> anyhow::Result<i64> {
    let Some(v) = value else {
        return Ok(0);
    };
    if v.starts_with('-') {
        anyhow::bail!("{flag} cannot be negative");
    }
    let d = berth_dockerfile::parse_go_duration(v).ok_or_else(|| {
        anyhow::anyhow!(
            "invalid argument {v:?} for \"{flag}\" flag: not a duration\nhint: write a number with a unit, e.g. 500ms, 10s or 1m30s"
        )
    })?;
    i64::try_from(d.as_nanos()).map_err(|_| anyhow::anyhow!("{flag} {v:?} is too long"))
}

impl HealthFlags {
    /// The user's check: `None` without health flags, `["NONE"]` for
    /// `--no-healthcheck`, otherwise the fields given (the rest inherit the image's).
    pub fn healthcheck(&self) -> anyhow::Result<Option<Healthcheck>> {
        let h = Healthcheck {
            test: self
                .health_cmd
                .iter()
                .filter(|c| !c.is_empty())
                .flat_map(|c| ["CMD-SHELL".to_owned(), c.clone()])
                .collect(),
            interval: nanos("--health-interval", self.health_interval.as_deref())?,
            timeout: nanos("--health-timeout", self.health_timeout.as_deref())?,
            start_period: nanos("--health-start-period", self.health_start_period.as_deref())?,
            start_interval: nanos(
                "--health-start-interval",
                self.health_start_interval.as_deref(),
            )?,
            retries: self.health_retries.unwrap_or(0),
        };
        if h.retries < 0 {
            anyhow::bail!("--health-retries cannot be negative");
        }
        let any = h != Healthcheck::default();
        if self.no_healthcheck {
            if any {
                anyhow::bail!("--no-healthcheck conflicts with --health-* options");
            }
            return Ok(Some(Healthcheck {
                test: vec!["NONE".into()],
                ..Healthcheck::default()
            }));
        }
        Ok(any.then_some(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_docker_s_healthcheck() {
        let f = HealthFlags {
            health_cmd: Some("test -f /ok".into()),
            health_interval: Some("1m30s".into()),
            health_timeout: Some("500ms".into()),
            health_retries: Some(2),
            ..HealthFlags::default()
        };
        let h = f.healthcheck().unwrap().unwrap();
        assert_eq!(h.test, vec!["CMD-SHELL", "test -f /ok"]);
        assert_eq!(h.interval, 90_000_000_000);
        assert_eq!(h.timeout, 500_000_000);
        assert_eq!(h.retries, 2);
        assert_eq!(h.start_period, 0);
        assert!(HealthFlags::default().healthcheck().unwrap().is_none());
        let off = HealthFlags {
            no_healthcheck: true,
            ..HealthFlags::default()
        };
        assert_eq!(off.healthcheck().unwrap().unwrap().test, vec!["NONE"]);
    }

    #[test]
    fn bad_values_are_refused_like_docker() {
        let bad = |f: HealthFlags| f.healthcheck().unwrap_err().to_string();
        assert!(
            bad(HealthFlags {
                health_interval: Some("5".into()),
                ..HealthFlags::default()
            })
            .contains("--health-interval")
        );
        assert_eq!(
            bad(HealthFlags {
                health_timeout: Some("-1s".into()),
                ..HealthFlags::default()
            }),
            "--health-timeout cannot be negative"
        );
        assert_eq!(
            bad(HealthFlags {
                no_healthcheck: true,
                health_retries: Some(3),
                ..HealthFlags::default()
            }),
            "--no-healthcheck conflicts with --health-* options"
        );
    }
}
