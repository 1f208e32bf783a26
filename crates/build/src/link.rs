//! `COPY --link` / `ADD --link`: a layer that does not depend on the image below it.
//!
//! Its files are planned without looking at the image (the destination and its
//! parents are never resolved through the image's symlinks), so the layer's content is
//! a function of the instruction and the files it reads alone. Besides the usual step
//! key (parent + instruction), such a layer is remembered under a key without the
//! parent in `<data>/build-cache/linked/`. When an earlier step or the base image
//! changes, the step misses the usual cache but finds the linked layer: its stored
//! tar is applied on the new parent instead of reading and writing the files again,
//! and the layer (its diff id) stays the same, which a registry push also reuses.

use berth_engine::build_support::BuiltLayer;

use crate::cache::{KeyBuilder, Layer, State};
use crate::config;
use crate::copy::{self, CopyRequest};
use crate::error::{Error, Result};
use crate::exec::Builder;
use crate::layer::Entry;

impl Builder<'_> {
    /// Plans a `COPY`/`ADD` on `state`, adding what identifies it to `key`. With
    /// `--link` also returns the parent-independent key of the layer.
    pub(crate) fn plan_files(
        &mut self,
        req: &CopyRequest<'_>,
        state: &State,
        key: &mut KeyBuilder,
    ) -> Result<(Vec<Entry>, Option<String>)> {
        let lowers = self.lowers(state)?;
        let wd = config::workdir(&state.config);
        if !req.link {
            let entries = copy::plan(req, &wd, &lowers, &self.opts.context, &mut self.memo, key)?;
            return Ok((entries, None));
        }
        let mut own = KeyBuilder::new("linked");
        let entries = copy::plan(
            req,
            &wd,
            &lowers,
            &self.opts.context,
            &mut self.memo,
            &mut own,
        )?;
        let own = own.finish();
        key.add("linked", &own);
        Ok((entries, Some(own)))
    }

    fn linked_path(&self, key: &str) -> std::path::PathBuf {
        self.cache.dir().join("linked").join(format!("{key}.json"))
    }

    /// The remembered layer of `key` applied on `parent`, if its tar is still stored.
    pub(crate) fn rebase_linked(&self, key: &str, parent: Option<&str>) -> Option<Layer> {
        let bytes = fs_err::read(self.linked_path(key)).ok()?;
        let known: Layer = serde_json::from_slice(&bytes).ok()?;
        let blob = known.blob.as_deref()?;
        let file = self.engine.store().open_blob(blob).ok()?;
        let built: BuiltLayer = self
            .engine
            .commit_layer_tar(std::io::BufReader::with_capacity(1 << 20, file), parent)
            .ok()?;
        // The same tar gives the same layer; anything else is not our layer.
        (built.diff_id == known.diff_id).then(|| built.into())
    }

    /// Remembers a freshly made linked layer (a failure only costs a later rebuild).
    pub(crate) fn remember_linked(&self, key: &str, layer: &Layer) {
        let path = self.linked_path(key);
        let write = || -> Result<()> {
            let dir = self.cache.dir().join("linked");
            fs_err::create_dir_all(&dir).map_err(|e| Error::io(dir.clone(), e))?;
            let bytes = serde_json::to_vec(layer).map_err(|e| Error::Json {
                what: "linked layer".into(),
                source: e,
            })?;
            let mut tmp =
                tempfile::NamedTempFile::new_in(&dir).map_err(|e| Error::io(dir.clone(), e))?;
            std::io::Write::write_all(&mut tmp, &bytes).map_err(|e| Error::io(tmp.path(), e))?;
            tmp.persist(&path)
                .map_err(|e| Error::io(path.clone(), e.error))?;
            Ok(())
        };
        let _ = write();
    }
}
