//! A Distribution API v2 client: pull and push manifests and blobs, with token and basic
//! authentication, retries, mirrors, and plain HTTP only where it is allowed.
//!
//! TLS is verified unless a registry is listed as insecure. Plain HTTP is used only for
//! insecure registries and loopback addresses, and even there HTTPS is tried first, as
//! Docker does. Blobs come back as [`BlobReader`]s that check the digest while streaming.

mod challenge;
pub mod credentials;
pub mod helper;
mod pull;
mod push;
mod transport;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

pub use credentials::{Credential, DockerConfig};
pub use helper::CredentialHelper;
pub use pull::{BlobReader, ResolvedImage, ResolvedManifest};
pub use push::PushOutcome;

use crate::error::{Error, Result};

/// How a [`Client`] talks to registries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Registries (`host[:port]`) that may use plain HTTP or unverified TLS.
    pub insecure_registries: Vec<String>,
    /// Mirrors for Docker Hub, tried in order before it for pulls (`https://mirror.example`,
    /// `http://127.0.0.1:5000`; a bare host means HTTPS).
    pub mirrors: Vec<String>,
    /// How often a request is retried after a connection error or a 5xx answer.
    pub retries: u32,
    /// The first retry's delay; each further retry waits twice as long (at most 10 s).
    pub backoff: Duration,
    /// Blobs larger than this are uploaded in chunks (PATCH); smaller ones in one PUT.
    pub chunk_size: usize,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            insecure_registries: Vec::new(),
            mirrors: Vec::new(),
            retries: 4,
            backoff: Duration::from_millis(250),
            chunk_size: 16 << 20,
            user_agent: concat!("berth/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// A registry client. Cheap to share (`Arc`); caches tokens and each host's scheme.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    http_insecure: reqwest::Client,
    opts: ClientOptions,
    config: Option<DockerConfig>,
    overrides: HashMap<String, Credential>,
    /// Credentials looked up per host: a credential helper is a process, run once.
    looked_up: Mutex<HashMap<String, Option<Credential>>>,
    state: Mutex<transport::State>,
}

impl Client {
    /// A client with credentials from `config` (a loaded Docker `config.json`), if any.
    ///
    /// # Errors
    /// [`Error::Protocol`] if the HTTP client cannot be built (no TLS roots at all).
    pub fn new(opts: ClientOptions, config: Option<DockerConfig>) -> Result<Self> {
        let build = |insecure: bool| {
            reqwest::Client::builder()
                .user_agent(opts.user_agent.clone())
                .connect_timeout(Duration::from_secs(30))
                .read_timeout(Duration::from_secs(120))
                .danger_accept_invalid_certs(insecure)
                .build()
                .map_err(|e| Error::Protocol {
                    registry: "-".to_owned(),
                    reason: format!("cannot build HTTP client: {e}"),
                })
        };
        Ok(Self {
            http: build(false)?,
            http_insecure: build(true)?,
            opts,
            config,
            overrides: HashMap::new(),
            looked_up: Mutex::new(HashMap::new()),
            state: Mutex::new(transport::State::default()),
        })
    }

    /// Uses `credential` for `host` instead of what `config.json` says (for `login`).
    #[must_use]
    pub fn with_credential(mut self, host: &str, credential: Credential) -> Self {
        self.overrides.insert(host.to_owned(), credential);
        self
    }

    /// The options in use.
    #[must_use]
    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    fn credential(&self, host: &str) -> Result<Option<Credential>> {
        if let Some(c) = self.overrides.get(host) {
            return Ok(Some(c.clone()));
        }
        let Some(config) = &self.config else {
            return Ok(None);
        };
        let cache = |m: &Mutex<HashMap<String, Option<Credential>>>| {
            m.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(host)
                .cloned()
        };
        if let Some(c) = cache(&self.looked_up) {
            return Ok(c);
        }
        let c = config.credential(host)?;
        self.looked_up
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(host.to_owned(), c.clone());
        Ok(c)
    }

    fn is_insecure(&self, host: &str) -> bool {
        self.opts.insecure_registries.iter().any(|h| h == host)
    }
}

/// Whether `host[:port]` names this machine (`localhost`, 127.0.0.0/8, `::1`): such
/// registries may use plain HTTP without being configured insecure, as with Docker.
#[must_use]
pub fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Verifies `username`/`password` against `host` and, when they work, stores them in the
/// `config.json` under `config_dir` (mode 0600, atomic replace), as `docker login` does.
///
/// # Errors
/// [`Error::Unauthorized`] when the registry refuses them; I/O errors writing the file.
pub async fn login(
    opts: ClientOptions,
    config_dir: &std::path::Path,
    host: &str,
    username: &str,
    password: &str,
) -> Result<()> {
    let credential = Credential::Basic {
        username: username.to_owned(),
        password: password.to_owned(),
    };
    let api_host = api_host(host);
    let client = Client::new(opts, None)?.with_credential(&api_host, credential);
    client.check_login(&api_host).await?;
    let mut config = DockerConfig::load(config_dir)?;
    config.store_credential(host, username, password)?;
    config.save()
}

/// Removes the stored credentials for `host` (from its credential helper too); says
/// whether there were any.
///
/// # Errors
/// I/O errors reading or writing the file.
pub fn logout(config_dir: &std::path::Path, host: &str) -> Result<bool> {
    let mut config = DockerConfig::load(config_dir)?;
    let removed = config.forget(host)?;
    if removed {
        config.save()?;
    }
    Ok(removed)
}

/// `docker.io` (and its old names) → the API host; other hosts unchanged.
fn api_host(host: &str) -> String {
    match host {
        "docker.io" | "index.docker.io" | "https://index.docker.io/v1/" => {
            crate::reference::DOCKER_HUB_API.to_owned()
        }
        h => h.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_table() {
        for h in [
            "localhost",
            "localhost:5000",
            "127.0.0.1",
            "127.1.2.3:80",
            "[::1]:5000",
            "[::1]",
            "LOCALHOST:1",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "example.com",
            "10.0.0.1:5000",
            "[::2]:5000",
            "localhost.example.com",
            "128.0.0.1",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
