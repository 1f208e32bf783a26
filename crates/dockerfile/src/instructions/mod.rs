//! The typed instructions, one file per family, and the dispatch from a keyword to
//! its parser.

mod arg;
mod command;
mod config;
mod copy;
mod from;
mod healthcheck;
mod kv;
mod onbuild;
mod run;

use std::collections::BTreeSet;

pub use arg::{Arg, PLATFORM_ARGS, PROXY_ARGS};
pub use command::CommandForm;
pub use config::{PortSpec, User};
pub use copy::{Add, Copy, SourceKind, source_kind};
pub use from::From;
pub use healthcheck::{Healthcheck, HealthcheckOptions};
pub use kv::KeyValue;
pub use onbuild::Onbuild;
pub use run::{Mount, MountType, Network, Run, Security, Sharing};

use crate::error::{Error, Location, Result};
use crate::expand::{Env, Expander};
use crate::lines::LogicalLine;

/// Every instruction name, upper case.
pub const INSTRUCTIONS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// One Dockerfile instruction, as written (words not yet expanded; quotes kept where
/// expansion will remove them). Call [`Instruction::expand`] to get the values the
/// builder uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// `FROM [--platform=p] image [AS name]`.
    From(From),
    /// `RUN [--mount=…] [--network=…] [--security=…] command`.
    Run(Run),
    /// `CMD`.
    Cmd(CommandForm),
    /// `LABEL k=v …`.
    Label(Vec<KeyValue>),
    /// `MAINTAINER name` (deprecated; becomes the image's author).
    Maintainer(String),
    /// `EXPOSE port[/proto] …`.
    Expose(Vec<String>),
    /// `ENV k=v …` or `ENV k v`.
    Env(Vec<KeyValue>),
    /// `ADD`.
    Add(Add),
    /// `COPY`.
    Copy(Copy),
    /// `ENTRYPOINT`.
    Entrypoint(CommandForm),
    /// `VOLUME` paths (JSON or space separated).
    Volume(Vec<String>),
    /// `USER user[:group]`.
    User(User),
    /// `WORKDIR path`.
    Workdir(String),
    /// `ARG name[=default] …`.
    Arg(Vec<Arg>),
    /// `ONBUILD <instruction>`.
    Onbuild(Onbuild),
    /// `STOPSIGNAL signal`.
    Stopsignal(String),
    /// `HEALTHCHECK NONE` or `HEALTHCHECK [options] CMD …`.
    Healthcheck(Healthcheck),
    /// `SHELL ["executable", "params"]`.
    Shell(Vec<String>),
}

impl Instruction {
    /// The instruction's name, upper case (`"COPY"`).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Instruction::From(_) => "FROM",
            Instruction::Run(_) => "RUN",
            Instruction::Cmd(_) => "CMD",
            Instruction::Label(_) => "LABEL",
            Instruction::Maintainer(_) => "MAINTAINER",
            Instruction::Expose(_) => "EXPOSE",
            Instruction::Env(_) => "ENV",
            Instruction::Add(_) => "ADD",
            Instruction::Copy(_) => "COPY",
            Instruction::Entrypoint(_) => "ENTRYPOINT",
            Instruction::Volume(_) => "VOLUME",
            Instruction::User(_) => "USER",
            Instruction::Workdir(_) => "WORKDIR",
            Instruction::Arg(_) => "ARG",
            Instruction::Onbuild(_) => "ONBUILD",
            Instruction::Stopsignal(_) => "STOPSIGNAL",
            Instruction::Healthcheck(_) => "HEALTHCHECK",
            Instruction::Shell(_) => "SHELL",
        }
    }

    /// Whether Docker's builder expands variables in this instruction. `RUN`, `CMD`,
    /// `ENTRYPOINT` (the shell does it), `SHELL`, `HEALTHCHECK`, `MAINTAINER` and
    /// `ONBUILD` (expanded when the trigger runs) are not expanded.
    #[must_use]
    pub fn expands(&self) -> bool {
        matches!(
            self,
            Instruction::From(_)
                | Instruction::Label(_)
                | Instruction::Expose(_)
                | Instruction::Env(_)
                | Instruction::Add(_)
                | Instruction::Copy(_)
                | Instruction::Volume(_)
                | Instruction::User(_)
                | Instruction::Workdir(_)
                | Instruction::Arg(_)
                | Instruction::Stopsignal(_)
        )
    }

    /// Expands variables with the default escape character `\`. See
    /// [`Instruction::expand_with`].
    pub fn expand(&self, env: &(impl Env + ?Sized)) -> Result<Instruction> {
        self.expand_with(env, '\\')
    }

    /// Expands variables where Docker does (see [`Instruction::expands`]) and removes
    /// quotes; other instructions come back unchanged (`RUN --mount` values are
    /// expanded, as BuildKit does, but never the command). `env` holds the stage's
    /// ARG and ENV values at this point.
    pub fn expand_with(&self, env: &(impl Env + ?Sized), escape: char) -> Result<Instruction> {
        let x = Expander::new(escape);
        Ok(match self {
            Instruction::From(f) => Instruction::From(f.expand(&x, env)?),
            Instruction::Run(r) => Instruction::Run(r.expand(&x, env)?),
            Instruction::Label(kvs) => Instruction::Label(kv::expand(kvs, &x, env)?),
            Instruction::Env(kvs) => Instruction::Env(kv::expand(kvs, &x, env)?),
            Instruction::Expose(ports) => {
                Instruction::Expose(config::expand_ports(ports, &x, env)?)
            }
            Instruction::Add(a) => Instruction::Add(a.expand(&x, env)?),
            Instruction::Copy(c) => Instruction::Copy(c.expand(&x, env)?),
            Instruction::Volume(v) => Instruction::Volume(
                v.iter()
                    .map(|w| x.word(w, env))
                    .collect::<Result<Vec<_>>>()?,
            ),
            Instruction::User(u) => Instruction::User(User::new(x.word(&u.spec, env)?)),
            Instruction::Workdir(w) => Instruction::Workdir(x.word(w, env)?),
            Instruction::Arg(args) => Instruction::Arg(
                args.iter()
                    .map(|a| a.expand(&x, env))
                    .collect::<Result<Vec<_>>>()?,
            ),
            Instruction::Stopsignal(s) => Instruction::Stopsignal(x.word(s, env)?),
            other => other.clone(),
        })
    }

    /// The variables this instruction's expanded words refer to. The builder keys
    /// its cache on the values of these. `RUN` is different: every ARG in scope is
    /// in the command's environment, so its cache key must include all of them.
    pub fn used_vars(&self, escape: char) -> Result<BTreeSet<String>> {
        let x = Expander::new(escape);
        let mut out = BTreeSet::new();
        for w in self.expandable_words() {
            out.extend(x.used_vars(w)?);
        }
        Ok(out)
    }

    fn expandable_words(&self) -> Vec<&str> {
        match self {
            Instruction::From(f) => {
                let mut v = vec![f.image.as_str()];
                v.extend(f.platform.as_deref());
                v
            }
            Instruction::Run(r) => r.expandable_words(),
            Instruction::Label(kvs) | Instruction::Env(kvs) => kvs
                .iter()
                .flat_map(|kv| [kv.key.as_str(), kv.value.as_str()])
                .collect(),
            Instruction::Expose(v) | Instruction::Volume(v) => {
                v.iter().map(String::as_str).collect()
            }
            Instruction::Add(a) => a.expandable_words(),
            Instruction::Copy(c) => c.expandable_words(),
            Instruction::User(u) => vec![u.spec.as_str()],
            Instruction::Workdir(w) | Instruction::Stopsignal(w) => vec![w.as_str()],
            Instruction::Arg(args) => args.iter().filter_map(|a| a.default.as_deref()).collect(),
            _ => Vec::new(),
        }
    }
}

/// An instruction with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    /// The parsed value.
    pub value: T,
    /// Where the instruction's keyword is.
    pub at: Location,
    /// The last line it occupies (continuations and here-documents included).
    pub end_line: usize,
    /// The instruction's text with continuation lines joined (comments and
    /// here-document bodies left out), as Docker prints it in `Step N/M : …`.
    pub text: String,
    /// The escape character in effect (from `# escape=`).
    pub escape: char,
}

impl Located<Instruction> {
    /// Expands the instruction (see [`Instruction::expand_with`]) with the file's escape
    /// character; errors carry the instruction's location.
    pub fn expand(&self, env: &(impl Env + ?Sized)) -> Result<Instruction> {
        self.value
            .expand_with(env, self.escape)
            .map_err(|e| e.at(&self.at))
    }
}

/// What an instruction parser sees: the logical line and where its arguments start.
pub(crate) struct Ctx<'a> {
    pub file: &'a str,
    pub line: &'a LogicalLine,
    pub escape: char,
    /// The instruction name, upper case.
    pub name: &'static str,
    /// Byte offset of the arguments in `line.text`.
    pub args_at: usize,
}

impl Ctx<'_> {
    /// The arguments (everything after the keyword).
    pub fn args(&self) -> &str {
        self.line.text.get(self.args_at..).unwrap_or("")
    }

    /// Text from `offset` to the end of the line.
    pub fn from(&self, offset: usize) -> &str {
        self.line.text.get(offset..).unwrap_or("")
    }

    pub fn at(&self, offset: usize) -> Location {
        let (line, column) = self.line.position(offset);
        Location {
            file: self.file.to_string(),
            line,
            column,
        }
    }

    pub fn syntax(&self, offset: usize, message: impl Into<String>) -> Error {
        Error::Syntax {
            at: self.at(offset),
            instruction: self.name.to_string(),
            message: message.into(),
        }
    }

    /// The error for a JSON array holding something other than strings.
    pub fn not_strings(&self, offset: usize) -> Error {
        Error::BadJson {
            at: self.at(self.skip_ws(offset)),
            instruction: self.name.to_string(),
            detail: "when using the JSON form, every element must be a string".to_string(),
        }
    }

    /// Offset of the first non-space character at or after `offset`.
    pub fn skip_ws(&self, offset: usize) -> usize {
        let rest = self.from(offset);
        offset + (rest.len() - rest.trim_start().len())
    }

    /// Fails when there are no arguments from `offset` on.
    pub fn require_args(&self, offset: usize) -> Result<()> {
        if self.from(offset).trim().is_empty() {
            return Err(self.syntax(
                self.line.text.trim_end().len(),
                format!("{} requires at least one argument", self.name),
            ));
        }
        Ok(())
    }
}

/// The canonical (upper-case) name of an instruction keyword, if it is one.
pub(crate) fn lookup(keyword: &str) -> Option<&'static str> {
    INSTRUCTIONS
        .iter()
        .find(|k| k.eq_ignore_ascii_case(keyword))
        .copied()
}

/// Parses one instruction.
pub(crate) fn parse(ctx: &Ctx<'_>) -> Result<Instruction> {
    Ok(match ctx.name {
        "FROM" => Instruction::From(from::parse(ctx)?),
        "RUN" => Instruction::Run(run::parse(ctx)?),
        "CMD" => Instruction::Cmd(command::parse_plain(ctx)?),
        "ENTRYPOINT" => Instruction::Entrypoint(command::parse_plain(ctx)?),
        "SHELL" => Instruction::Shell(command::parse_shell(ctx)?),
        "LABEL" => Instruction::Label(kv::parse(ctx)?),
        "ENV" => Instruction::Env(kv::parse(ctx)?),
        "MAINTAINER" => Instruction::Maintainer(config::parse_rest(ctx)?),
        "EXPOSE" => Instruction::Expose(config::parse_expose(ctx)?),
        "VOLUME" => Instruction::Volume(config::parse_volume(ctx)?),
        "USER" => Instruction::User(User::new(config::parse_rest(ctx)?)),
        "WORKDIR" => Instruction::Workdir(config::parse_rest(ctx)?),
        "STOPSIGNAL" => Instruction::Stopsignal(config::parse_stopsignal(ctx)?),
        "ADD" => Instruction::Add(copy::parse_add(ctx)?),
        "COPY" => Instruction::Copy(copy::parse_copy(ctx)?),
        "ARG" => Instruction::Arg(arg::parse(ctx)?),
        "ONBUILD" => Instruction::Onbuild(onbuild::parse(ctx)?),
        "HEALTHCHECK" => Instruction::Healthcheck(healthcheck::parse(ctx)?),
        other => {
            return Err(ctx.syntax(0, format!("no parser for {other}")));
        }
    })
}

/// Rejects flags on instructions that take none.
pub(crate) fn no_flags(ctx: &Ctx<'_>) -> Result<usize> {
    let (flags, rest) = crate::flags::split(ctx);
    flags.finish(ctx, &[])?;
    Ok(rest)
}
