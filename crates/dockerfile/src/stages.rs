//! Stage resolution: names and indexes, `COPY --from` targets, and the stages a
//! `--target` needs.

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::expand::{Env, Expander};
use crate::instructions::{Instruction, MountType, PLATFORM_ARGS};
use crate::parse::Dockerfile;
use crate::scope::Scope;

/// What a `FROM` base, `COPY --from` or `RUN --mount from=` refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageRef {
    /// A stage of this Dockerfile, by index.
    Stage(usize),
    /// An image reference (or `scratch`).
    Image(String),
}

impl Dockerfile {
    /// The index of the stage named `name` (case-insensitive) or numbered `name`.
    #[must_use]
    pub fn stage_index(&self, name: &str) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        if let Some(s) = self
            .stages
            .iter()
            .find(|s| s.name.as_deref() == Some(&lower))
        {
            return Some(s.index);
        }
        name.parse::<usize>()
            .ok()
            .filter(|i| *i < self.stages.len())
    }

    /// The stage named or numbered `name`.
    #[must_use]
    pub fn stage(&self, name: &str) -> Option<&crate::parse::Stage> {
        self.stage_index(name).and_then(|i| self.stages.get(i))
    }

    /// Classifies a `COPY --from` / `RUN --mount from=` value (already expanded): a
    /// stage name, a stage index (an error when out of range) or an image.
    pub fn classify_from(&self, reference: &str) -> Result<StageRef> {
        if reference.is_empty() {
            return Err(Error::UnknownStage {
                at: None,
                stage: String::new(),
                detail: "the reference is empty (an unset variable?)".to_string(),
            });
        }
        if let Some(i) = self
            .stages
            .iter()
            .position(|s| s.name.as_deref() == Some(&reference.to_ascii_lowercase()))
        {
            return Ok(StageRef::Stage(i));
        }
        if let Ok(i) = reference.parse::<usize>() {
            if i < self.stages.len() {
                return Ok(StageRef::Stage(i));
            }
            return Err(Error::UnknownStage {
                at: None,
                stage: reference.to_string(),
                detail: format!(
                    "index {i} is out of range: the Dockerfile has {} stage{} (0 to {})",
                    self.stages.len(),
                    if self.stages.len() == 1 { "" } else { "s" },
                    self.stages.len().saturating_sub(1)
                ),
            });
        }
        Ok(StageRef::Image(reference.to_string()))
    }

    /// The global ARG values: the platform arguments (`BUILDPLATFORM`, …) given in
    /// `build_args`, which FROM lines may use undeclared, then each global ARG: its
    /// `--build-arg` value or its default expanded in order.
    pub fn global_env(&self, build_args: &(impl Env + ?Sized)) -> Result<Vec<(String, String)>> {
        let x = Expander::new(self.directives.escape);
        let mut env: Vec<(String, String)> = PLATFORM_ARGS
            .iter()
            .filter_map(|n| {
                build_args
                    .lookup(n)
                    .map(|v| ((*n).to_string(), v.to_string()))
            })
            .collect();
        for arg in &self.global_args {
            let value = match build_args.lookup(&arg.name) {
                Some(v) => Some(v.to_string()),
                None => arg
                    .default
                    .as_deref()
                    .map(|d| x.word(d, &env))
                    .transpose()?,
            };
            if let Some(v) = value {
                env.push((arg.name.clone(), v));
            }
        }
        Ok(env)
    }

    /// What stage `index` builds on: an earlier stage or an image. The base is
    /// expanded with the global ARGs.
    pub fn base_of(&self, index: usize, global_env: &(impl Env + ?Sized)) -> Result<StageRef> {
        let Some(stage) = self.stages.get(index) else {
            return Err(Error::UnknownStage {
                at: None,
                stage: index.to_string(),
                detail: format!("the Dockerfile has {} stages", self.stages.len()),
            });
        };
        let base = Expander::new(stage.from.escape)
            .word(&stage.base, global_env)
            .map_err(|e| e.at(&stage.from.at))?;
        let lower = base.to_ascii_lowercase();
        Ok(
            match self
                .stages
                .iter()
                .position(|s| s.name.as_deref() == Some(&lower))
            {
                Some(i) => StageRef::Stage(i),
                None => StageRef::Image(base),
            },
        )
    }

    /// The stages that stage `index` uses directly: its base, `COPY --from` and
    /// `RUN --mount from=`. `--from` values are expanded as Docker does, with the
    /// stage's own scope: ARGs declared in the stage (build argument, else default,
    /// else the global value) and ENVs before the instruction.
    pub fn stage_dependencies(
        &self,
        index: usize,
        build_args: &(impl Env + ?Sized),
    ) -> Result<BTreeSet<usize>> {
        let global = self.global_env(build_args)?;
        let mut deps = BTreeSet::new();
        if let StageRef::Stage(i) = self.base_of(index, &global)? {
            deps.insert(i);
        }
        let Some(stage) = self.stages.get(index) else {
            return Ok(deps);
        };
        let mut scope = Scope::new(self, build_args, Vec::new())?;
        for inst in &stage.instructions {
            let x = Expander::new(inst.escape);
            let froms: Vec<&str> = match &inst.value {
                Instruction::Copy(c) => c.from.iter().map(String::as_str).collect(),
                Instruction::Run(r) => r
                    .mounts
                    .iter()
                    .filter(|m| matches!(m.kind, MountType::Bind | MountType::Cache))
                    .filter_map(|m| m.from.as_deref())
                    .collect(),
                Instruction::Arg(_) | Instruction::Env(_) => {
                    scope.step(inst, build_args)?;
                    Vec::new()
                }
                _ => Vec::new(),
            };
            for from in froms {
                let from = x.word(from, &scope).map_err(|e| e.at(&inst.at))?;
                if let StageRef::Stage(i) = self.classify_from(&from).map_err(|e| e.at(&inst.at))? {
                    deps.insert(i);
                }
            }
        }
        Ok(deps)
    }

    /// The stages needed to build `target` (a name or index; `None` is the last
    /// stage), dependencies first, ending with the target itself. Fails on an unknown
    /// target and on circular dependencies.
    pub fn stages_for_target(
        &self,
        target: Option<&str>,
        build_args: &(impl Env + ?Sized),
    ) -> Result<Vec<usize>> {
        let index = match target {
            None => self.stages.len().checked_sub(1),
            Some(t) => self.stage_index(t),
        };
        let Some(index) = index else {
            let names: Vec<&str> = self
                .stages
                .iter()
                .filter_map(|s| s.name.as_deref())
                .collect();
            return Err(Error::UnknownStage {
                at: None,
                stage: target.unwrap_or_default().to_string(),
                detail: if names.is_empty() {
                    "the Dockerfile names no stages".to_string()
                } else {
                    format!("the Dockerfile's stages are {}", names.join(", "))
                },
            });
        };
        let mut order = Vec::new();
        let mut path = Vec::new();
        self.visit(index, build_args, &mut order, &mut path)?;
        Ok(order)
    }

    fn visit(
        &self,
        index: usize,
        env: &(impl Env + ?Sized),
        order: &mut Vec<usize>,
        path: &mut Vec<usize>,
    ) -> Result<()> {
        if order.contains(&index) {
            return Ok(());
        }
        if let Some(pos) = path.iter().position(|&i| i == index) {
            let mut stages: Vec<String> = path[pos..].iter().map(|&i| self.label(i)).collect();
            stages.push(self.label(index));
            return Err(Error::StageCycle { stages });
        }
        path.push(index);
        for dep in self.stage_dependencies(index, env)? {
            self.visit(dep, env, order, path)?;
        }
        path.pop();
        order.push(index);
        Ok(())
    }

    fn label(&self, index: usize) -> String {
        self.stages
            .get(index)
            .and_then(|s| s.name.clone())
            .unwrap_or_else(|| index.to_string())
    }
}
