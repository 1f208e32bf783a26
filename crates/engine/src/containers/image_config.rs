//! The part of an image's config (Docker/OCI `config` object) that shapes a container.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `config` of an image config blob, with Docker's field names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImageConfig {
    /// `KEY=VALUE` pairs.
    #[serde(deserialize_with = "null_as_default")]
    pub env: Vec<String>,
    /// Default command.
    #[serde(deserialize_with = "null_as_default")]
    pub cmd: Vec<String>,
    /// Entrypoint.
    #[serde(deserialize_with = "null_as_default")]
    pub entrypoint: Vec<String>,
    /// Working directory.
    pub working_dir: String,
    /// `user[:group]`.
    pub user: String,
    /// Anonymous volumes (keys are paths).
    #[serde(deserialize_with = "null_as_default")]
    pub volumes: BTreeMap<String, serde_json::Value>,
    /// Signal that stops it.
    pub stop_signal: String,
    /// Ports (`80/tcp`).
    #[serde(deserialize_with = "null_as_default")]
    pub exposed_ports: BTreeMap<String, serde_json::Value>,
    /// Labels.
    #[serde(deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    /// `HEALTHCHECK`.
    pub healthcheck: Option<crate::containers::options::Healthcheck>,
    /// `SHELL`: what runs the shell form (`CMD-SHELL` health checks); empty for
    /// `/bin/sh -c`.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub shell: Vec<String>,
}

pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize)]
struct Whole {
    #[serde(default, deserialize_with = "null_as_default")]
    config: ImageConfig,
}

impl ImageConfig {
    /// Reads the `config` object of a whole image config JSON document.
    pub fn from_image_json(json: &str) -> crate::Result<ImageConfig> {
        serde_json::from_str::<Whole>(json)
            .map(|w| w.config)
            .map_err(|e| crate::Error::Json {
                what: "image config".into(),
                source: e,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_fields_and_nulls() {
        let c = ImageConfig::from_image_json(
            r#"{"architecture":"amd64","config":{"Env":["PATH=/bin"],"Cmd":["sh"],"Entrypoint":null,
            "WorkingDir":"/w","User":"nobody","Volumes":{"/data":{}},"StopSignal":"SIGQUIT",
            "ExposedPorts":{"80/tcp":{}},"Labels":null}}"#,
        )
        .unwrap();
        assert_eq!(c.env, vec!["PATH=/bin"]);
        assert_eq!(c.cmd, vec!["sh"]);
        assert!(c.entrypoint.is_empty());
        assert_eq!(c.working_dir, "/w");
        assert!(c.volumes.contains_key("/data"));
        assert_eq!(c.stop_signal, "SIGQUIT");
        assert!(
            ImageConfig::from_image_json(r#"{"rootfs":{}}"#)
                .unwrap()
                .cmd
                .is_empty()
        );
    }
}
