//! What `RUN --mount` and `ADD <url>` bring into a step: cache directories kept under
//! `<data>/build-cache/mounts/` and shared by every build, tmpfs, read-only binds of the
//! context, and downloaded files.

use sha2::Digest as _;

use crate::cache::KeyBuilder;
use crate::error::{Error, Result};
use crate::exec::Builder;
use crate::lowers::components;

impl Builder<'_> {
    /// `RUN --mount`s: cache directories kept under `<data>/build-cache/mounts/` and
    /// shared by every build, tmpfs, and read-only binds of the context.
    pub(crate) fn run_mounts(
        &self,
        mounts: &[berth_dockerfile::Mount],
        key: &mut KeyBuilder,
    ) -> Result<Vec<(String, Option<std::path::PathBuf>, bool)>> {
        use berth_dockerfile::MountType;
        let mut out = Vec::new();
        for m in mounts {
            let target = m.target_or_default(0).ok_or_else(|| Error::Invalid {
                what: "RUN --mount",
                value: format!("{:?}", m.kind).to_ascii_lowercase(),
                hint: "give the mount a target=PATH".into(),
            })?;
            key.add("mount", &format!("{m:?}"));
            match m.kind {
                MountType::Cache => {
                    let id = m.id_or_default().unwrap_or_else(|| target.clone());
                    let name = hex::encode(sha2::Sha256::digest(id.as_bytes()));
                    let dir = self.cache.dir().join("mounts").join(name);
                    if !dir.exists() {
                        fs_err::create_dir_all(&dir).map_err(|e| Error::io(dir.clone(), e))?;
                        let mode = m.mode.unwrap_or(0o755);
                        fs_err::set_permissions(
                            &dir,
                            std::os::unix::fs::PermissionsExt::from_mode(mode),
                        )
                        .map_err(|e| Error::io(dir.clone(), e))?;
                        nix::unistd::chown(
                            &dir,
                            Some(nix::unistd::Uid::from_raw(m.uid.unwrap_or(0))),
                            Some(nix::unistd::Gid::from_raw(m.gid.unwrap_or(0))),
                        )
                        .map_err(|e| Error::io(dir.clone(), std::io::Error::from(e)))?;
                    }
                    out.push((target, Some(dir), m.readonly));
                }
                MountType::Tmpfs => out.push((target, None, false)),
                MountType::Bind if m.from.is_none() => {
                    let rel = components(m.source.as_deref().unwrap_or(".")).join("/");
                    let src = self.opts.context.root().join(rel);
                    // Always read-only: a writable bind would change the user's files.
                    out.push((target, Some(src), true));
                }
                _ => {
                    return Err(Error::Invalid {
                        what: "RUN --mount",
                        value: format!("{:?}", m.kind).to_ascii_lowercase(),
                        hint: "berth's builder supports type=cache, type=tmpfs and type=bind from the context".into(),
                    });
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn downloads(
        &self,
        sources: &[String],
        heredocs: &[berth_dockerfile::Heredoc],
    ) -> Result<Vec<(String, tempfile::NamedTempFile)>> {
        let mut out = Vec::new();
        for s in sources {
            if berth_dockerfile::source_kind(s, heredocs) == berth_dockerfile::SourceKind::Url {
                let f = self.engine.download_to_temp(s)?;
                out.push((s.clone(), f));
            }
        }
        Ok(out)
    }
}
