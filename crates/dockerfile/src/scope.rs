//! ARG and ENV scoping inside a stage, as Docker does it: an ARG is visible from
//! its declaration to the end of its stage; a global ARG (before the first FROM) is
//! visible in a stage only after a bare `ARG name` there; ENV overrides an ARG of
//! the same name; `--build-arg` overrides ARG defaults; the proxy arguments need no
//! declaration.

use crate::error::Result;
use crate::expand::Env;
use crate::instructions::{Instruction, Located, PROXY_ARGS};
use crate::parse::Dockerfile;

/// The variables visible at one point of a stage. Walk the stage's instructions
/// through [`Scope::step`] to get each one expanded with the right values.
///
/// ```
/// use std::collections::HashMap;
/// use berth_dockerfile::{parse, Instruction, Scope};
///
/// let df = parse("FROM busybox\nUSER ${who:-nobody}\nARG who\nUSER $who\n", "Dockerfile").unwrap();
/// let args = HashMap::from([("who".to_string(), "app".to_string())]);
/// let mut scope = Scope::new(&df, &args, Vec::new()).unwrap();
/// let users: Vec<String> = df.stages[0].instructions.iter()
///     .map(|i| scope.step(i, &args).unwrap())
///     .filter_map(|i| match i { Instruction::User(u) => Some(u.spec), _ => None })
///     .collect();
/// assert_eq!(users, ["nobody", "app"]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Scope {
    global: Vec<(String, String)>,
    proxies: Vec<(String, String)>,
    args: Vec<(String, String)>,
    env: Vec<(String, String)>,
}

impl Scope {
    /// The scope at the start of a stage: nothing declared yet, `base_env` (the base
    /// image's `Env`, `(name, value)` in order) set.
    pub fn new(
        df: &Dockerfile,
        build_args: &(impl Env + ?Sized),
        base_env: Vec<(String, String)>,
    ) -> Result<Self> {
        let proxies = PROXY_ARGS
            .iter()
            .filter_map(|n| {
                build_args
                    .lookup(n)
                    .map(|v| ((*n).to_string(), v.to_string()))
            })
            .collect();
        Ok(Scope {
            global: df.global_env(build_args)?,
            proxies,
            args: Vec::new(),
            env: base_env,
        })
    }

    /// Expands `inst` with the current scope (see [`Instruction::expand_with`]) and
    /// then applies what it declares (`ARG`, `ENV`); returns the expanded instruction.
    pub fn step(
        &mut self,
        inst: &Located<Instruction>,
        build_args: &(impl Env + ?Sized),
    ) -> Result<Instruction> {
        let expanded = inst.expand(self)?;
        match &expanded {
            Instruction::Arg(args) => {
                for arg in args {
                    let value = match build_args.lookup(&arg.name) {
                        Some(v) => Some(v.to_string()),
                        None => arg
                            .default
                            .clone()
                            .or_else(|| self.global.lookup(&arg.name).map(str::to_string)),
                    };
                    match value {
                        Some(v) => self.args.push((arg.name.clone(), v)),
                        // Declared without a value: visible as unset.
                        None => self.args.retain(|(k, _)| k != &arg.name),
                    }
                }
            }
            Instruction::Env(kvs) => {
                for kv in kvs {
                    self.env.push((kv.key.clone(), kv.value.clone()));
                }
            }
            _ => {}
        }
        Ok(expanded)
    }

    /// The build arguments declared so far, with their values (last one per name
    /// wins). `RUN` sees them as environment variables, so its cache key needs them.
    #[must_use]
    pub fn args(&self) -> Vec<(String, String)> {
        dedup(&self.args)
    }

    /// The environment (`ENV` and the base image's) set so far.
    #[must_use]
    pub fn env(&self) -> Vec<(String, String)> {
        dedup(&self.env)
    }
}

/// Last value per name, in first-appearance order.
fn dedup(v: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, val) in v {
        match out.iter_mut().find(|(ok, _)| ok == k) {
            Some(slot) => slot.1.clone_from(val),
            None => out.push((k.clone(), val.clone())),
        }
    }
    out
}

impl Env for Scope {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.env
            .lookup(name)
            .or_else(|| self.args.lookup(name))
            .or_else(|| self.proxies.lookup(name))
    }
}
