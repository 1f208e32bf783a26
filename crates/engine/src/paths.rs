//! Where berth keeps its state: `/var/lib/berth` and `/run/berth`, or all under `--root`
//! (with the runtime state elsewhere under `--runroot`).

use std::path::PathBuf;

/// berth's directories for this invocation.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Persistent data (images, containers, volumes).
    pub data: PathBuf,
    /// Runtime state (live containers); gone after a reboot.
    pub run: PathBuf,
    /// Configuration file.
    pub config: PathBuf,
}

impl Paths {
    /// Everything under one directory (what `--root DIR` means).
    pub fn under(root: impl Into<PathBuf>) -> Paths {
        let r = root.into();
        Paths::new(Some(&r), None)
    }

    /// Resolves the directories from `--root` / `--config` (or their environment variables).
    pub fn new(root: Option<&PathBuf>, config: Option<&PathBuf>) -> Paths {
        match root {
            Some(r) => Paths {
                data: r.clone(),
                run: r.join("run"),
                config: config.cloned().unwrap_or_else(|| r.join("config.toml")),
            },
            None => Paths {
                data: "/var/lib/berth".into(),
                run: "/run/berth".into(),
                config: config
                    .cloned()
                    .unwrap_or_else(|| "/etc/berth/config.toml".into()),
            },
        }
    }

    /// Moves the runtime state to `run` when given (`--runroot`); the data stays.
    pub fn with_run(self, run: Option<PathBuf>) -> Paths {
        match run {
            Some(run) => Paths { run, ..self },
            None => self,
        }
    }

    /// State root of the OCI runtime's containers.
    pub fn oci_state(&self) -> PathBuf {
        self.run.join("oci")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_moves_everything() {
        let p = Paths::new(Some(&PathBuf::from("/tmp/x")), None);
        assert_eq!(p.data, PathBuf::from("/tmp/x"));
        assert_eq!(p.oci_state(), PathBuf::from("/tmp/x/run/oci"));
        assert_eq!(p.config, PathBuf::from("/tmp/x/config.toml"));
        let moved = p.clone().with_run(Some("/run/x".into()));
        assert_eq!(moved.data, PathBuf::from("/tmp/x"));
        assert_eq!(moved.oci_state(), PathBuf::from("/run/x/oci"));
        assert_eq!(p.clone().with_run(None).run, p.run);
        let d = Paths::new(None, None);
        assert_eq!(d.oci_state(), PathBuf::from("/run/berth/oci"));
    }
}
