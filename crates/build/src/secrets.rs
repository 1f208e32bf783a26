//! Build secrets (`--secret`) and SSH agent forwarding (`--ssh`): what the command line
//! names, and how a `RUN --mount=type=secret|ssh` gets it.
//!
//! A secret's value is read when a step mounts it and written, with the mount's
//! owner and mode, to a private file under the runtime directory (`/run/berth`, a
//! tmpfs on most hosts) that exists only while that step runs. It is never part of a
//! cache key, a layer, the history or the config: a changed secret does not invalidate
//! the cache, as with BuildKit. An SSH mount bind-mounts the agent's socket itself.

use std::os::unix::fs::FileTypeExt as _;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Where a secret's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A file on the host.
    File(PathBuf),
    /// An environment variable of the builder's process.
    Env(String),
}

/// A `--secret id=…,src=…|env=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// The id `RUN --mount=type=secret,id=…` refers to.
    pub id: String,
    /// Where the value is read from.
    pub source: SecretSource,
}

fn invalid(what: &'static str, value: &str, hint: &str) -> Error {
    Error::Invalid {
        what,
        value: value.to_owned(),
        hint: hint.to_owned(),
    }
}

impl Secret {
    /// Parses Docker's `--secret` value: `id=x,src=FILE` (`source=`), `id=x,env=VAR`,
    /// `type=file|env`; with only `id=x` the variable `x` is used when it is set, else
    /// the file `x`.
    pub fn parse(spec: &str) -> Result<Secret> {
        let hint = "use id=NAME,src=FILE or id=NAME,env=VARIABLE";
        let (mut id, mut src, mut env, mut kind) = (None, None, None, None);
        for field in spec.split(',').filter(|f| !f.is_empty()) {
            let Some((k, v)) = field.split_once('=') else {
                return Err(invalid("--secret", spec, hint));
            };
            match k {
                "id" => id = Some(v.to_owned()),
                "src" | "source" => src = Some(v.to_owned()),
                "env" => env = Some(v.to_owned()),
                "type" if v == "file" || v == "env" => kind = Some(v.to_owned()),
                _ => return Err(invalid("--secret", spec, hint)),
            }
        }
        let id = id
            .or_else(|| env.clone())
            .or_else(|| {
                src.as_deref()
                    .and_then(|s| s.rsplit('/').next())
                    .map(str::to_owned)
            })
            .filter(|i| !i.is_empty())
            .ok_or_else(|| invalid("--secret", spec, hint))?;
        let source = match (kind.as_deref(), src, env) {
            (Some("env"), Some(v), None) | (_, None, Some(v)) => SecretSource::Env(v),
            (Some("env"), None, None) => SecretSource::Env(id.clone()),
            (Some("file") | None, Some(f), None) => SecretSource::File(PathBuf::from(f)),
            (Some("file"), None, None) => SecretSource::File(PathBuf::from(&id)),
            (None, None, None) if std::env::var_os(&id).is_some() => SecretSource::Env(id.clone()),
            (None, None, None) => SecretSource::File(PathBuf::from(&id)),
            _ => {
                return Err(invalid(
                    "--secret",
                    spec,
                    "give either src= or env=, not both",
                ));
            }
        };
        Ok(Secret { id, source })
    }

    /// The secret's value, read now.
    pub(crate) fn value(&self) -> Result<Vec<u8>> {
        match &self.source {
            SecretSource::File(p) => fs_err::read(p).map_err(|e| Error::io(p.clone(), e)),
            SecretSource::Env(v) => std::env::var_os(v)
                .map(|s| s.into_encoded_bytes())
                .ok_or_else(|| {
                    invalid(
                        "--secret",
                        &self.id,
                        &format!("the environment variable {v} is not set"),
                    )
                }),
        }
    }
}

/// A `--ssh id[=socket]`: an SSH agent socket `RUN --mount=type=ssh` forwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshAgent {
    /// The id (`default` unless named).
    pub id: String,
    /// The agent's Unix socket on the host.
    pub socket: PathBuf,
}

impl SshAgent {
    /// Parses Docker's `--ssh` value: `default` (the socket in `SSH_AUTH_SOCK`),
    /// `default=/path/agent.sock` or `ID=/path/agent.sock`. Key files are refused: berth
    /// forwards running agents only.
    pub fn parse(spec: &str) -> Result<SshAgent> {
        let (id, path) = match spec.split_once('=') {
            Some((i, p)) => (i, Some(p)),
            None => (spec, None),
        };
        if id.is_empty() {
            return Err(invalid(
                "--ssh",
                spec,
                "use default or ID=/path/to/agent.sock",
            ));
        }
        let socket = match path {
            Some(p) if p.contains(',') => {
                return Err(invalid(
                    "--ssh",
                    spec,
                    "give one agent socket per id (berth does not load key files)",
                ));
            }
            Some(p) => PathBuf::from(p),
            None => std::env::var_os("SSH_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .ok_or_else(|| {
                    invalid(
                        "--ssh",
                        spec,
                        "SSH_AUTH_SOCK is not set: start an agent (eval $(ssh-agent)) or give --ssh default=/path/to/agent.sock",
                    )
                })?,
        };
        let meta = fs_err::metadata(&socket).map_err(|e| Error::io(socket.clone(), e))?;
        if !meta.file_type().is_socket() {
            return Err(invalid(
                "--ssh",
                spec,
                &format!(
                    "{} is not a socket; berth forwards a running SSH agent, not key files (ssh-add the key to an agent)",
                    socket.display()
                ),
            ));
        }
        Ok(SshAgent {
            id: id.to_owned(),
            socket,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_specs() {
        let s = Secret::parse("id=tok,src=/tmp/t").unwrap();
        assert_eq!(s.id, "tok");
        assert_eq!(s.source, SecretSource::File("/tmp/t".into()));
        let s = Secret::parse("id=tok,env=TOKEN").unwrap();
        assert_eq!(s.source, SecretSource::Env("TOKEN".into()));
        let s = Secret::parse("env=API_TOKEN").unwrap();
        assert_eq!(s.id, "API_TOKEN");
        let s = Secret::parse("source=/run/keys/npmrc").unwrap();
        assert_eq!(s.id, "npmrc");
        let s = Secret::parse("id=berth_surely_unset_variable").unwrap();
        assert_eq!(
            s.source,
            SecretSource::File("berth_surely_unset_variable".into())
        );
        assert!(Secret::parse("id=x,src=a,env=B").is_err());
        assert!(Secret::parse("id=x,colour=red").is_err());
        assert!(Secret::parse("").is_err());
    }

    #[test]
    fn ssh_specs_need_a_socket() {
        let d = tempfile::tempdir().unwrap();
        let sock = d.path().join("agent.sock");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let a = SshAgent::parse(&format!("default={}", sock.display())).unwrap();
        assert_eq!(a.id, "default");
        assert_eq!(a.socket, sock);
        let key = d.path().join("id_ed25519");
        fs_err::write(&key, "key").unwrap();
        let e = SshAgent::parse(&format!("default={}", key.display())).unwrap_err();
        assert!(e.to_string().contains("not a socket"), "{e}");
    }
}
