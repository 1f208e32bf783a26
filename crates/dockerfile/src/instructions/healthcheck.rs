//! `HEALTHCHECK NONE` and `HEALTHCHECK [--interval …] CMD <command>`.

use std::time::Duration;

use crate::duration::parse_go_duration;
use crate::error::{Error, Result};
use crate::flags;
use crate::instructions::Ctx;
use crate::instructions::command::{CommandForm, parse_form};

/// A `HEALTHCHECK` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable any check inherited from the base image.
    None,
    /// `HEALTHCHECK [options] CMD …`.
    Check(HealthcheckOptions),
}

/// The options and command of a health check. Unset options use the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthcheckOptions {
    /// The test command.
    pub command: CommandForm,
    /// `--interval`.
    pub interval: Option<Duration>,
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// `--start-period`.
    pub start_period: Option<Duration>,
    /// `--start-interval`.
    pub start_interval: Option<Duration>,
    /// `--retries`.
    pub retries: Option<u32>,
}

const FLAGS: [&str; 5] = [
    "interval",
    "timeout",
    "start-period",
    "start-interval",
    "retries",
];

pub(crate) fn parse(ctx: &Ctx<'_>) -> Result<Healthcheck> {
    let (mut fl, rest) = flags::split(ctx);
    let mut durations = [None; 4];
    for (slot, name) in durations.iter_mut().zip(&FLAGS[..4]) {
        if let Some((v, at)) = fl.string(ctx, name)? {
            let d = parse_go_duration(&v).ok_or_else(|| Error::BadDuration {
                at: ctx.at(at),
                flag: (*name).to_string(),
                value: v.clone(),
            })?;
            // Docker refuses non-zero durations under a millisecond.
            if !d.is_zero() && d < Duration::from_millis(1) {
                return Err(Error::BadFlag {
                    at: ctx.at(at),
                    flag: (*name).to_string(),
                    value: v,
                    expected: "0 or at least 1ms".to_string(),
                });
            }
            *slot = Some(d);
        }
    }
    let retries = match fl.string(ctx, "retries")? {
        None => None,
        Some((v, at)) => Some(v.parse::<u32>().map_err(|_| Error::BadFlag {
            at: ctx.at(at),
            flag: "retries".to_string(),
            value: v.clone(),
            expected: "a whole number, 0 or more".to_string(),
        })?),
    };
    fl.finish(ctx, &FLAGS)?;
    ctx.require_args(rest)?;
    let start = ctx.skip_ws(rest);
    let text = ctx.from(start);
    let kw_len = text.find(char::is_whitespace).unwrap_or(text.len());
    let keyword = &text[..kw_len];
    if keyword.eq_ignore_ascii_case("NONE") {
        if !text[kw_len..].trim().is_empty()
            || durations.iter().any(Option::is_some)
            || retries.is_some()
        {
            return Err(ctx.syntax(start, "HEALTHCHECK NONE takes no options or arguments"));
        }
        return Ok(Healthcheck::None);
    }
    if !keyword.eq_ignore_ascii_case("CMD") {
        return Err(ctx.syntax(start, format!("expected CMD or NONE, found \"{keyword}\"")));
    }
    let command = parse_form(ctx, start + kw_len)?;
    let [interval, timeout, start_period, start_interval] = durations;
    Ok(Healthcheck::Check(HealthcheckOptions {
        command,
        interval,
        timeout,
        start_period,
        start_interval,
        retries,
    }))
}
