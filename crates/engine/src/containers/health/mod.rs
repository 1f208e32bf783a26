//! Health checks, as Docker's `HEALTHCHECK`: which check a container has (the image's,
//! overridden field by field by `--health-*`), its health as `inspect` shows it
//! (`State.Health`), and the [`probe::Prober`] that a container's monitor drives.
//!
//! The health lives in the container's store state (`extra.health`), written by the
//! monitor after every check, so `inspect`, `ps` and compose
//! ([`crate::Engine::container_health`]) read it without asking the monitor. A container without a check has no health at all; one whose owner
//! stopped checking (it exited) is `unhealthy`, as Docker reports it.
//!
//! ```
//! use berth_engine::containers::{Healthcheck, ImageConfig, RunOptions};
//! use berth_engine::containers::health::merged;
//! let image = ImageConfig {
//!     healthcheck: Some(Healthcheck { test: vec!["CMD".into(), "true".into()], retries: 5, ..Healthcheck::default() }),
//!     ..ImageConfig::default()
//! };
//! let opts = RunOptions {
//!     healthcheck: Some(Healthcheck { interval: 1_000_000_000, ..Healthcheck::default() }),
//!     ..RunOptions::default()
//! };
//! let h = merged(&opts, &image).unwrap();
//! assert_eq!((h.test.len(), h.interval, h.retries), (2, 1_000_000_000, 5));
//! ```

pub(crate) mod probe;

use std::time::Duration;

use berth_store::ContainerState;
use serde::{Deserialize, Serialize};

use super::{Healthcheck, ImageConfig, RunOptions, Stored};
use crate::{Error, Result};

/// Docker's default time between checks.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// Docker's default time after which a check counts as failed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Docker's default time between checks during the start period.
pub const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
/// Docker's default number of consecutive failures before `unhealthy`.
pub const DEFAULT_RETRIES: u32 = 3;
/// How many results `State.Health.Log` keeps (Docker's).
pub const MAX_LOG_ENTRIES: usize = 5;
/// How much of a check's output is kept (Docker's); longer output ends in `...`.
pub const MAX_OUTPUT: usize = 4096;
/// The shortest duration Docker accepts for a health option (other than 0).
const MIN_DURATION_NS: i64 = 1_000_000;

/// The key of the health in a container's store state.
pub(crate) const STATE_KEY: &str = "health";

/// Docker's `State.Health`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Health {
    /// `starting`, `healthy` or `unhealthy`.
    pub status: String,
    /// Consecutive failed checks (those in the start period do not count).
    pub failing_streak: u32,
    /// The last [`MAX_LOG_ENTRIES`] results, oldest first.
    pub log: Vec<CheckResult>,
}

/// One check's result, as in Docker's `State.Health.Log`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CheckResult {
    /// When it started (RFC 3339).
    pub start: String,
    /// When it ended (RFC 3339).
    pub end: String,
    /// 0 healthy, anything else a failure; -1 when it timed out or could not run.
    pub exit_code: i64,
    /// Its stdout and stderr, at most [`MAX_OUTPUT`] bytes (then `...`).
    pub output: String,
}

/// Docker's status words.
pub mod status {
    /// Checks run, none passed yet, the start period may still excuse failures.
    pub const STARTING: &str = "starting";
    /// The last check passed.
    pub const HEALTHY: &str = "healthy";
    /// `retries` consecutive checks failed, or the checks stopped.
    pub const UNHEALTHY: &str = "unhealthy";
}

impl Health {
    /// The health recorded in a container's state, if it has one.
    pub fn of(state: &ContainerState) -> Option<Health> {
        state
            .extra
            .get(STATE_KEY)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// Writes this health into a container's state.
    pub fn store_in(&self, state: &mut ContainerState) {
        if let Ok(v) = serde_json::to_value(self) {
            state.extra.insert(STATE_KEY.into(), v);
        }
    }

    /// `ps`'s words after `Up 5 seconds`: `health: starting`, `healthy`, `unhealthy`.
    pub fn ps_text(&self) -> String {
        if self.status == status::STARTING {
            "health: starting".into()
        } else {
            self.status.clone()
        }
    }
}

impl crate::Engine {
    /// The health of container `name` (what `inspect` shows as `State.Health`), or
    /// `None` when it has no check or never ran with one. A container whose monitor died
    /// is recorded as exited first, so its health reads `unhealthy`, not a stale status.
    pub fn container_health(&self, name: &str) -> Result<Option<Health>> {
        let rec = self.store().get_container(name)?;
        self.reconcile(&rec)?;
        Ok(Health::of(&self.store().get_container(&rec.id)?.state))
    }
}

/// Its owner stopped checking (the container exited): `unhealthy`, as Docker says
/// then; a container without health stays without.
pub fn checks_stopped(state: &mut ContainerState) {
    if let Some(mut h) = Health::of(state) {
        h.status = status::UNHEALTHY.into();
        h.store_in(state);
    }
}

/// The container's check as `inspect` shows it under `Config.Healthcheck`: the user's
/// (`--health-*`) over the image's, field by field, as Docker merges them. `None` when
/// neither has one; `test: ["NONE"]` when disabled.
pub fn merged(opts: &RunOptions, image: &ImageConfig) -> Option<Healthcheck> {
    let Some(user) = &opts.healthcheck else {
        return image.healthcheck.clone();
    };
    let mut h = user.clone();
    if let Some(img) = &image.healthcheck {
        if h.test.is_empty() {
            h.test.clone_from(&img.test);
        }
        for (mine, theirs) in [
            (&mut h.interval, img.interval),
            (&mut h.timeout, img.timeout),
            (&mut h.start_period, img.start_period),
            (&mut h.start_interval, img.start_interval),
            (&mut h.retries, img.retries),
        ] {
            if *mine == 0 {
                *mine = theirs;
            }
        }
    }
    Some(h)
}

/// A check ready to run: the command and every timing with Docker's defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// The argv to exec in the container (`CMD-SHELL` already wrapped in the shell).
    pub argv: Vec<String>,
    /// Time between the end of one check and the start of the next.
    pub interval: Duration,
    /// Time after which a running check is killed and counts as failed.
    pub timeout: Duration,
    /// Grace period after start in which failures do not count.
    pub start_period: Duration,
    /// Time between checks during the start period, while not yet healthy.
    pub start_interval: Duration,
    /// Consecutive failures that make the container unhealthy.
    pub retries: u32,
}

fn or_default(ns: i64, default: Duration) -> Duration {
    u64::try_from(ns)
        .ok()
        .filter(|n| *n > 0)
        .map_or(default, Duration::from_nanos)
}

/// The check a container runs, or `None` (no check, `NONE`, or a type Docker ignores).
pub fn effective(stored: &Stored) -> Option<Effective> {
    let h = merged(&stored.opts, &stored.image)?;
    let argv = match h.test.split_first() {
        Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => rest.to_vec(),
        Some((kind, rest)) if kind == "CMD-SHELL" && !rest.is_empty() => {
            let mut argv = if stored.image.shell.is_empty() {
                vec!["/bin/sh".to_owned(), "-c".to_owned()]
            } else {
                stored.image.shell.clone()
            };
            argv.push(rest.join(" "));
            argv
        }
        _ => return None,
    };
    Some(Effective {
        argv,
        interval: or_default(h.interval, DEFAULT_INTERVAL),
        timeout: or_default(h.timeout, DEFAULT_TIMEOUT),
        start_period: or_default(h.start_period, Duration::ZERO),
        start_interval: or_default(h.start_interval, DEFAULT_START_INTERVAL),
        retries: u32::try_from(h.retries)
            .ok()
            .filter(|r| *r > 0)
            .unwrap_or(DEFAULT_RETRIES),
    })
}

/// Refuses what Docker refuses in a user's check: durations under 1 ms (other than 0,
/// "inherit"), negative retries, and a test that is not `CMD`, `CMD-SHELL` or `NONE`.
pub fn validate(opts: &RunOptions) -> Result<()> {
    let Some(h) = &opts.healthcheck else {
        return Ok(());
    };
    for (flag, ns) in [
        ("--health-interval", h.interval),
        ("--health-timeout", h.timeout),
        ("--health-start-period", h.start_period),
        ("--health-start-interval", h.start_interval),
    ] {
        if ns != 0 && ns < MIN_DURATION_NS {
            return Err(Error::Invalid {
                flag,
                value: go_duration(Duration::from_nanos(ns.unsigned_abs())),
                hint: "use 0 (inherit) or a duration of at least 1ms, e.g. 500ms or 1m30s".into(),
            });
        }
    }
    if h.retries < 0 {
        return Err(Error::Invalid {
            flag: "--health-retries",
            value: h.retries.to_string(),
            hint: "retries cannot be negative".into(),
        });
    }
    match h.test.split_first() {
        None => Ok(()),
        Some((kind, rest)) if kind == "NONE" && rest.is_empty() => Ok(()),
        Some((kind, rest)) if (kind == "CMD" || kind == "CMD-SHELL") && !rest.is_empty() => Ok(()),
        Some(_) => Err(Error::Invalid {
            flag: "--health-cmd",
            value: h.test.join(" "),
            hint: "a health check test is [\"CMD\", prog, args…], [\"CMD-SHELL\", command] or [\"NONE\"]"
                .into(),
        }),
    }
}

/// Go's `time.Duration` text (`200ms`, `1.5s`, `1m30s`, `1h0m0s`), which Docker prints
/// in `Health check exceeded timeout (…)`.
pub fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    let frac = |value: u128, unit: u128, suffix: &str| {
        let whole = value / unit;
        let rest = value % unit;
        if rest == 0 {
            format!("{whole}{suffix}")
        } else {
            let width = unit.ilog10() as usize;
            let digits = format!("{rest:0width$}");
            format!("{whole}.{}{suffix}", digits.trim_end_matches('0'))
        }
    };
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return frac(ns, 1_000, "µs");
    }
    if ns < 1_000_000_000 {
        return frac(ns, 1_000_000, "ms");
    }
    let secs = frac(ns % 60_000_000_000, 1_000_000_000, "s");
    let mins = ns / 60_000_000_000;
    match (mins / 60, mins % 60) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(test: &[&str]) -> Healthcheck {
        Healthcheck {
            test: test.iter().map(|s| (*s).to_owned()).collect(),
            ..Healthcheck::default()
        }
    }

    #[test]
    fn user_fields_override_the_image_one_by_one() {
        let image = ImageConfig {
            healthcheck: Some(Healthcheck {
                interval: 5,
                timeout: 6,
                retries: 7,
                ..check(&["CMD", "img"])
            }),
            ..ImageConfig::default()
        };
        let none = RunOptions::default();
        assert_eq!(merged(&none, &image), image.healthcheck);
        let opts = RunOptions {
            healthcheck: Some(Healthcheck {
                timeout: 60,
                ..Healthcheck::default()
            }),
            ..RunOptions::default()
        };
        let h = merged(&opts, &image).unwrap();
        assert_eq!(h.test, vec!["CMD", "img"]);
        assert_eq!((h.interval, h.timeout, h.retries), (5, 60, 7));
        let disabled = RunOptions {
            healthcheck: Some(check(&["NONE"])),
            ..RunOptions::default()
        };
        let stored = Stored {
            opts: disabled,
            image: image.clone(),
            ..Stored::default()
        };
        assert_eq!(merged(&stored.opts, &image).unwrap().test, vec!["NONE"]);
        assert!(effective(&stored).is_none());
    }

    #[test]
    fn effective_applies_docker_defaults_and_the_shell() {
        let mut stored = Stored::default();
        stored.opts.healthcheck = Some(check(&["CMD-SHELL", "test -f /ok"]));
        let e = effective(&stored).unwrap();
        assert_eq!(e.argv, vec!["/bin/sh", "-c", "test -f /ok"]);
        assert_eq!(e.interval, DEFAULT_INTERVAL);
        assert_eq!(e.timeout, DEFAULT_TIMEOUT);
        assert_eq!(e.start_period, Duration::ZERO);
        assert_eq!(e.start_interval, DEFAULT_START_INTERVAL);
        assert_eq!(e.retries, 3);
        stored.image.shell = vec!["/bin/ash".into(), "-ec".into()];
        assert_eq!(effective(&stored).unwrap().argv[..2], ["/bin/ash", "-ec"]);
        stored.opts.healthcheck = Some(check(&["CMD", "/bin/check", "--fast"]));
        assert_eq!(
            effective(&stored).unwrap().argv,
            vec!["/bin/check", "--fast"]
        );
        stored.opts.healthcheck = Some(check(&["WHATEVER", "x"]));
        assert!(effective(&stored).is_none());
        assert!(effective(&Stored::default()).is_none());
    }

    #[test]
    fn validation_refuses_what_docker_refuses() {
        let with = |h: Healthcheck| RunOptions {
            healthcheck: Some(h),
            ..RunOptions::default()
        };
        assert!(validate(&with(check(&["CMD-SHELL", "true"]))).is_ok());
        assert!(validate(&with(check(&["NONE"]))).is_ok());
        assert!(validate(&with(check(&[]))).is_ok());
        assert!(validate(&with(check(&["CURL", "x"]))).is_err());
        assert!(validate(&with(check(&["CMD"]))).is_err());
        let e = validate(&with(Healthcheck {
            interval: 999,
            ..Healthcheck::default()
        }))
        .unwrap_err();
        assert!(e.to_string().contains("--health-interval"), "{e}");
        assert!(
            validate(&with(Healthcheck {
                retries: -1,
                ..Healthcheck::default()
            }))
            .is_err()
        );
    }

    #[test]
    fn durations_print_like_go() {
        let ms = Duration::from_millis;
        assert_eq!(go_duration(ms(200)), "200ms");
        assert_eq!(go_duration(ms(1500)), "1.5s");
        assert_eq!(go_duration(ms(30_000)), "30s");
        assert_eq!(go_duration(ms(90_000)), "1m30s");
        assert_eq!(go_duration(ms(3_600_000)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(go_duration(Duration::from_nanos(5)), "5ns");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn ps_words_follow_docker() {
        let mut h = Health {
            status: status::STARTING.into(),
            ..Health::default()
        };
        assert_eq!(h.ps_text(), "health: starting");
        h.status = status::HEALTHY.into();
        assert_eq!(h.ps_text(), "healthy");
        let mut st = ContainerState::default();
        assert!(Health::of(&st).is_none());
        h.store_in(&mut st);
        assert_eq!(Health::of(&st), Some(h));
    }
}
