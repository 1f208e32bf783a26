//! `CMD`, `ENTRYPOINT` and `SHELL`, and the exec/shell command forms `RUN` shares.

use crate::error::{Error, Result};
use crate::instructions::{Ctx, no_flags};
use crate::words::{self, Json};

/// How a command is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandForm {
    /// JSON array: run directly, no shell (`CMD ["nginx", "-g", "daemon off;"]`).
    Exec(Vec<String>),
    /// Anything else: run with the stage's `SHELL` (default `/bin/sh -c`). Also what a
    /// malformed JSON array becomes, as in Docker.
    Shell(String),
}

/// Parses a command from `offset`: JSON if it is a valid array of strings, else shell.
pub(crate) fn parse_form(ctx: &Ctx<'_>, offset: usize) -> Result<CommandForm> {
    ctx.require_args(offset)?;
    let text = ctx.from(offset);
    Ok(match words::json_array(text) {
        Json::Array(v) => CommandForm::Exec(v),
        Json::NotStrings => return Err(ctx.not_strings(offset)),
        Json::Absent | Json::Invalid(_) => CommandForm::Shell(text.trim().to_string()),
    })
}

/// `CMD` and `ENTRYPOINT`.
pub(crate) fn parse_plain(ctx: &Ctx<'_>) -> Result<CommandForm> {
    let rest = no_flags(ctx)?;
    parse_form(ctx, rest)
}

/// `SHELL`: only the JSON form is accepted.
pub(crate) fn parse_shell(ctx: &Ctx<'_>) -> Result<Vec<String>> {
    let rest = no_flags(ctx)?;
    ctx.require_args(rest)?;
    let at = ctx.skip_ws(rest);
    let bad = |detail: String| Error::BadJson {
        at: ctx.at(at),
        instruction: "SHELL".to_string(),
        detail,
    };
    match words::json_array(ctx.from(rest)) {
        Json::Array(v) if v.is_empty() => Err(bad("the array is empty".to_string())),
        Json::Array(v) => Ok(v),
        Json::Invalid(e) => Err(bad(e)),
        Json::NotStrings => Err(ctx.not_strings(rest)),
        Json::Absent => Err(bad("found shell form".to_string())),
    }
}
