//! `FROM [--platform=<platform>] <image> [AS <name>]`.

use crate::error::Result;
use crate::expand::{Env, Expander};
use crate::flags;
use crate::instructions::Ctx;
use crate::words;

/// A `FROM` line: the start of a build stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    /// The base: an image reference, `scratch`, or an earlier stage's name (as
    /// written; expanded with the global ARGs only).
    pub image: String,
    /// The stage name from `AS name`, lower-cased (stage names are case-insensitive).
    pub name: Option<String>,
    /// `--platform` as written.
    pub platform: Option<String>,
}

impl From {
    pub(crate) fn expand(&self, x: &Expander, env: &(impl Env + ?Sized)) -> Result<From> {
        Ok(From {
            image: x.word(&self.image, env)?,
            name: self.name.clone(),
            platform: self
                .platform
                .as_deref()
                .map(|p| x.word(p, env))
                .transpose()?,
        })
    }
}

const USAGE: &str = "expected FROM [--platform=<platform>] <image> [AS <name>]";

pub(crate) fn parse(ctx: &Ctx<'_>) -> Result<From> {
    let (mut fl, rest) = flags::split(ctx);
    let platform = fl.string(ctx, "platform")?.map(|(v, _)| v);
    fl.finish(ctx, &["platform"])?;
    ctx.require_args(rest)?;
    let w = words::split_ws(ctx.from(rest), rest);
    let (image, name) = match w.as_slice() {
        [(_, image)] => (image.to_string(), None),
        [(_, image), (as_at, kw), (name_at, name)] => {
            if !kw.eq_ignore_ascii_case("as") {
                return Err(ctx.syntax(*as_at, format!("{USAGE}, found \"{kw}\"")));
            }
            let name = name.to_ascii_lowercase();
            if !valid_stage_name(&name) {
                return Err(ctx.syntax(
                    *name_at,
                    format!(
                        "invalid stage name \"{name}\": it must start with a letter and hold only letters, digits, '-', '_' and '.'"
                    ),
                ));
            }
            (image.to_string(), Some(name))
        }
        [_, (at, extra), ..] => {
            return Err(ctx.syntax(*at, format!("{USAGE}, found \"{extra}\"")));
        }
        [] => return Err(ctx.syntax(rest, USAGE)),
    };
    Ok(From {
        image,
        name,
        platform,
    })
}

/// BuildKit's rule: `^[a-z][a-z0-9-_.]*$` (after lower-casing).
fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}
