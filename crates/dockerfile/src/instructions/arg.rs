//! `ARG name[=default] …`, and the build arguments Docker predefines.

use crate::error::Result;
use crate::expand::{Env, Expander};
use crate::instructions::{Ctx, no_flags};
use crate::words;

/// One declared build argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// The name.
    pub name: String,
    /// The default (as written until expanded; `None` for `ARG name`).
    pub default: Option<String>,
}

impl Arg {
    pub(crate) fn expand(&self, x: &Expander, env: &(impl Env + ?Sized)) -> Result<Arg> {
        Ok(Arg {
            name: self.name.clone(),
            default: self
                .default
                .as_deref()
                .map(|d| x.word(d, env))
                .transpose()?,
        })
    }
}

/// Proxy arguments every build accepts without an `ARG` line (and leaves out of the
/// image's history).
pub const PROXY_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// Platform arguments the builder sets; a stage sees them after declaring `ARG NAME`.
pub const PLATFORM_ARGS: [&str; 8] = [
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
];

pub(crate) fn parse(ctx: &Ctx<'_>) -> Result<Vec<Arg>> {
    let rest = no_flags(ctx)?;
    ctx.require_args(rest)?;
    words::shell_words(ctx.from(rest), rest, ctx.escape)
        .into_iter()
        .map(|(at, word)| {
            let (name, default) = match word.split_once('=') {
                Some((n, d)) => (n.to_string(), Some(d.to_string())),
                None => (word.clone(), None),
            };
            if name.is_empty() {
                return Err(ctx.syntax(at, "ARG names can not be blank"));
            }
            Ok(Arg { name, default })
        })
        .collect()
}
