//! Docker credential helpers: `docker-credential-<name>` programs on `PATH`, named by
//! `credsStore` (one helper for every registry) or `credHelpers` (per registry) in
//! `config.json`.
//!
//! The protocol is Docker's: `get` reads the server URL on stdin and prints
//! `{"ServerURL","Username","Secret"}`; `store` reads that JSON on stdin; `erase` reads the
//! server URL. A `get` that fails with "credentials not found" means no credential. A
//! `Username` of `<token>` marks `Secret` as an identity token.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::credentials::Credential;
use crate::error::{Error, Result};

/// What a helper prints for `get` and reads for `store`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperCredential {
    #[serde(rename = "ServerURL", default)]
    server_url: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    secret: String,
}

/// The user name helpers use to mark an identity token.
const TOKEN_USER: &str = "<token>";

/// One credential helper, by its suffix (`pass` → `docker-credential-pass`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialHelper {
    name: String,
}

impl CredentialHelper {
    /// The helper `docker-credential-<name>`.
    #[must_use]
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
        }
    }

    /// The program run, as looked up on `PATH`.
    #[must_use]
    pub fn program(&self) -> String {
        format!("docker-credential-{}", self.name)
    }

    /// Runs `op` with `input` on stdin; returns stdout, or the helper's message on failure.
    fn call(&self, op: &'static str, input: &[u8]) -> Result<std::result::Result<Vec<u8>, String>> {
        let program = self.program();
        let err = |reason: String| Error::CredentialHelper {
            helper: program.clone(),
            op,
            reason,
        };
        let mut child = Command::new(&program)
            .arg(op)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                err(if e.kind() == std::io::ErrorKind::NotFound {
                    "not found on PATH\nhint: install it or remove it from config.json".to_owned()
                } else {
                    e.to_string()
                })
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading its input is judged by its status.
            let _ = stdin.write_all(input);
        }
        let out = child.wait_with_output().map_err(|e| err(e.to_string()))?;
        if out.status.success() {
            return Ok(Ok(out.stdout));
        }
        let mut msg = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if msg.is_empty() {
            msg = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        }
        if msg.is_empty() {
            msg = format!("exited with {}", out.status);
        }
        Ok(Err(msg))
    }

    /// The credential the helper holds for `server`, `None` when it has none.
    ///
    /// # Errors
    /// [`Error::CredentialHelper`] when the helper is missing, fails otherwise, or prints
    /// something other than its JSON.
    pub fn get(&self, server: &str) -> Result<Option<Credential>> {
        let stdout = match self.call("get", server.as_bytes())? {
            Ok(s) => s,
            Err(msg) if msg.to_lowercase().contains("credentials not found") => return Ok(None),
            Err(msg) => return Err(self.error("get", msg)),
        };
        let c: HelperCredential = serde_json::from_slice(&stdout)
            .map_err(|e| self.error("get", format!("invalid answer: {e}")))?;
        Ok(match (c.username.as_str(), c.secret) {
            (_, s) if s.is_empty() => None,
            (TOKEN_USER, token) => Some(Credential::IdentityToken { token }),
            (u, password) => Some(Credential::Basic {
                username: u.to_owned(),
                password,
            }),
        })
    }

    /// Stores `username`/`password` for `server` in the helper.
    ///
    /// # Errors
    /// [`Error::CredentialHelper`] when the helper fails.
    pub fn store(&self, server: &str, username: &str, password: &str) -> Result<()> {
        let input = serde_json::to_vec(&HelperCredential {
            server_url: server.to_owned(),
            username: username.to_owned(),
            secret: password.to_owned(),
        })
        .map_err(|e| Error::json("credential helper input", e))?;
        self.call("store", &input)?
            .map(drop)
            .map_err(|msg| self.error("store", msg))
    }

    /// Forgets `server`; says whether the helper had it.
    ///
    /// # Errors
    /// [`Error::CredentialHelper`] when the helper fails otherwise.
    pub fn erase(&self, server: &str) -> Result<bool> {
        match self.call("erase", server.as_bytes())? {
            Ok(_) => Ok(true),
            Err(msg) if msg.to_lowercase().contains("credentials not found") => Ok(false),
            Err(msg) => Err(self.error("erase", msg)),
        }
    }

    fn error(&self, op: &'static str, reason: String) -> Error {
        Error::CredentialHelper {
            helper: self.program(),
            op,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_shapes() {
        let c: HelperCredential =
            serde_json::from_str(r#"{"ServerURL":"h","Username":"<token>","Secret":"t"}"#).unwrap();
        assert_eq!(c.username, TOKEN_USER);
        let s = serde_json::to_string(&HelperCredential {
            server_url: "h".into(),
            username: "u".into(),
            secret: "p".into(),
        })
        .unwrap();
        assert_eq!(s, r#"{"ServerURL":"h","Username":"u","Secret":"p"}"#);
    }

    #[test]
    fn missing_helper_is_a_clear_error() {
        let h = CredentialHelper::new("berth-test-no-such-helper");
        let err = h.get("example.com").unwrap_err().to_string();
        assert!(
            err.contains("docker-credential-berth-test-no-such-helper") && err.contains("PATH"),
            "{err}"
        );
    }
}
