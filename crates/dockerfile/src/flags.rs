//! `--name=value` flags at the start of an instruction's arguments.

use crate::error::{Error, Result};
use crate::instructions::Ctx;
use crate::suggest;
use crate::words;

/// One flag as written.
#[derive(Debug, Clone)]
pub(crate) struct Flag {
    pub offset: usize,
    pub name: String,
    pub value: Option<String>,
    used: bool,
}

/// The flags of one instruction; each is taken by name, and leftovers are errors.
#[derive(Debug)]
pub(crate) struct Flags {
    items: Vec<Flag>,
}

/// Splits leading flags off the arguments; returns them and the offset where the
/// remaining arguments begin.
pub(crate) fn split(ctx: &Ctx<'_>) -> (Flags, usize) {
    let mut items = Vec::new();
    let mut rest = ctx.line.text.len();
    for (offset, word) in words::shell_words(ctx.args(), ctx.args_at, ctx.escape) {
        if word == "--" {
            rest = offset + 2;
            break;
        }
        let Some(body) = word.strip_prefix("--") else {
            rest = offset;
            break;
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(words::unquote(v, ctx.escape))),
            None => (body.to_string(), None),
        };
        items.push(Flag {
            offset,
            name: name.to_ascii_lowercase(),
            value,
            used: false,
        });
    }
    (Flags { items }, rest)
}

impl Flags {
    /// A flag that may appear once and needs a value.
    pub fn string(&mut self, ctx: &Ctx<'_>, name: &str) -> Result<Option<(String, usize)>> {
        let mut found: Option<(String, usize)> = None;
        for f in self.items.iter_mut().filter(|f| f.name == name) {
            f.used = true;
            if found.is_some() {
                return Err(ctx.syntax(f.offset, format!("flag --{name} given more than once")));
            }
            match &f.value {
                Some(v) => found = Some((v.clone(), f.offset)),
                None => {
                    return Err(Error::BadFlag {
                        at: ctx.at(f.offset),
                        flag: name.to_string(),
                        value: String::new(),
                        expected: format!("a value, like --{name}=<value>"),
                    });
                }
            }
        }
        Ok(found)
    }

    /// A flag that may be repeated (`--mount`, `--exclude`).
    pub fn all(&mut self, ctx: &Ctx<'_>, name: &str) -> Result<Vec<(String, usize)>> {
        let mut out = Vec::new();
        for f in self.items.iter_mut().filter(|f| f.name == name) {
            f.used = true;
            match &f.value {
                Some(v) => out.push((v.clone(), f.offset)),
                None => {
                    return Err(Error::BadFlag {
                        at: ctx.at(f.offset),
                        flag: name.to_string(),
                        value: String::new(),
                        expected: format!("a value, like --{name}=<value>"),
                    });
                }
            }
        }
        Ok(out)
    }

    /// A boolean flag: `--link`, `--link=true`, `--link=false`.
    pub fn boolean(&mut self, ctx: &Ctx<'_>, name: &str) -> Result<bool> {
        let mut result = false;
        for f in self.items.iter_mut().filter(|f| f.name == name) {
            f.used = true;
            result = match f.value.as_deref() {
                None => true,
                Some(v) => parse_bool(v).ok_or_else(|| Error::BadFlag {
                    at: ctx.at(f.offset),
                    flag: name.to_string(),
                    value: v.to_string(),
                    expected: "true or false".to_string(),
                })?,
            };
        }
        Ok(result)
    }

    /// Fails on the first flag nobody took, suggesting one of `known`.
    pub fn finish(self, ctx: &Ctx<'_>, known: &[&str]) -> Result<()> {
        match self.items.into_iter().find(|f| !f.used) {
            None => Ok(()),
            Some(f) => Err(Error::UnknownFlag {
                at: ctx.at(f.offset),
                instruction: ctx.name.to_string(),
                suggestion: suggest::closest(&f.name, known).map(|s| format!("--{s}")),
                flag: f.name,
            }),
        }
    }
}

/// Go's `strconv.ParseBool` spellings.
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}
