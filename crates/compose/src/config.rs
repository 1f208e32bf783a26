//! `config`: the resolved model as YAML in Docker Compose's canonical shape — long syntax
//! for ports and volumes, `environment` as a map, absolute paths, the project `name:`, keys
//! in a fixed order — so that the output is deterministic and reads back to the same model.

use serde_yaml_ng::Value;

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

/// Renders [`resolved`] as YAML. Every `$` is written as `$$`, so that reading the output
/// back (which interpolates again) gives the same values.
pub fn render(project: &Project) -> Result<String> {
    let fail = |e: serde_yaml_ng::Error| Error::Invalid {
        file: project
            .config_files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        path: ".".to_string(),
        message: format!("cannot print the model: {e}"),
    };
    let mut tree = serde_yaml_ng::to_value(resolved(project)).map_err(fail)?;
    escape_dollars(&mut tree);
    serde_yaml_ng::to_string(&tree).map_err(fail)
}

fn escape_dollars(node: &mut Value) {
    match node {
        Value::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Value::Sequence(items) => items.iter_mut().for_each(escape_dollars),
        Value::Mapping(map) => map.values_mut().for_each(escape_dollars),
        Value::Tagged(t) => escape_dollars(&mut t.value),
        _ => {}
    }
}
