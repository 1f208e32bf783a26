//! `ENV` and `LABEL`: `key=value …` pairs, or the legacy `key value` form.

use crate::error::Result;
use crate::expand::{Env, Expander};
use crate::instructions::{Ctx, no_flags};
use crate::words;

/// One `key=value` of `ENV` or `LABEL`, as written (quotes kept until expansion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The name.
    pub key: String,
    /// The value.
    pub value: String,
}

pub(crate) fn expand(
    kvs: &[KeyValue],
    x: &Expander,
    env: &(impl Env + ?Sized),
) -> Result<Vec<KeyValue>> {
    // Every value sees the environment from before the instruction, as in Docker:
    // `ENV a=1 b=$a` gives b the old a.
    kvs.iter()
        .map(|kv| {
            Ok(KeyValue {
                key: x.word(&kv.key, env)?,
                value: x.word(&kv.value, env)?,
            })
        })
        .collect()
}

pub(crate) fn parse(ctx: &Ctx<'_>) -> Result<Vec<KeyValue>> {
    let rest = no_flags(ctx)?;
    ctx.require_args(rest)?;
    let w = words::shell_words(ctx.from(rest), rest, ctx.escape);
    let Some((first_at, first)) = w.first() else {
        return Err(ctx.syntax(rest, format!("{} requires at least one argument", ctx.name)));
    };
    if !first.contains('=') {
        // Legacy form: the first word is the key, the rest of the line the value.
        let after = first_at + first.len();
        let value = ctx.from(after).trim();
        if value.is_empty() {
            return Err(ctx.syntax(
                *first_at,
                format!(
                    "{name} {first} has no value: expected {name} <key>=<value> … or {name} <key> <value>",
                    name = ctx.name
                ),
            ));
        }
        return Ok(vec![KeyValue {
            key: first.clone(),
            value: value.to_string(),
        }]);
    }
    w.into_iter()
        .map(|(at, word)| match word.split_once('=') {
            Some(("", _)) => Err(ctx.syntax(at, format!("{} names can not be blank", ctx.name))),
            Some((k, v)) => Ok(KeyValue {
                key: k.to_string(),
                value: v.to_string(),
            }),
            None => Err(ctx.syntax(
                at,
                format!("can't find = in \"{word}\": expected <key>=<value>"),
            )),
        })
        .collect()
}
