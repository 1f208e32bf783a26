//! Loading a project: each file is parsed (YAML errors with line and column), merge keys
//! applied, interpolated, read into the model (unknown keys become warnings, bad values
//! errors naming the file and key path), printed back in canonical form, merged with the
//! others, then normalized and validated.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_yaml_ng::Value;

use crate::error::{Error, Result, Warning};
use crate::find::{self, ProjectOptions, ProjectSources};
use crate::interpolate::interpolate_tree;
use crate::merge::merge;
use crate::model::{ComposeFile, External, Service};
use crate::{normalize, validate};

/// A loaded, normalized and validated project.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// Project name.
    pub name: String,
    /// Project directory.
    pub working_dir: PathBuf,
    /// The Compose files, in merge order.
    pub config_files: Vec<PathBuf>,
    /// The merged, normalized model (all services, active or not).
    pub model: ComposeFile,
    /// Active profiles.
    pub profiles: Vec<String>,
    /// The interpolation environment.
    pub environment: BTreeMap<String, String>,
    /// Non-fatal problems, in the order found.
    pub warnings: Vec<Warning>,
}

impl Project {
    /// Whether a service is enabled by the active profiles (no profiles = always).
    pub fn is_active(&self, service: &str) -> bool {
        self.model.services.get(service).is_some_and(|s| {
            s.profiles.is_empty()
                || s.profiles
                    .iter()
                    .any(|p| p == "*" || self.profiles.contains(p))
                || self.profiles.iter().any(|p| p == "*")
        })
    }

    /// Active services by name.
    pub fn active_services(&self) -> impl Iterator<Item = (&String, &Service)> {
        self.model
            .services
            .iter()
            .filter(|(name, _)| self.is_active(name))
    }
}

/// Finds and loads the project the options describe.
pub fn load(opts: &ProjectOptions) -> Result<Project> {
    let sources = find::discover(opts)?;
    load_sources(&sources)
}

/// Loads a project from already discovered sources.
pub fn load_sources(sources: &ProjectSources) -> Result<Project> {
    let mut files = Vec::new();
    for path in &sources.files {
        files.push((
            label(&sources.project_dir, path),
            fs_err::read_to_string(path)?,
        ));
    }
    load_texts(sources, &files)
}

/// Loads a project from file texts (`(label, text)` in merge order); `sources.files` is only
/// used for the `config_files` label.
pub fn load_texts(sources: &ProjectSources, files: &[(String, String)]) -> Result<Project> {
    let mut warnings = Vec::new();
    let mut merged = Value::Mapping(serde_yaml_ng::Mapping::new());
    let mut origins: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (file, text) in files {
        let model = parse_file(text, file, &sources.environment, &mut warnings)?;
        for name in model.services.keys() {
            origins.entry(name.clone()).or_default().push(file.clone());
        }
        let canonical = serde_yaml_ng::to_value(&model).map_err(|e| Error::Invalid {
            file: file.clone(),
            path: ".".to_string(),
            message: e.to_string(),
        })?;
        merge(&mut merged, canonical);
    }
    let all_files = files
        .iter()
        .map(|(f, _)| f.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut model: ComposeFile = from_value(merged, &all_files, &mut Vec::new())?;
    let name = match (&sources.name_override, &model.name) {
        (Some(n), _) => n.clone(),
        (None, Some(n)) => find::check_project_name(n, &format!("name: in {all_files}"))?,
        (None, None) => {
            let dir = sources
                .project_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            find::normalize_project_name(&dir)
        }
    };
    model.name = Some(name.clone());
    let ctx = normalize::Context {
        project: &name,
        project_dir: &sources.project_dir,
        environment: &sources.environment,
        origins: &origins,
    };
    normalize::normalize(&mut model, &ctx)?;
    validate::validate(&model, &origins)?;
    Ok(Project {
        name,
        working_dir: sources.project_dir.clone(),
        config_files: sources.files.clone(),
        model,
        profiles: sources.profiles.clone(),
        environment: sources.environment.clone(),
        warnings,
    })
}

/// The name a file is shown by: relative to the project directory when inside it.
fn label(project_dir: &Path, path: &Path) -> String {
    path.strip_prefix(project_dir)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Parses one file into the model: YAML, merge keys, interpolation, model.
pub fn parse_file(
    text: &str,
    file: &str,
    env: &BTreeMap<String, String>,
    warnings: &mut Vec<Warning>,
) -> Result<ComposeFile> {
    let mut tree: Value = serde_yaml_ng::from_str(text).map_err(|e| yaml_error(file, &e))?;
    if tree.is_null() {
        tree = Value::Mapping(serde_yaml_ng::Mapping::new());
    }
    tree.apply_merge().map_err(|e| Error::Invalid {
        file: file.to_string(),
        path: "<<".to_string(),
        message: e.to_string(),
    })?;
    strip_tags(&mut tree, "", file, warnings);
    interpolate_tree(&mut tree, file, &|k| env.get(k).cloned(), warnings)?;
    let mut model = from_value(tree, file, warnings)?;
    lift_legacy_external(&mut model, file, warnings);
    if model.version.is_some() {
        warnings.push(Warning {
            file: file.to_string(),
            path: "version".to_string(),
            message: "the attribute is obsolete and ignored".to_string(),
        });
    }
    Ok(model)
}

/// `external: {name: N}` becomes `external: true` + `name: N` here, before the canonical
/// form (which prints `external` as a bool) would lose the name.
fn lift_legacy_external(model: &mut ComposeFile, file: &str, warnings: &mut Vec<Warning>) {
    let resources = model
        .networks
        .iter_mut()
        .map(|(k, n)| (format!("networks.{k}"), &mut n.external, &mut n.name))
        .chain(
            model
                .volumes
                .iter_mut()
                .map(|(k, v)| (format!("volumes.{k}"), &mut v.external, &mut v.name)),
        );
    for (path, external, name) in resources {
        if let External::Named(legacy) = external {
            if name.is_none() {
                *name = Some(legacy.clone());
            }
            *external = External::Yes;
            warnings.push(Warning {
                file: file.to_string(),
                path: format!("{path}.external.name"),
                message: "deprecated, use `name:` beside `external: true`".to_string(),
            });
        }
    }
}

fn yaml_error(file: &str, e: &serde_yaml_ng::Error) -> Error {
    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    let text = e.to_string();
    // The parser writes the location inside its message; we print it first instead and keep
    // the context ("while parsing a block mapping at line 2 column 3").
    let message = text.replacen(&format!(" at line {line} column {column}"), "", 1);
    Error::Yaml {
        file: file.to_string(),
        line,
        column,
        message,
    }
}

/// `!reset`/`!override` and other tags are not supported yet: their values are used as
/// written, with a warning naming the tag.
fn strip_tags(node: &mut Value, path: &str, file: &str, warnings: &mut Vec<Warning>) {
    match node {
        Value::Tagged(t) => {
            warnings.push(Warning {
                file: file.to_string(),
                path: path.to_string(),
                message: format!(
                    "YAML tag {} is not supported yet, the value is used as written",
                    t.tag
                ),
            });
            let inner = std::mem::take(&mut t.value);
            *node = inner;
            strip_tags(node, path, file, warnings);
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                strip_tags(item, &format!("{path}[{i}]"), file, warnings);
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let key = crate::interpolate::key_text(k);
                let child = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                strip_tags(v, &child, file, warnings);
            }
        }
        _ => {}
    }
}

fn unsupported_keys() -> &'static BTreeSet<&'static str> {
    static KEYS: OnceLock<BTreeSet<&'static str>> = OnceLock::new();
    KEYS.get_or_init(|| {
        include_str!("unsupported_keys.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

fn ignored_path(path: &serde_ignored::Path<'_>) -> Vec<String> {
    use serde_ignored::Path as P;
    match path {
        P::Root => Vec::new(),
        P::Seq { parent, index } => {
            let mut v = ignored_path(parent);
            match v.last_mut() {
                Some(last) => last.push_str(&format!("[{index}]")),
                None => v.push(format!("[{index}]")),
            }
            v
        }
        P::Map { parent, key } => {
            let mut v = ignored_path(parent);
            v.push(key.clone());
            v
        }
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            ignored_path(parent)
        }
    }
}

/// Reads a tree into the model, collecting unknown keys as warnings.
fn from_value(tree: Value, file: &str, warnings: &mut Vec<Warning>) -> Result<ComposeFile> {
    let mut unknown = Vec::new();
    let mut callback = |path: serde_ignored::Path<'_>| unknown.push(ignored_path(&path));
    let de = serde_ignored::Deserializer::new(tree, &mut callback);
    let model: ComposeFile = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        Error::Invalid {
            file: file.to_string(),
            path,
            message: e.into_inner().to_string(),
        }
    })?;
    for segments in unknown {
        if segments.iter().any(|s| s.starts_with("x-")) {
            continue;
        }
        let key = segments.last().map(String::as_str).unwrap_or_default();
        let key = key.split('[').next().unwrap_or_default();
        let message = if unsupported_keys().contains(key) {
            "not supported by berth yet, ignored"
        } else {
            "unknown key, ignored"
        };
        warnings.push(Warning {
            file: file.to_string(),
            path: segments.join("."),
            message: message.to_string(),
        });
    }
    Ok(model)
}
