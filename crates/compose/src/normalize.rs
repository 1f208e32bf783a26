//! Normalization after merging: absolute paths (build contexts, bind sources, env files),
//! `env_file` contents folded into `environment`, variables without a value taken from the
//! environment, defaults made explicit (port protocol and mode, `default` network,
//! Dockerfile), and engine-side names for networks and volumes. Running it twice changes
//! nothing, which is what lets `config` output be read back to the same model.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::envfile;
use crate::error::{Error, Result};
use crate::model::{ComposeFile, External, MountType, Service};

/// What normalization needs to know about the project.
pub(crate) struct Context<'a> {
    pub project: &'a str,
    pub project_dir: &'a Path,
    pub environment: &'a BTreeMap<String, String>,
    pub origins: &'a BTreeMap<String, Vec<String>>,
}

impl Context<'_> {
    fn files_of(&self, service: &str) -> String {
        self.origins
            .get(service)
            .map(|f| f.join(", "))
            .unwrap_or_default()
    }

    /// Resolves a host path the way Compose does: `~` is the home directory, relative paths
    /// are relative to the project directory; the result is cleaned lexically.
    fn host_path(&self, p: &str) -> String {
        let expanded = match (p.strip_prefix('~'), self.environment.get("HOME")) {
            (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
                format!("{home}{rest}")
            }
            _ => p.to_string(),
        };
        let path = Path::new(&expanded);
        let joined = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.project_dir.join(path)
        };
        clean(&joined).display().to_string()
    }
}

fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn is_remote_context(context: &str) -> bool {
    context.contains("://") || context.starts_with("git@")
}

pub(crate) fn normalize(model: &mut ComposeFile, ctx: &Context<'_>) -> Result<()> {
    let mut uses_default = false;
    for (name, service) in &mut model.services {
        normalize_service(name, service, ctx)?;
        uses_default |= service.networks.contains_key("default");
    }
    if uses_default {
        model.networks.entry("default".to_string()).or_default();
    }
    for (key, network) in &mut model.networks {
        name_resource(key, &mut network.name, &mut network.external, ctx.project);
    }
    for (key, volume) in &mut model.volumes {
        name_resource(key, &mut volume.name, &mut volume.external, ctx.project);
    }
    Ok(())
}

fn name_resource(key: &str, name: &mut Option<String>, external: &mut External, project: &str) {
    if let External::Named(legacy) = external {
        if name.is_none() {
            *name = Some(legacy.clone());
        }
        *external = External::Yes;
    }
    if name.is_none() {
        *name = Some(if external.is_external() {
            key.to_string()
        } else {
            format!("{project}_{key}")
        });
    }
}

fn normalize_service(name: &str, s: &mut Service, ctx: &Context<'_>) -> Result<()> {
    let invalid = |path: String, message: String| Error::Invalid {
        file: ctx.files_of(name),
        path,
        message,
    };
    if let Some(build) = &mut s.build {
        if !is_remote_context(&build.context) {
            build.context = ctx.host_path(&build.context);
        }
        if build.dockerfile.is_none() {
            build.dockerfile = Some("Dockerfile".to_string());
        }
        for (k, v) in &mut build.args {
            if v.is_none() {
                *v = ctx.environment.get(k).cloned();
            }
        }
    }
    // env_file variables first, so that `environment` wins over them.
    let mut from_files: BTreeMap<String, String> = BTreeMap::new();
    for (i, env_file) in s.env_file.iter_mut().enumerate() {
        env_file.path = ctx.host_path(&env_file.path);
        let path = Path::new(&env_file.path);
        if !path.is_file() {
            if env_file.required {
                return Err(invalid(
                    format!("services.{name}.env_file[{i}]"),
                    format!(
                        "env file {} not found\nhint: create it, or mark it `required: false`",
                        env_file.path
                    ),
                ));
            }
            continue;
        }
        let text = fs_err::read_to_string(path)?;
        for (k, v) in envfile::parse(&text, &env_file.path, ctx.environment)? {
            from_files.insert(k, v);
        }
    }
    for (k, v) in from_files {
        s.environment.entry(k).or_insert(Some(v));
    }
    for (k, v) in &mut s.environment {
        if v.is_none() {
            *v = ctx.environment.get(k).cloned();
        }
    }
    for port in &mut s.ports {
        port.protocol.get_or_insert_with(|| "tcp".to_string());
        port.mode.get_or_insert_with(|| "ingress".to_string());
    }
    for mount in &mut s.volumes {
        if mount.kind == MountType::Bind
            && let Some(src) = &mount.source
        {
            mount.source = Some(ctx.host_path(src));
        }
    }
    // Sharing another service's namespaces or volumes, or linking to it, needs it
    // running first, so Compose makes it a dependency.
    let implicit: Vec<String> = [&s.network_mode, &s.pid, &s.ipc]
        .into_iter()
        .flatten()
        .filter_map(|m| m.strip_prefix("service:"))
        .chain(
            s.volumes_from
                .iter()
                .filter(|v| !v.starts_with("container:"))
                .map(|v| v.split(':').next().unwrap_or_default()),
        )
        .chain(
            s.links
                .iter()
                .map(|l| l.split(':').next().unwrap_or_default()),
        )
        .map(str::to_owned)
        .collect();
    for dep in implicit {
        s.depends_on.entry(dep).or_default();
    }
    if s.networks.is_empty() && s.network_mode.is_none() {
        s.networks.insert("default".to_string(), None);
    }
    if let Some(h) = &mut s.healthcheck
        && h.test
            .as_deref()
            .and_then(<[String]>::first)
            .map(String::as_str)
            == Some("NONE")
    {
        h.test = None;
        h.disable = true;
    }
    let replicas = s.deploy.as_ref().and_then(|d| d.replicas);
    if let (Some(scale), Some(replicas)) = (s.scale, replicas)
        && scale != replicas
    {
        return Err(invalid(
            format!("services.{name}.scale"),
            format!(
                "scale {scale} and deploy.replicas {replicas} disagree\nhint: set only one of them"
            ),
        ));
    }
    Ok(())
}
