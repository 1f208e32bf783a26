//! Docker-compatible credentials: `config.json`'s `auths` section, read for every registry
//! request and written by `login`/`logout`.
//!
//! The file is found like the docker CLI finds it: the `--config DIR` given, else
//! `$DOCKER_CONFIG`, else `~/.docker`. Fields berth does not know are kept as they were.
//! A registry named in `credHelpers`, or any registry when `credsStore` is set, keeps its
//! secret in a credential helper instead (see [`super::helper`]); the file then holds only an
//! empty `auths` entry for it, as Docker writes.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value};

use super::helper::CredentialHelper;
use crate::error::{Error, Result};
use crate::reference::{DOCKER_HUB, DOCKER_HUB_API};

/// The key Docker uses for Docker Hub in `auths`.
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// What to send a registry to prove who we are.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A user name and password (or personal access token).
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// An OAuth refresh token (`identitytoken`) as written by `docker login` for some
    /// registries.
    IdentityToken {
        /// The token.
        token: String,
    },
}

impl std::fmt::Debug for Credential {
    // Never print secrets, even in debug logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Self::IdentityToken { .. } => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

/// A loaded `config.json`.
#[derive(Clone)]
pub struct DockerConfig {
    path: PathBuf,
    doc: Map<String, Value>,
}

impl std::fmt::Debug for DockerConfig {
    // The document holds credentials; show only where it came from.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerConfig")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl DockerConfig {
    /// The directory holding `config.json`: `dir_override` (berth's `--config`), else
    /// `$DOCKER_CONFIG`, else `$HOME/.docker`.
    #[must_use]
    pub fn default_dir(dir_override: Option<&Path>) -> PathBuf {
        if let Some(d) = dir_override {
            return d.to_path_buf();
        }
        if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
            return PathBuf::from(d);
        }
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
        home.join(".docker")
    }

    /// Loads `DIR/config.json`; a missing file is an empty config.
    ///
    /// # Errors
    /// I/O errors other than not-found, [`Error::AuthConfig`] for malformed content.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("config.json");
        let doc = match fs_err::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(m)) => m,
                Ok(_) => {
                    return Err(Error::AuthConfig {
                        path,
                        reason: "not a JSON object".to_owned(),
                    });
                }
                Err(e) => {
                    return Err(Error::AuthConfig {
                        path,
                        reason: e.to_string(),
                    });
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(Self { path, doc })
    }

    /// The file this config was loaded from (and is saved to).
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The credential stored for a registry host, looked up under any of the spellings
    /// Docker writes (`host`, `https://host`, `http://host/v1/`, Docker Hub's URL).
    ///
    /// # Errors
    /// [`Error::AuthConfig`] when the stored `auth` is not base64 of `user:password`.
    /// A credential helper, when one applies to `host`, is asked first; what it does not
    /// know falls back to the file.
    pub fn credential(&self, host: &str) -> Result<Option<Credential>> {
        if let Some(helper) = self.helper_for(host) {
            if let Some(c) = helper.get(&auth_key(host))? {
                return Ok(Some(c));
            }
        }
        self.file_credential(host)
    }

    /// The credential helper for `host`: its `credHelpers` entry, else `credsStore`.
    #[must_use]
    pub fn helper_for(&self, host: &str) -> Option<CredentialHelper> {
        let want = canonical_host(host);
        let named = |v: &Value| {
            v.as_str()
                .filter(|s| !s.is_empty())
                .map(CredentialHelper::new)
        };
        if let Some(Value::Object(helpers)) = self.doc.get("credHelpers")
            && let Some(h) = helpers
                .iter()
                .find(|(k, _)| canonical_host(k) == want)
                .and_then(|(_, v)| named(v))
        {
            return Some(h);
        }
        self.doc.get("credsStore").and_then(named)
    }

    /// Stores credentials for `host` as `docker login` does: in its credential helper
    /// when one applies (leaving an empty `auths` entry), else base64 in the file. The
    /// caller saves the file.
    ///
    /// # Errors
    /// [`Error::CredentialHelper`] when the helper fails.
    pub fn store_credential(&mut self, host: &str, username: &str, password: &str) -> Result<()> {
        match self.helper_for(host) {
            Some(helper) => {
                helper.store(&auth_key(host), username, password)?;
                self.remove(host);
                self.insert_auth(auth_key(host), Map::new());
            }
            None => self.set_basic(host, username, password),
        }
        Ok(())
    }

    /// Forgets `host` in its credential helper (if any) and in the file; says whether
    /// either had it. The caller saves the file.
    ///
    /// # Errors
    /// [`Error::CredentialHelper`] when the helper fails.
    pub fn forget(&mut self, host: &str) -> Result<bool> {
        let in_helper = match self.helper_for(host) {
            Some(helper) => helper.erase(&auth_key(host))?,
            None => false,
        };
        Ok(self.remove(host) || in_helper)
    }

    fn insert_auth(&mut self, key: String, entry: Map<String, Value>) {
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        if let Some(m) = auths.as_object_mut() {
            m.insert(key, Value::Object(entry));
        }
    }

    fn file_credential(&self, host: &str) -> Result<Option<Credential>> {
        let want = canonical_host(host);
        let Some(Value::Object(auths)) = self.doc.get("auths") else {
            return Ok(None);
        };
        for (key, entry) in auths {
            if canonical_host(key) != want {
                continue;
            }
            let field = |name: &str| {
                entry
                    .get(name)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            };
            if let Some(token) = field("identitytoken") {
                return Ok(Some(Credential::IdentityToken {
                    token: token.to_owned(),
                }));
            }
            if let Some(auth) = field("auth") {
                let bad = |reason: &str| Error::AuthConfig {
                    path: self.path.clone(),
                    reason: format!("auths.{key}.auth: {reason}"),
                };
                let raw = B64.decode(auth.trim()).map_err(|_| bad("not base64"))?;
                let text = String::from_utf8(raw).map_err(|_| bad("not UTF-8"))?;
                let (u, p) = text
                    .split_once(':')
                    .ok_or_else(|| bad("expected user:password"))?;
                return Ok(Some(Credential::Basic {
                    username: u.to_owned(),
                    password: p.to_owned(),
                }));
            }
            if let (Some(u), Some(p)) = (field("username"), field("password")) {
                return Ok(Some(Credential::Basic {
                    username: u.to_owned(),
                    password: p.to_owned(),
                }));
            }
        }
        Ok(None)
    }

    /// Stores `user:password` for `host` (replacing other spellings of the same host).
    pub fn set_basic(&mut self, host: &str, username: &str, password: &str) {
        self.remove(host);
        let key = auth_key(host);
        let mut entry = Map::new();
        entry.insert(
            "auth".to_owned(),
            Value::String(B64.encode(format!("{username}:{password}"))),
        );
        self.insert_auth(key, entry);
    }

    /// Removes every entry for `host`; says whether there was one.
    pub fn remove(&mut self, host: &str) -> bool {
        let want = canonical_host(host);
        let Some(Value::Object(auths)) = self.doc.get_mut("auths") else {
            return false;
        };
        let before = auths.len();
        auths.retain(|k, _| canonical_host(k) != want);
        auths.len() != before
    }

    /// Writes the file atomically (a temporary file in the same directory, mode 0600,
    /// renamed over the old one) so a crash never leaves a half-written credentials file.
    ///
    /// # Errors
    /// I/O errors naming the path.
    pub fn save(&self) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs_err::create_dir_all(dir)?;
        let bytes = serde_json::to_vec_pretty(&self.doc)
            .map_err(|e| Error::json(self.path.display().to_string(), e))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".config.json.")
            .tempfile_in(dir)
            .map_err(|source| Error::Path {
                op: "creating a temporary file in",
                path: dir.to_path_buf(),
                source,
            })?;
        let werr = |source| Error::Path {
            op: "writing",
            path: tmp_path_hint(dir),
            source,
        };
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(werr)?;
        tmp.write_all(&bytes).map_err(werr)?;
        tmp.write_all(b"\n").map_err(werr)?;
        tmp.as_file().sync_all().map_err(werr)?;
        tmp.persist(&self.path).map_err(|e| Error::Path {
            op: "replacing",
            path: self.path.clone(),
            source: e.error,
        })?;
        Ok(())
    }
}

fn tmp_path_hint(dir: &Path) -> PathBuf {
    dir.join(".config.json.*")
}

/// The host a key or registry name refers to, with Docker Hub's spellings folded together.
fn canonical_host(key: &str) -> String {
    let no_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = no_scheme
        .split('/')
        .next()
        .unwrap_or(no_scheme)
        .to_lowercase();
    match host.as_str() {
        DOCKER_HUB | DOCKER_HUB_API | "index.docker.io" => "index.docker.io".to_owned(),
        _ => host,
    }
}

/// The key `docker login` writes for a host.
fn auth_key(host: &str) -> String {
    if canonical_host(host) == "index.docker.io" {
        DOCKER_HUB_AUTH_KEY.to_owned()
    } else {
        canonical_host(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt as _;

    #[test]
    fn reads_docker_written_spellings() {
        let dir = tempfile::tempdir().unwrap();
        let doc = serde_json::json!({
            "auths": {
                "https://index.docker.io/v1/": {"auth": B64.encode("hubuser:hubpass")},
                "http://localhost:5000/v1/": {"auth": B64.encode("u:p:with:colons")},
                "quay.example.com": {"identitytoken": "refresh-me", "auth": ""},
                "bad.example.com": {"auth": "%%%"},
            },
            "credHelpers": {"x": "y"},
            "psFormat": "table {{.ID}}",
        });
        fs_err::write(dir.path().join("config.json"), doc.to_string()).unwrap();
        let c = DockerConfig::load(dir.path()).unwrap();
        let basic = |u: &str, p: &str| {
            Some(Credential::Basic {
                username: u.to_owned(),
                password: p.to_owned(),
            })
        };
        assert_eq!(
            c.credential("docker.io").unwrap(),
            basic("hubuser", "hubpass")
        );
        assert_eq!(
            c.credential("registry-1.docker.io").unwrap(),
            basic("hubuser", "hubpass")
        );
        assert_eq!(
            c.credential("localhost:5000").unwrap(),
            basic("u", "p:with:colons")
        );
        assert_eq!(
            c.credential("quay.example.com").unwrap(),
            Some(Credential::IdentityToken {
                token: "refresh-me".to_owned()
            })
        );
        assert_eq!(c.credential("other.example.com").unwrap(), None);
        let err = c.credential("bad.example.com").unwrap_err().to_string();
        assert!(
            err.contains("config.json") && err.contains("not base64"),
            "{err}"
        );
    }

    #[test]
    fn login_logout_round_trip_keeps_other_fields() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("cfg");
        let mut c = DockerConfig::load(&sub).unwrap();
        assert_eq!(c.credential("localhost:5000").unwrap(), None);
        c.set_basic("localhost:5000", "alice", "s3cret");
        c.set_basic("docker.io", "bob", "pw");
        c.save().unwrap();
        let meta = fs_err::metadata(sub.join("config.json")).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        let text = fs_err::read_to_string(sub.join("config.json")).unwrap();
        assert!(text.contains(DOCKER_HUB_AUTH_KEY), "{text}");

        let mut c = DockerConfig::load(&sub).unwrap();
        assert!(
            matches!(c.credential("localhost:5000").unwrap(), Some(Credential::Basic { ref username, .. }) if username == "alice")
        );
        assert!(c.remove("localhost:5000"));
        assert!(!c.remove("localhost:5000"));
        c.save().unwrap();
        let c = DockerConfig::load(&sub).unwrap();
        assert_eq!(c.credential("localhost:5000").unwrap(), None);
        assert!(c.credential("index.docker.io").unwrap().is_some());
        // no temporary files left behind
        assert_eq!(fs_err::read_dir(&sub).unwrap().count(), 1);
    }

    #[test]
    fn malformed_file_names_path() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("config.json"), "{not json").unwrap();
        let err = DockerConfig::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(&dir.path().join("config.json").display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn debug_redacts() {
        let c = Credential::Basic {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
