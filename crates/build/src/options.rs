//! What a build is asked to do ([`BuildOptions`]) and what it did ([`BuildOutcome`]).

use std::collections::HashMap;

use crate::context::Context;

/// What to build and how.
#[derive(Debug)]
pub struct BuildOptions {
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// Its name in messages (`Dockerfile:3:1: …`).
    pub dockerfile_name: String,
    /// The context.
    pub context: Context,
    /// `-t` names.
    pub tags: Vec<String>,
    /// `--build-arg`.
    pub build_args: HashMap<String, String>,
    /// `--target`.
    pub target: Option<String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--pull`: fetch base images even when present.
    pub pull: bool,
    /// `--label`.
    pub labels: Vec<(String, String)>,
    /// `--network` for `RUN` (`default`, `none`, `host`).
    pub network: Option<String>,
    /// Where `RUN` output is echoed (none: quiet).
    pub step_output: Option<std::os::fd::RawFd>,
    /// `--secret`s `RUN --mount=type=secret` can use.
    pub secrets: Vec<crate::Secret>,
    /// `--ssh` agents `RUN --mount=type=ssh` can use.
    pub ssh: Vec<crate::SshAgent>,
}

impl BuildOptions {
    /// Options with defaults for everything but the Dockerfile and context.
    pub fn new(dockerfile: String, dockerfile_name: String, context: Context) -> BuildOptions {
        BuildOptions {
            dockerfile,
            dockerfile_name,
            context,
            tags: Vec::new(),
            build_args: HashMap::new(),
            target: None,
            no_cache: false,
            pull: false,
            labels: Vec::new(),
            network: None,
            step_output: Some(1),
            secrets: Vec::new(),
            ssh: Vec::new(),
        }
    }
}

/// A finished build.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// The image id.
    pub id: String,
    /// The names it was tagged with.
    pub tags: Vec<String>,
    /// Steps taken from the cache / run.
    pub cached_steps: usize,
    /// Steps executed.
    pub run_steps: usize,
}
