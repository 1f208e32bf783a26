//! berth's Dockerfile front end: the parser, word expansion and `.dockerignore`
//! matching. It is a pure library: it executes nothing and reads no files (the
//! caller passes the Dockerfile and ignore-file contents as strings).
//!
//! - [`parse`] turns source text into a [`Dockerfile`]: [`Directives`], global
//!   [`Arg`]s and [`Stage`]s of [`Located`] [`Instruction`]s, with BuildKit's syntax
//!   (directives, continuations, comments, here-documents, JSON and shell forms).
//! - [`expand_word`], [`expand_words`] and [`Instruction::expand`] substitute
//!   variables as Docker's builder does; [`used_vars`] lists the ones a word uses.
//! - [`Scope`] applies Docker's ARG/ENV scoping while walking a stage.
//! - [`Dockerfile::stages_for_target`] and friends resolve stages.
//! - [`IgnoreMatcher`] implements `.dockerignore`.
//!
//! ```
//! use std::collections::HashMap;
//! use berth_dockerfile::{parse, Instruction};
//!
//! let df = parse("FROM alpine\nWORKDIR /srv/$app\n", "Dockerfile").unwrap();
//! let env = HashMap::from([("app".to_string(), "web".to_string())]);
//! let workdir = df.stages[0].instructions[0].expand(&env).unwrap();
//! assert_eq!(workdir, Instruction::Workdir("/srv/web".to_string()));
//! ```

mod duration;
mod error;
pub mod expand;
mod flags;
mod heredoc;
pub mod ignore;
mod instructions;
mod lines;
mod parse;
mod scope;
mod shell_pattern;
mod stages;
mod suggest;
mod words;

pub use duration::parse_go_duration;
pub use error::{Error, Location, Result};
pub use expand::{Env, Expander, expand_word, expand_words, used_vars};
pub use heredoc::Heredoc;
pub use ignore::{IgnoreMatcher, ignore_file_candidates};
pub use instructions::{
    Add, Arg, CommandForm, Copy, From, Healthcheck, HealthcheckOptions, INSTRUCTIONS, Instruction,
    KeyValue, Located, Mount, MountType, Network, Onbuild, PLATFORM_ARGS, PROXY_ARGS, PortSpec,
    Run, Security, Sharing, SourceKind, User, source_kind,
};
pub use lines::Directives;
pub use parse::{Dockerfile, Stage, parse};
pub use scope::Scope;
pub use stages::StageRef;
