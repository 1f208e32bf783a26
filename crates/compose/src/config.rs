//! `config`: the resolved model as YAML in Docker Compose's canonical shape — long syntax
//! for ports and volumes, `environment` as a map, absolute paths, the project `name:`, keys
//! in a fixed order — so that the output is deterministic and reads back to the same model.

use crate::error::{Error, Result};
use crate::load::Project;
use crate::model::ComposeFile;

/// The model `config` prints: the project with only its active services.
pub fn resolved(project: &Project) -> ComposeFile {
    let mut model = project.model.clone();
    model.name = Some(project.name.clone());
    model.services.retain(|name, _| project.is_active(name));
    model
}

/// Renders [`resolved`] as YAML.
pub fn render(project: &Project) -> Result<String> {
    serde_yaml_ng::to_string(&resolved(project)).map_err(|e| Error::Invalid {
        file: project
            .config_files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        path: ".".to_string(),
        message: format!("cannot print the model: {e}"),
    })
}
