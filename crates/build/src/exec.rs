//! The build loop: stages in dependency order, each instruction through the cache,
//! filesystem steps made into layers, Docker classic-builder output.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::os::fd::BorrowedFd;
use std::time::Instant;

use berth_dockerfile::{Dockerfile, Instruction, Located, Scope, StageRef};
use berth_engine::Engine;
use berth_engine::build_support::{BuildRun, BuiltLayer};
use berth_engine::images::PullOptions;
use serde_json::{Value, json};

use crate::cache::{Cache, KeyBuilder, Layer, State};
use crate::config;
use crate::copy::{self, CopyRequest, FromRoot};
use crate::error::{Error, Result};
use crate::layer::{self, Entry};
use crate::lowers::{Lowers, components};
use crate::memo::HashMemo;
pub use crate::options::{BuildOptions, BuildOutcome};
use crate::platform::{check_platform, platform_args};
use crate::run::heredoc_script;

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

pub(crate) struct Builder<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) opts: &'a BuildOptions,
    pub(crate) df: Dockerfile,
    pub(crate) cache: Cache,
    pub(crate) memo: HashMemo,
    pub(crate) out: &'a mut dyn Write,
    pub(crate) step: usize,
    pub(crate) total: usize,
    pub(crate) cached: usize,
    pub(crate) ran: usize,
    pub(crate) built: BTreeMap<usize, State>,
    /// `--build-arg`s plus the platform args (`TARGETPLATFORM`, `BUILDARCH`, …) of
    /// this host unless given.
    pub(crate) args: HashMap<String, String>,
    /// Where `RUN` output is echoed (a stage child's pipe, else `opts.step_output`).
    pub(crate) echo: Option<std::os::fd::RawFd>,
}

/// Builds the image `opts` describes, writing progress to `out`. Nothing is tagged
/// unless every step succeeds.
pub fn build(engine: &Engine, opts: &BuildOptions, out: &mut dyn Write) -> Result<BuildOutcome> {
    let started = Instant::now();
    let df = berth_dockerfile::parse(&opts.dockerfile, &opts.dockerfile_name)?;
    for t in &opts.tags {
        berth_image::Reference::parse(t).map_err(|e| Error::Invalid {
            what: "-t",
            value: t.clone(),
            hint: format!("{e}"),
        })?;
    }
    let mut args = opts.build_args.clone();
    for (k, v) in platform_args() {
        args.entry(k).or_insert(v);
    }
    let order = df.stages_for_target(opts.target.as_deref(), &args)?;
    let total = order
        .iter()
        .filter_map(|i| df.stages.get(*i))
        .map(|s| s.instructions.len() + 1)
        .sum();
    let cache = Cache::open(&engine.paths().data)?;
    let _hold = crate::cache::hold_off_prune(engine)?;
    let memo = HashMemo::load(&cache.dir().join("memo.json"));
    let mut b = Builder {
        engine,
        opts,
        df,
        cache,
        memo,
        out,
        step: 0,
        total,
        cached: 0,
        ran: 0,
        built: BTreeMap::new(),
        args,
        echo: opts.step_output,
    };
    let result = b.run_stages(&order);
    let mut declared: Vec<&str> = b.df.global_args.iter().map(|a| a.name.as_str()).collect();
    for s in order.iter().filter_map(|i| b.df.stages.get(*i)) {
        for inst in &s.instructions {
            if let Instruction::Arg(args) = &inst.value {
                declared.extend(args.iter().map(|a| a.name.as_str()));
            }
        }
    }
    let mut unused: Vec<&str> = opts
        .build_args
        .keys()
        .map(String::as_str)
        .filter(|k| !declared.contains(k) && !berth_dockerfile::PROXY_ARGS.contains(k))
        .collect();
    if result.is_ok() && !unused.is_empty() {
        unused.sort_unstable();
        let _ = writeln!(
            b.out,
            "[Warning] One or more build-args [{}] were not consumed",
            unused.join(" ")
        );
    }
    b.memo.save();
    let mut state = result?;
    if !opts.labels.is_empty() {
        let labels = opts
            .labels
            .iter()
            .map(|(k, v)| berth_dockerfile::KeyValue {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        let mut from_base = false;
        config::apply(
            &mut state.config,
            &Instruction::Label(labels),
            &mut from_base,
        );
    }
    let bytes = state.config_bytes()?;
    let layers: Vec<BuiltLayer> = state.layers.iter().map(BuiltLayer::from).collect();
    // A fully cached build changes nothing: skip the store's write transactions (each
    // an fsync that can wait for unrelated dirty data on ext4).
    let want = state.id()?;
    let id = if engine.store().get_image(&want).is_ok() {
        want
    } else {
        engine.put_built_image(&bytes, &layers)?
    };
    let _ = writeln!(b.out, "Successfully built {}", short(&id));
    let mut tags = Vec::new();
    for t in &opts.tags {
        let current = berth_image::Reference::parse(t)
            .ok()
            .and_then(|r| engine.store().resolve_image(&r.to_string()).ok());
        if current.as_deref() != Some(id.as_str()) {
            engine.tag(&id, t)?;
        }
        let _ = writeln!(
            b.out,
            "Successfully tagged {}",
            berth_engine::images::familiar(t)
        );
        tags.push(t.clone());
    }
    let _ = writeln!(
        b.out,
        "Build finished in {:.2}s ({} cached, {} run)",
        started.elapsed().as_secs_f64(),
        b.cached,
        b.ran
    );
    Ok(BuildOutcome {
        id,
        tags,
        cached_steps: b.cached,
        run_steps: b.ran,
    })
}

impl Builder<'_> {
    fn say(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    fn header(&mut self, text: &str) {
        self.step += 1;
        let line = format!("Step {}/{} : {}", self.step, self.total, text);
        self.say(&line);
    }

    pub(crate) fn run_stage(&mut self, idx: usize) -> Result<State> {
        let Some(stage) = self.df.stages.get(idx).cloned() else {
            return Err(Error::Invalid {
                what: "--target",
                value: idx.to_string(),
                hint: "no such stage".into(),
            });
        };
        self.header(&stage.from.text);
        let global = self.df.global_env(&self.args)?;
        if let Some(p) = &stage.platform {
            let expanded = berth_dockerfile::expand_word(p, &global)?;
            check_platform(p, &expanded)?;
        }
        let base = self.df.base_of(idx, &global)?;
        let mut state = match base {
            StageRef::Stage(i) => self.built.get(&i).cloned().ok_or_else(|| Error::Invalid {
                what: "FROM",
                value: i.to_string(),
                hint: "a stage must come before the stages that use it".into(),
            })?,
            StageRef::Image(name) => self.base_image(&name)?,
        };
        let id = state.id()?;
        self.say(&format!(" ---> {}", short(&id)));
        let mut scope = Scope::new(&self.df, &self.args, config::env_pairs(&state.config))?;
        let mut cmd_from_base = true;
        // ONBUILD triggers of the base run first, then are cleared.
        let triggers = config::strings(state.config.pointer("/config/OnBuild")).unwrap_or_default();
        if !triggers.is_empty() {
            self.say(&format!("# Executing {} build trigger(s)", triggers.len()));
            if let Some(Value::Object(c)) = state.config.get_mut("config") {
                c.remove("OnBuild");
            }
            for t in &triggers {
                let parsed = berth_dockerfile::parse(&format!("FROM scratch\n{t}\n"), "ONBUILD")?;
                for inst in parsed.stages.into_iter().flat_map(|s| s.instructions) {
                    self.instruction(&mut state, &inst, &mut scope, &mut cmd_from_base, false)?;
                }
            }
        }
        for inst in &stage.instructions {
            self.instruction(&mut state, inst, &mut scope, &mut cmd_from_base, true)?;
        }
        Ok(state)
    }

    fn base_image(&mut self, name: &str) -> Result<State> {
        if name.eq_ignore_ascii_case("scratch") {
            let p = berth_image::Platform::host();
            return Ok(State {
                key: "scratch".into(),
                config: json!({"architecture": p.architecture, "os": p.os, "config": {},
                    "rootfs": {"type": "layers", "diff_ids": []}, "history": []}),
                layers: Vec::new(),
            });
        }
        let found = if self.opts.pull {
            None
        } else {
            self.engine.find_image(name).ok()
        };
        let img = match found {
            Some(i) => i,
            None => {
                let pulled = self
                    .engine
                    .pull(name, &PullOptions::default(), &mut |_| {})?;
                self.engine.find_image(&pulled.id)?
            }
        };
        let config: Value =
            serde_json::from_str(img.config.as_deref().unwrap_or("{}")).map_err(|e| {
                Error::Json {
                    what: format!("config of image {name}"),
                    source: e,
                }
            })?;
        let layers = self
            .engine
            .store()
            .image_layers(&img.id)
            .map_err(berth_engine::Error::from)?
            .into_iter()
            .map(|l| Layer {
                diff_id: l.diff_id,
                chain_id: l.chain_id,
                blob: l.blob_digest,
                size: l.size,
            })
            .collect();
        Ok(State {
            key: img.id.clone(),
            config,
            layers,
        })
    }

    pub(crate) fn lowers(&self, state: &State) -> Result<Lowers> {
        let mut top_first = Vec::with_capacity(state.layers.len());
        for l in state.layers.iter().rev() {
            top_first.push(
                self.engine
                    .store()
                    .snapshot_path(&l.chain_id)
                    .map_err(berth_engine::Error::from)?,
            );
        }
        Ok(Lowers::new(top_first))
    }

    fn root_of(&mut self, from: &str) -> Result<FromRoot> {
        let state = match self.df.classify_from(from)? {
            StageRef::Stage(i) => self.built.get(&i).cloned().ok_or_else(|| Error::Invalid {
                what: "--from",
                value: from.to_owned(),
                hint: "the stage is not built before this one (stages refer to earlier stages)"
                    .into(),
            })?,
            StageRef::Image(name) => self.base_image(&name)?,
        };
        Ok(FromRoot {
            key: state.key.clone(),
            lowers: self.lowers(&state)?,
        })
    }

    fn instruction(
        &mut self,
        state: &mut State,
        inst: &Located<Instruction>,
        scope: &mut Scope,
        cmd_from_base: &mut bool,
        counted: bool,
    ) -> Result<()> {
        if counted {
            self.header(&inst.text);
        } else {
            self.say(&format!(" > {}", inst.text));
        }
        let expanded = scope.step(inst, &self.args)?;
        let mut key = KeyBuilder::new(&state.key);
        key.add("instruction", &format!("{expanded:?}"));
        // What the step will do, decided before the cache lookup so the key can cover
        // the content it reads.
        enum Plan {
            Meta,
            Run(BuildRun, String),
            Files(Vec<Entry>),
        }
        // Downloaded ADD sources live until the step's layer is written.
        let mut held: Vec<tempfile::NamedTempFile> = Vec::new();
        // `COPY --link`/`ADD --link`: the key of the layer alone (no parent).
        let mut linked: Option<String> = None;
        // Secret files live until the step has run.
        let mut held_dirs: Vec<tempfile::TempDir> = Vec::new();
        let plan = match &expanded {
            Instruction::Run(r) => {
                let mut script = match &r.command {
                    berth_dockerfile::CommandForm::Shell(s) => s.clone(),
                    berth_dockerfile::CommandForm::Exec(v) => v.join(" "),
                };
                let mut form = r.command.clone();
                let bare = match &r.command {
                    berth_dockerfile::CommandForm::Shell(s) => heredoc_script(s, &r.heredocs),
                    berth_dockerfile::CommandForm::Exec(_) => None,
                };
                if let Some(body) = bare {
                    form = berth_dockerfile::CommandForm::Shell(body.clone());
                    script = body;
                } else if !r.heredocs.is_empty()
                    && let berth_dockerfile::CommandForm::Shell(s) = &r.command
                {
                    let mut full = s.clone();
                    for h in &r.heredocs {
                        full.push('\n');
                        full.push_str(&h.content);
                        if !h.content.ends_with('\n') {
                            full.push('\n');
                        }
                        full.push_str(&h.name);
                    }
                    form = berth_dockerfile::CommandForm::Shell(full.clone());
                    script = full;
                }
                let argv = config::argv(&form, &state.config);
                let env_keys: Vec<String> = config::env_pairs(&state.config)
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect();
                let env: Vec<String> = scope
                    .args()
                    .into_iter()
                    .filter(|(k, _)| !env_keys.contains(k))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                key.add("argv", &argv.join("\0"));
                key.add("args", &env.join("\0"));
                let network = r
                    .network
                    .as_ref()
                    .map(|n| format!("{n:?}").to_ascii_lowercase())
                    .or_else(|| self.opts.network.clone());
                key.add("network", network.as_deref().unwrap_or("default"));
                let mounts = self.run_mounts(&r.mounts, &mut key)?;
                held_dirs.extend(mounts.held);
                Plan::Run(
                    BuildRun {
                        mounts: mounts.mounts,
                        secret_env: mounts.env,
                        layers: state.layers.iter().map(|l| l.chain_id.clone()).collect(),
                        config_json: String::from_utf8_lossy(&state.config_bytes()?).into_owned(),
                        argv,
                        env,
                        network,
                    },
                    script,
                )
            }
            Instruction::Copy(c) => {
                let from = match &c.from {
                    Some(f) => Some(self.root_of(f)?),
                    None => None,
                };
                let req = CopyRequest {
                    instruction: "COPY",
                    sources: &c.sources,
                    dest: &c.dest,
                    chown: c.chown.as_deref(),
                    chmod: c.chmod.as_deref(),
                    heredocs: &c.heredocs,
                    from: from.as_ref(),
                    extract: false,
                    downloads: &[],
                    excludes: &c.excludes,
                    parents: c.parents,
                    link: c.link,
                };
                let (entries, link_key) = self.plan_files(&req, state, &mut key)?;
                linked = link_key;
                Plan::Files(entries)
            }
            Instruction::Add(a) => {
                let downloads = self.downloads(&a.sources, &a.heredocs, a.checksum.as_deref())?;
                let req = CopyRequest {
                    instruction: "ADD",
                    sources: &a.sources,
                    dest: &a.dest,
                    chown: a.chown.as_deref(),
                    chmod: a.chmod.as_deref(),
                    heredocs: &a.heredocs,
                    from: None,
                    extract: true,
                    excludes: &a.excludes,
                    downloads: &downloads
                        .iter()
                        .map(|(u, f)| (u.clone(), f.path().to_owned()))
                        .collect::<Vec<_>>(),
                    parents: false,
                    link: a.link,
                };
                let (planned, link_key) = self.plan_files(&req, state, &mut key)?;
                linked = link_key;
                held.extend(downloads.into_iter().map(|(_, f)| f));
                Plan::Files(planned)
            }
            Instruction::Workdir(w) => {
                let old = config::workdir(&state.config);
                let abs = if w.starts_with('/') {
                    w.clone()
                } else {
                    format!("{}/{w}", old.trim_end_matches('/'))
                };
                let abs = format!("/{}", components(&abs).join("/"));
                if let Some(Value::Object(c)) = state.config.get_mut("config") {
                    c.insert("WorkingDir".into(), json!(abs));
                } else {
                    state.config["config"] = json!({"WorkingDir": abs});
                }
                let lowers = self.lowers(state)?;
                let parts = lowers.resolve(&abs, true);
                let user = state
                    .config
                    .pointer("/config/User")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let (uid, gid) = if user.is_empty() {
                    (0, 0)
                } else {
                    copy::resolve_chown(&user, &lowers).unwrap_or((0, 0))
                };
                let exists = lowers.lstat(&parts).is_some();
                let entries = if exists {
                    Vec::new()
                } else {
                    copy::parent_dirs(&lowers, &[parts], |_| (uid, gid))
                };
                if entries.is_empty() {
                    Plan::Meta
                } else {
                    Plan::Files(entries)
                }
            }
            _ => Plan::Meta,
        };
        if !self.opts.no_cache
            && let Some(hit) = self.cache.get(self.engine, &key_peek(&key))
        {
            *state = hit;
            self.cached += 1;
            let id = state.id()?;
            self.say(" ---> Using cache");
            self.say(&format!(" ---> {}", short(&id)));
            if let Instruction::Cmd(_) = expanded {
                *cmd_from_base = false;
            }
            return Ok(());
        }
        let key = key.finish();
        let parent = state.layers.last().map(|l| l.chain_id.clone());
        match plan {
            Plan::Meta => {
                config::apply(&mut state.config, &expanded, cmd_from_base);
                if !matches!(expanded, Instruction::Arg(_)) {
                    config::record(&mut state.config, &inst.text, None);
                }
            }
            Plan::Files(entries) => {
                let rebased = linked
                    .as_deref()
                    .and_then(|k| self.rebase_linked(k, parent.as_deref()));
                let l = if let Some(l) = rebased {
                    self.cached += 1;
                    self.say(" ---> Using cache (linked layer)");
                    l
                } else {
                    self.ran += 1;
                    let l = layer::commit(self.engine, &entries, parent.as_deref())?;
                    if let Some(k) = &linked {
                        self.remember_linked(k, &l);
                    }
                    l
                };
                config::record(&mut state.config, &inst.text, Some(&l.diff_id));
                state.layers.push(l);
            }
            Plan::Run(run, script) => {
                self.ran += 1;
                let _ = self.out.flush();
                // SAFETY: the caller's descriptor stays open for the build.
                let echo = self.echo.map(|fd| unsafe { BorrowedFd::borrow_raw(fd) });
                let (outcome, tail) = crate::run::run_step(self.engine, &run, echo)?;
                if outcome.code != 0 {
                    return Err(Error::RunFailed {
                        command: script,
                        code: outcome.code,
                        tail,
                    });
                }
                if let Some(l) = outcome.layer {
                    let l: Layer = l.into();
                    config::record(&mut state.config, &inst.text, Some(&l.diff_id));
                    state.layers.push(l);
                }
            }
        }
        state.key = key;
        self.cache.put(state)?;
        let id = state.id()?;
        self.say(&format!(" ---> {}", short(&id)));
        Ok(())
    }
}

/// The key a builder would finish with, without consuming it.
fn key_peek(k: &KeyBuilder) -> String {
    k.peek()
}
