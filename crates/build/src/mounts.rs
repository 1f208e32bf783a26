//! What `RUN --mount` and `ADD <url>` bring into a step: cache directories kept under
//! `<data>/build-cache/mounts/` and shared by every build, tmpfs, read-only binds of the
//! context, secrets, SSH agent sockets, and downloaded files.

use sha2::Digest as _;

use crate::cache::KeyBuilder;
use crate::error::{Error, Result};
use crate::exec::Builder;
use crate::lowers::components;

/// What a step's `RUN --mount`s bring: the mounts, extra environment (secrets exposed
/// as variables, `SSH_AUTH_SOCK`) that never enters the cache key, and the private
/// directories of secret files, removed when dropped (after the step).
#[derive(Debug, Default)]
pub(crate) struct RunMounts {
    pub mounts: Vec<(String, Option<std::path::PathBuf>, bool)>,
    pub env: Vec<String>,
    pub held: Vec<tempfile::TempDir>,
}

impl Builder<'_> {
    /// `RUN --mount`s: cache directories kept under `<data>/build-cache/mounts/` and
    /// shared by every build, tmpfs, read-only binds of the context, secrets and SSH
    /// agent sockets.
    pub(crate) fn run_mounts(
        &self,
        mounts: &[berth_dockerfile::Mount],
        key: &mut KeyBuilder,
    ) -> Result<RunMounts> {
        use berth_dockerfile::MountType;
        let mut out = RunMounts::default();
        let mut ssh_index = 0;
        for m in mounts {
            let target = m
                .target_or_default(ssh_index)
                .ok_or_else(|| Error::Invalid {
                    what: "RUN --mount",
                    value: format!("{:?}", m.kind).to_ascii_lowercase(),
                    hint: "give the mount a target=PATH".into(),
                })?;
            // Names and options only: a secret's value never enters the key.
            key.add("mount", &format!("{m:?}"));
            match m.kind {
                MountType::Cache => {
                    let id = m.id_or_default().unwrap_or_else(|| target.clone());
                    let name = hex::encode(sha2::Sha256::digest(id.as_bytes()));
                    let dir = self.cache.dir().join("mounts").join(name);
                    if !dir.exists() {
                        fs_err::create_dir_all(&dir).map_err(|e| Error::io(dir.clone(), e))?;
                        own(&dir, m.mode.unwrap_or(0o755), m.uid, m.gid)?;
                    }
                    out.mounts.push((target, Some(dir), m.readonly));
                }
                MountType::Tmpfs => out.mounts.push((target, None, false)),
                MountType::Bind if m.from.is_none() => {
                    let rel = components(m.source.as_deref().unwrap_or(".")).join("/");
                    let src = self.opts.context.root().join(rel);
                    // Always read-only: a writable bind would change the user's files.
                    out.mounts.push((target, Some(src), true));
                }
                MountType::Secret => self.secret_mount(m, target, &mut out)?,
                MountType::Ssh => {
                    let id = m.id_or_default().unwrap_or_else(|| "default".into());
                    let Some(agent) = self.opts.ssh.iter().find(|a| a.id == id) else {
                        if m.required {
                            return Err(Error::Invalid {
                                what: "RUN --mount=type=ssh",
                                value: id,
                                hint: "the build was given no such agent: add --ssh ID[=SOCKET]"
                                    .into(),
                            });
                        }
                        continue;
                    };
                    if ssh_index == 0 {
                        out.env.push(format!("SSH_AUTH_SOCK={target}"));
                    }
                    ssh_index += 1;
                    out.mounts.push((target, Some(agent.socket.clone()), false));
                }
                MountType::Bind => {
                    return Err(Error::Invalid {
                        what: "RUN --mount",
                        value: "bind,from=…".into(),
                        hint:
                            "berth's builder binds only the context; COPY --from the stage instead"
                                .into(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// A secret as a private file with the mount's owner and mode (default root,
    /// 0400), and/or as an environment variable (`env=`).
    fn secret_mount(
        &self,
        m: &berth_dockerfile::Mount,
        target: String,
        out: &mut RunMounts,
    ) -> Result<()> {
        let id = m.id_or_default().unwrap_or_default();
        let Some(secret) = self.opts.secrets.iter().find(|s| s.id == id) else {
            if m.required {
                return Err(Error::Invalid {
                    what: "RUN --mount=type=secret",
                    value: id,
                    hint: "the build was given no such secret: add --secret id=ID,src=FILE".into(),
                });
            }
            return Ok(());
        };
        let value = secret.value()?;
        if let Some(var) = &m.env {
            out.env.push(format!(
                "{var}={}",
                String::from_utf8_lossy(&value).trim_end_matches('\n')
            ));
            if m.target.is_none() {
                return Ok(());
            }
        }
        let parent = self.engine.paths().run.join("build-secrets");
        fs_err::create_dir_all(&parent).map_err(|e| Error::io(parent.clone(), e))?;
        own(&parent, 0o700, None, None)?;
        let dir = tempfile::Builder::new()
            .prefix("secret-")
            .tempdir_in(&parent)
            .map_err(|e| Error::io(parent.clone(), e))?;
        let file = dir.path().join("value");
        fs_err::write(&file, &value).map_err(|e| Error::io(file.clone(), e))?;
        own(&file, m.mode.unwrap_or(0o400), m.uid, m.gid)?;
        out.mounts.push((target, Some(file), true));
        out.held.push(dir);
        Ok(())
    }

    /// Downloads the URL sources of an `ADD`; with `--checksum=sha256:…` each must
    /// match it (anything else is refused before the step runs).
    pub(crate) fn downloads(
        &self,
        sources: &[String],
        heredocs: &[berth_dockerfile::Heredoc],
        checksum: Option<&str>,
    ) -> Result<Vec<(String, tempfile::NamedTempFile)>> {
        let want = match checksum {
            None => None,
            Some(c) => Some(
                c.strip_prefix("sha256:")
                    .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                    .map(str::to_ascii_lowercase)
                    .ok_or_else(|| Error::Invalid {
                        what: "ADD --checksum",
                        value: c.to_owned(),
                        hint: "use sha256:<64 hex digits>".into(),
                    })?,
            ),
        };
        let mut out = Vec::new();
        for s in sources {
            let kind = berth_dockerfile::source_kind(s, heredocs);
            if kind != berth_dockerfile::SourceKind::Url {
                if want.is_some() && kind == berth_dockerfile::SourceKind::Local {
                    return Err(Error::Invalid {
                        what: "ADD --checksum",
                        value: s.clone(),
                        hint: "--checksum applies to URL sources only".into(),
                    });
                }
                continue;
            }
            let f = self.engine.download_to_temp(s)?;
            if let Some(want) = &want {
                let got = hash_file(f.path())?;
                if &got != want {
                    return Err(Error::Download {
                        url: s.clone(),
                        reason: format!(
                            "checksum mismatch: expected sha256:{want}, got sha256:{got}"
                        ),
                    });
                }
            }
            out.push((s.clone(), f));
        }
        Ok(out)
    }
}

fn hash_file(path: &std::path::Path) -> Result<String> {
    let mut f = fs_err::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| Error::io(path, e))?;
    Ok(hex::encode(h.finalize()))
}

/// Sets `path`'s mode and owner (root unless given).
fn own(path: &std::path::Path, mode: u32, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
    fs_err::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode))
        .map_err(|e| Error::io(path, e))?;
    nix::unistd::chown(
        path,
        Some(nix::unistd::Uid::from_raw(uid.unwrap_or(0))),
        Some(nix::unistd::Gid::from_raw(gid.unwrap_or(0))),
    )
    .map_err(|e| Error::io(path, std::io::Error::from(e)))
}
