//! `ONBUILD <instruction>`: a trigger stored in the image, run by builds that use
//! it as their base.

use crate::error::{Error, Result};
use crate::instructions::{self, Ctx, Instruction};
use crate::suggest;

/// An `ONBUILD` trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Onbuild {
    /// The wrapped instruction (not expanded: it runs in the child build).
    pub instruction: Box<Instruction>,
    /// The trigger's text as stored in the image config (`RUN make`).
    pub text: String,
}

pub(crate) fn parse(ctx: &Ctx<'_>) -> Result<Onbuild> {
    ctx.require_args(ctx.args_at)?;
    let start = ctx.skip_ws(ctx.args_at);
    let rest = ctx.from(start);
    let kw_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let keyword = &rest[..kw_len];
    let Some(name) = instructions::lookup(keyword) else {
        return Err(Error::UnknownInstruction {
            at: ctx.at(start),
            name: keyword.to_string(),
            suggestion: suggest::closest(keyword, &instructions::INSTRUCTIONS).map(str::to_string),
        });
    };
    if matches!(name, "ONBUILD" | "FROM" | "MAINTAINER") {
        return Err(ctx.syntax(start, format!("ONBUILD {name} is not allowed")));
    }
    let inner = Ctx {
        file: ctx.file,
        line: ctx.line,
        escape: ctx.escape,
        name,
        args_at: start + kw_len,
    };
    let instruction = instructions::parse(&inner)?;
    Ok(Onbuild {
        instruction: Box::new(instruction),
        text: rest.trim().to_string(),
    })
}
