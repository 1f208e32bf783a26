use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_compose::Result;
use berth_compose::find::ProjectSources;
use berth_compose::load::{Project, load_texts};

/// Sources for an in-memory project in `/srv/demo`.
pub fn sources(env: &[(&str, &str)]) -> ProjectSources {
    ProjectSources {
        files: vec![PathBuf::from("/srv/demo/compose.yaml")],
        project_dir: PathBuf::from("/srv/demo"),
        environment: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        profiles: Vec::new(),
        name_override: None,
    }
}

/// Loads one in-memory `compose.yaml`.
pub fn try_project(yaml: &str, env: &[(&str, &str)]) -> Result<Project> {
    load_texts(
        &sources(env),
        &[("compose.yaml".to_string(), yaml.to_string())],
    )
}

/// As [`try_project`], panicking with the error text.
pub fn project(yaml: &str) -> Project {
    try_project(yaml, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// The error text for a project that must not load.
pub fn error(yaml: &str) -> String {
    match try_project(yaml, &[]) {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}
