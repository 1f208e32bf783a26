//! berth's configuration file, as far as images are concerned, and the registry client
//! built from it.
//!
//! The file is TOML (`/etc/berth/config.toml`, `--root DIR` → `DIR/config.toml`, or
//! `--config FILE`); a missing file means defaults. Keys used here:
//!
//! ```toml
//! # registries (host[:port]) that may be reached over plain HTTP or with unverified TLS;
//! # loopback registries (localhost, 127.0.0.0/8, ::1) are allowed without being listed
//! insecure_registries = ["registry.lan:5000"]
//! # mirrors tried in order before Docker Hub for pulls
//! registry_mirrors = ["https://mirror.example", "http://127.0.0.1:5001"]
//! ```
//!
//! Credentials are not kept here but in Docker's `config.json` (`$DOCKER_CONFIG` or
//! `~/.docker/`), shared with the docker CLI.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_image::registry::{Client, ClientOptions, DockerConfig};
use serde::Deserialize;

use crate::Engine;
use crate::error::{Error, Result};

/// The image-related part of berth's configuration file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct RegistryConfig {
    /// Registries that may use plain HTTP or unverified TLS.
    pub insecure_registries: Vec<String>,
    /// Docker Hub mirrors, tried in order.
    pub registry_mirrors: Vec<String>,
}

#[derive(Deserialize)]
struct File {
    #[serde(flatten)]
    registry: RegistryConfig,
    // Other sections belong to other parts of berth.
    #[serde(flatten)]
    _rest: toml::Table,
}

impl RegistryConfig {
    /// Reads the file; a missing file gives the defaults.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file and the TOML error (line and column).
    pub fn load(path: &Path) -> Result<RegistryConfig> {
        let text = match fs_err::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(Error::io(path, e)),
        };
        let f: File = toml::from_str(&text).map_err(|e| Error::Config {
            path: path.to_owned(),
            reason: e.to_string().trim_end().to_owned(),
        })?;
        Ok(f.registry)
    }
}

/// The directory of Docker's `config.json` (credentials): `$DOCKER_CONFIG`, else
/// `~/.docker`.
pub fn docker_config_dir() -> PathBuf {
    DockerConfig::default_dir(None)
}

impl Engine {
    /// Registry client options from berth's configuration file.
    ///
    /// # Errors
    /// A malformed configuration file.
    pub fn client_options(&self) -> Result<ClientOptions> {
        let cfg = RegistryConfig::load(&self.paths.config)?;
        Ok(ClientOptions {
            insecure_registries: cfg.insecure_registries,
            mirrors: cfg.registry_mirrors,
            ..ClientOptions::default()
        })
    }

    /// A registry client with berth's options and Docker's stored credentials.
    ///
    /// # Errors
    /// A malformed configuration or credentials file.
    pub fn registry_client(&self) -> Result<Arc<Client>> {
        let creds = DockerConfig::load(&docker_config_dir())?;
        Ok(Arc::new(Client::new(self.client_options()?, Some(creds))?))
    }

    /// `berth login`: checks the credentials against the registry and stores them.
    ///
    /// # Errors
    /// The registry refusing them, I/O errors.
    pub fn login(&self, server: &str, username: &str, password: &str) -> Result<()> {
        let opts = self.client_options()?;
        let dir = docker_config_dir();
        super::runtime::block_on(berth_image::registry::login(
            opts, &dir, server, username, password,
        ))??;
        Ok(())
    }

    /// `berth logout`: forgets the credentials; says whether there were any.
    ///
    /// # Errors
    /// I/O errors.
    pub fn logout(&self, server: &str) -> Result<bool> {
        Ok(berth_image::registry::logout(&docker_config_dir(), server)?)
    }

    /// `berth search`: repositories of `host` whose name contains `term`.
    ///
    /// # Errors
    /// [`berth_image::Error::SearchUnsupported`] where the registry cannot list.
    pub fn search(&self, host: &str, term: &str) -> Result<Vec<String>> {
        let client = self.registry_client()?;
        Ok(super::runtime::block_on(async {
            client.search(host, term).await
        })??)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_toml_and_reports_errors_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        assert_eq!(RegistryConfig::load(&p).unwrap(), RegistryConfig::default());
        fs_err::write(
            &p,
            "insecure_registries = [\"r:5000\"]\nregistry_mirrors = [\"http://m\"]\n[other]\nx = 1\n",
        )
        .unwrap();
        let c = RegistryConfig::load(&p).unwrap();
        assert_eq!(c.insecure_registries, ["r:5000"]);
        assert_eq!(c.registry_mirrors, ["http://m"]);
        fs_err::write(&p, "insecure_registries = 5\n").unwrap();
        let e = RegistryConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("config.toml") && e.contains("line 1"), "{e}");
    }
}
