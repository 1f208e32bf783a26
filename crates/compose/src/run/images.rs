//! Images of services: building (`build:`), pulling (`image:`), pushing, and deciding
//! which of the two `up` needs (`--build`, `pull_policy`, a missing image).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use berth_build::{BuildOptions, Context};
use berth_dockerfile::{IgnoreMatcher, ignore_file_candidates};
use berth_engine::images::PullOptions;

use super::{Compose, Kind, Reporter, progress, report};
use crate::error::{Error, Result};
use crate::plan::{LABEL_PROJECT, LABEL_SERVICE, ServicePlan};

/// Flags of `build` (and of `up --build`).
#[derive(Debug, Clone, Default)]
pub struct BuildFlags {
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--pull`: pull the base images again.
    pub pull: bool,
    /// Where `RUN` output is echoed (none: not shown).
    pub step_output: Option<std::os::fd::RawFd>,
}

impl Compose<'_> {
    /// The image a service runs: `image:`, else `<project>-<service>` for a built one.
    pub fn image_name(&self, sp: &ServicePlan) -> String {
        sp.service
            .image
            .clone()
            .unwrap_or_else(|| format!("{}-{}", self.project.name, sp.name))
    }

    fn has_image(&self, name: &str) -> bool {
        self.engine.find_image(name).is_ok()
    }

    /// Builds the image of one service; `out` gets the builder's step lines.
    pub fn build_service(
        &self,
        sp: &ServicePlan,
        flags: &BuildFlags,
        out: &mut dyn Write,
        r: Reporter<'_>,
    ) -> Result<String> {
        let Some(b) = &sp.service.build else {
            return Err(Error::NoImage {
                service: sp.name.clone(),
            });
        };
        let image = self.image_name(sp);
        progress(r, Kind::Image, &image, "Building");
        let invalid = |message: String| Error::Invalid {
            file: self.config_files(),
            path: format!("services.{}.build", sp.name),
            message,
        };
        if b.context.contains("://") || b.context.starts_with("git@") {
            return Err(invalid(format!(
                "remote build context {:?} is not supported yet\nhint: clone it and point context at the directory",
                b.context
            )));
        }
        let root = PathBuf::from(&b.context);
        if !root.is_dir() {
            return Err(invalid(format!(
                "build context {} is not a directory",
                root.display()
            )));
        }
        let df_name = b.dockerfile.clone().unwrap_or_else(|| "Dockerfile".into());
        let df_path = if Path::new(&df_name).is_absolute() {
            PathBuf::from(&df_name)
        } else {
            root.join(&df_name)
        };
        let text = fs_err::read_to_string(&df_path)?;
        let mut ignore = IgnoreMatcher::default();
        for c in ignore_file_candidates(&df_path) {
            let p = if c.is_absolute() { c } else { root.join(c) };
            if let Ok(t) = fs_err::read_to_string(&p) {
                ignore = IgnoreMatcher::parse_named(&t, &p.display().to_string())?;
                break;
            }
        }
        let mut opts = BuildOptions::new(text, df_name, Context::dir(&root, ignore));
        opts.tags = vec![image.clone()];
        opts.build_args = b
            .args
            .iter()
            .filter_map(|(k, v)| {
                v.clone()
                    .or_else(|| self.project.environment.get(k).cloned())
                    .map(|v| (k.clone(), v))
            })
            .collect::<HashMap<_, _>>();
        opts.target.clone_from(&b.target);
        opts.no_cache = flags.no_cache || b.no_cache;
        opts.pull = flags.pull || b.pull;
        opts.labels = b
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        opts.labels
            .push((LABEL_PROJECT.into(), self.project.name.clone()));
        opts.labels.push((LABEL_SERVICE.into(), sp.name.clone()));
        opts.network.clone_from(&b.network);
        opts.step_output = flags.step_output;
        let outcome =
            berth_build::build(self.engine, &opts, out).map_err(|source| Error::Build {
                service: sp.name.clone(),
                source: Box::new(source),
            })?;
        report(r, Kind::Image, &image, "Built");
        Ok(outcome.id)
    }

    /// Pulls the image of one service.
    pub fn pull_service(&self, sp: &ServicePlan, r: Reporter<'_>) -> Result<()> {
        let Some(image) = &sp.service.image else {
            return Err(Error::NoImage {
                service: sp.name.clone(),
            });
        };
        progress(r, Kind::Image, image, "Pulling");
        self.engine
            .pull(image, &PullOptions::default(), &mut |_| {})?;
        report(r, Kind::Image, image, "Pulled");
        Ok(())
    }

    /// Pushes the image of one service.
    pub fn push_service(&self, sp: &ServicePlan, r: Reporter<'_>) -> Result<()> {
        let image = self.image_name(sp);
        progress(r, Kind::Image, &image, "Pushing");
        self.engine.push(&image, &mut |_| {})?;
        report(r, Kind::Image, &image, "Pushed");
        Ok(())
    }

    /// Makes sure every planned service has its image: builds where asked (`--build`,
    /// `pull_policy: build`) or where a `build:` service's image is missing, pulls where
    /// the image is missing or `pull_policy: always`. `no_build` never builds.
    pub(crate) fn ensure_images(
        &self,
        services: &[&ServicePlan],
        build: bool,
        no_build: bool,
        out: &mut dyn Write,
        r: Reporter<'_>,
    ) -> Result<()> {
        for sp in services {
            let image = self.image_name(sp);
            let policy = sp.service.pull_policy.as_deref();
            let present = self.has_image(&image);
            let can_build = sp.service.build.is_some() && !no_build;
            if can_build && (build || policy == Some("build") || !present) {
                self.build_service(sp, &BuildFlags::default(), out, r)?;
            } else if policy == Some("always") || (!present && policy != Some("never")) {
                if sp.service.image.is_none() {
                    return Err(Error::NoImage {
                        service: sp.name.clone(),
                    });
                }
                self.pull_service(sp, r)?;
            }
        }
        Ok(())
    }

    pub(crate) fn config_files(&self) -> String {
        self.project
            .config_files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
