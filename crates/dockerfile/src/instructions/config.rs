//! Image-config instructions with simple arguments: `EXPOSE`, `VOLUME`, `USER`,
//! `WORKDIR`, `STOPSIGNAL`, `MAINTAINER`.

use crate::error::{Error, Result};
use crate::expand::{Env, Expander};
use crate::instructions::{Ctx, no_flags};
use crate::words::{self, Json};

/// `USER user[:group]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The whole specification as written (or expanded).
    pub spec: String,
}

impl User {
    pub(crate) fn new(spec: String) -> Self {
        User { spec }
    }

    /// The user part (name or uid).
    #[must_use]
    pub fn user(&self) -> &str {
        self.spec.split_once(':').map_or(&self.spec, |(u, _)| u)
    }

    /// The group part after `:`, if any.
    #[must_use]
    pub fn group(&self) -> Option<&str> {
        self.spec.split_once(':').map(|(_, g)| g)
    }
}

/// A parsed `EXPOSE` entry: `80`, `53/udp`, `8000-8010/tcp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// First port.
    pub start: u16,
    /// Last port (equal to `start` for a single port).
    pub end: u16,
    /// `tcp` (default), `udp` or `sctp`.
    pub protocol: String,
}

impl PortSpec {
    /// Parses one `EXPOSE` word (after expansion).
    pub fn parse(s: &str) -> Result<PortSpec, String> {
        let (ports, proto) = match s.split_once('/') {
            Some((p, proto)) => (p, proto.to_ascii_lowercase()),
            None => (s, "tcp".to_string()),
        };
        if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
            return Err(format!(
                "invalid protocol \"{proto}\" in \"{s}\": expected tcp, udp or sctp"
            ));
        }
        let port = |p: &str| {
            p.parse::<u16>()
                .map_err(|_| format!("invalid port \"{p}\" in \"{s}\": expected a number 0-65535"))
        };
        let (start, end) = match ports.split_once('-') {
            Some((a, b)) => (port(a)?, port(b)?),
            None => (port(ports)?, port(ports)?),
        };
        if end < start {
            return Err(format!(
                "invalid port range \"{ports}\": the end is below the start"
            ));
        }
        Ok(PortSpec {
            start,
            end,
            protocol: proto,
        })
    }
}

/// The rest of the line as one value (`WORKDIR`, `USER`, `MAINTAINER`).
pub(crate) fn parse_rest(ctx: &Ctx<'_>) -> Result<String> {
    let rest = no_flags(ctx)?;
    ctx.require_args(rest)?;
    Ok(ctx.from(rest).trim().to_string())
}

pub(crate) fn parse_stopsignal(ctx: &Ctx<'_>) -> Result<String> {
    let rest = no_flags(ctx)?;
    ctx.require_args(rest)?;
    match words::split_ws(ctx.from(rest), rest).as_slice() {
        [(_, sig)] => Ok((*sig).to_string()),
        [_, (at, extra), ..] => Err(ctx.syntax(
            *at,
            format!("expected one signal, like SIGTERM or 15, found also \"{extra}\""),
        )),
        [] => Err(ctx.syntax(rest, "expected a signal")),
    }
}

pub(crate) fn parse_expose(ctx: &Ctx<'_>) -> Result<Vec<String>> {
    let rest = no_flags(ctx)?;
    ctx.require_args(rest)?;
    let w = words::split_ws(ctx.from(rest), rest);
    for (at, word) in &w {
        // Words with variables are checked after expansion.
        if !word.contains('$') {
            PortSpec::parse(word).map_err(|m| ctx.syntax(*at, m))?;
        }
    }
    Ok(w.into_iter().map(|(_, s)| s.to_string()).collect())
}

/// Expands `EXPOSE` words; a variable may hold several ports (`EXPOSE $PORTS`).
pub(crate) fn expand_ports(
    ports: &[String],
    x: &Expander,
    env: &(impl Env + ?Sized),
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for p in ports {
        for w in x.words(p, env)? {
            PortSpec::parse(&w).map_err(|message| Error::Expand {
                at: None,
                word: p.clone(),
                message,
            })?;
            out.push(w);
        }
    }
    Ok(out)
}

pub(crate) fn parse_volume(ctx: &Ctx<'_>) -> Result<Vec<String>> {
    let rest = no_flags(ctx)?;
    ctx.require_args(rest)?;
    let v: Vec<String> = match words::json_array(ctx.from(rest)) {
        Json::Array(v) => v,
        Json::NotStrings => return Err(ctx.not_strings(rest)),
        Json::Absent | Json::Invalid(_) => words::split_ws(ctx.from(rest), rest)
            .into_iter()
            .map(|(_, s)| s.to_string())
            .collect(),
    };
    if v.iter().any(|p| p.trim().is_empty()) || v.is_empty() {
        return Err(ctx.syntax(rest, "a volume path can not be empty"));
    }
    Ok(v)
}
