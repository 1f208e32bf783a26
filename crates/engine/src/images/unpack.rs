//! The shared unpack path: one layer stream → a verified, published snapshot.
//!
//! [`stage_layer`] applies a layer (gzip, zstd, xz or plain tar) into a fresh staging
//! directory of the store and, when asked, keeps the raw stream as a blob at the same time
//! (one pass over the bytes). [`commit_layer`] publishes the staged layer under its chain id
//! once the layer below is published. Stages may run in parallel (layers are unpacked
//! separately, overlay style); commits go base first.
//!
//! ```no_run
//! # fn demo(store: &berth_store::Store) -> berth_engine::Result<()> {
//! use berth_engine::images::unpack::{stage_layer, commit_layer, StageOptions};
//! let f = fs_err::File::open("layer.tar.gz").map_err(|e| berth_engine::Error::Io { path: "layer.tar.gz".into(), source: e })?;
//! let staged = stage_layer(store, f, &StageOptions::default())?;
//! let chain = commit_layer(store, staged, None)?;
//! println!("snapshot {chain}");
//! # Ok(()) }
//! ```

use std::io::{self, Read};

use berth_image::layer::{ApplyOptions, LayerInfo, apply};
use berth_image::{Algorithm, Digest, Hasher};
use berth_store::{BlobWriter, StagingDir, Store};

use crate::error::Result;

/// What to check and keep while staging a layer.
#[derive(Debug, Clone, Default)]
pub struct StageOptions {
    /// The diff_id the uncompressed tar must have (from the image config).
    pub expected_diff_id: Option<String>,
    /// The chain id it will get, if known (only names the staging directory).
    pub chain_hint: Option<String>,
    /// Keep the raw stream as a blob (for `push` and `save` later).
    pub keep_blob: bool,
}

/// A layer unpacked into a staging directory, not yet visible.
#[derive(Debug)]
pub struct StagedLayer {
    staging: StagingDir,
    /// What applying found: diff_id, uncompressed size, compression.
    pub info: LayerInfo,
    /// The raw stream's digest and size, if it was kept as a blob.
    pub blob: Option<(String, u64)>,
}

/// Copies every byte read into a blob writer and hashes it.
struct Tee<R> {
    inner: R,
    out: BlobWriter,
    hasher: Hasher,
    n: u64,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        io::Write::write_all(&mut self.out, &buf[..n])?;
        self.hasher.update(&buf[..n]);
        self.n += n as u64;
        Ok(n)
    }
}

/// A staging directory (and blob writer) made ready on the caller's thread, so the
/// unpacking itself can move to any thread without borrowing the store.
#[derive(Debug)]
pub struct PreparedLayer {
    staging: StagingDir,
    blob: Option<BlobWriter>,
    expected_diff_id: Option<String>,
}

/// Makes the staging directory (and blob writer) for one layer.
///
/// # Errors
/// Store errors.
pub fn prepare_layer(store: &Store, opts: &StageOptions) -> Result<PreparedLayer> {
    let name = match &opts.chain_hint {
        Some(c) => c.clone(),
        None => format!("sha256:{}", berth_store::digest::random_id()?),
    };
    let staging = store.prepare_snapshot(&name)?;
    let blob = if opts.keep_blob {
        Some(store.begin_blob()?)
    } else {
        None
    };
    Ok(PreparedLayer {
        staging,
        blob,
        expected_diff_id: opts.expected_diff_id.clone(),
    })
}

impl PreparedLayer {
    /// Applies one layer stream into the staging directory; see the module docs.
    ///
    /// # Errors
    /// Digest mismatches (of the stream, from a verifying reader, or of the diff_id),
    /// unsafe entries, malformed tars, I/O errors (a full disk among them).
    pub fn apply<R: Read>(self, reader: R) -> Result<StagedLayer> {
        let target = self.staging.fs_path();
        let apply_opts = ApplyOptions::default();
        let (info, blob) = if let Some(out) = self.blob {
            let mut tee = Tee {
                inner: reader,
                out,
                hasher: Hasher::new(Algorithm::Sha256),
                n: 0,
            };
            let info = apply(&mut tee, &target, &apply_opts)?;
            let Tee { out, hasher, n, .. } = tee;
            let digest = hasher.finish().to_string();
            out.commit(&digest)?;
            (info, Some((digest, n)))
        } else {
            (apply(reader, &target, &apply_opts)?, None)
        };
        if let Some(want) = &self.expected_diff_id
            && *want != info.diff_id.to_string()
        {
            return Err(berth_image::Error::DigestMismatch {
                what: "layer diff_id".to_owned(),
                expected: want.clone(),
                actual: info.diff_id.to_string(),
            }
            .into());
        }
        Ok(StagedLayer {
            staging: self.staging,
            info,
            blob,
        })
    }
}

/// Makes several staged layers durable with one file-system sync (instead of one per
/// layer at commit).
///
/// # Errors
/// The sync failing.
pub fn sync_staged<'a>(
    store: &Store,
    layers: impl IntoIterator<Item = &'a mut StagedLayer>,
) -> Result<()> {
    Ok(store.sync_staging(layers.into_iter().map(|l| &mut l.staging))?)
}

/// [`prepare_layer`] then [`PreparedLayer::apply`] on this thread.
///
/// # Errors
/// As both.
pub fn stage_layer<R: Read>(store: &Store, reader: R, opts: &StageOptions) -> Result<StagedLayer> {
    prepare_layer(store, opts)?.apply(reader)
}

/// The chain id of `diff_id` stacked on `parent` (OCI image spec).
pub fn chain_id(parent: Option<&str>, diff_id: &str) -> String {
    match parent {
        None => diff_id.to_owned(),
        Some(p) => Digest::sha256_of(format!("{p} {diff_id}").as_bytes()).to_string(),
    }
}

/// Publishes a staged layer on top of the published snapshot `parent`; returns its chain
/// id. A snapshot that is already there (another pull) wins and the staged copy goes.
///
/// # Errors
/// Store errors (the parent missing, I/O).
pub fn commit_layer(store: &Store, staged: StagedLayer, parent: Option<&str>) -> Result<String> {
    let diff = staged.info.diff_id.to_string();
    let chain = chain_id(parent, &diff);
    if store.has_snapshot(&chain)? {
        return Ok(chain);
    }
    store.commit_snapshot(staged.staging, &chain, parent, &diff, staged.info.size)?;
    Ok(chain)
}

/// Stages and commits in one go (sequential callers: `load`, `import`).
///
/// # Errors
/// As [`stage_layer`] and [`commit_layer`].
pub fn unpack_layer<R: Read>(
    store: &Store,
    reader: R,
    parent: Option<&str>,
    opts: &StageOptions,
) -> Result<(String, StagedInfo)> {
    let staged = stage_layer(store, reader, opts)?;
    let info = StagedInfo {
        diff_id: staged.info.diff_id.to_string(),
        size: staged.info.size,
        blob: staged.blob.clone(),
    };
    let chain = commit_layer(store, staged, parent)?;
    Ok((chain, info))
}

/// What [`unpack_layer`] learned about a layer.
#[derive(Debug, Clone)]
pub struct StagedInfo {
    /// Uncompressed digest.
    pub diff_id: String,
    /// Uncompressed size.
    pub size: u64,
    /// The kept blob's digest and size.
    pub blob: Option<(String, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_follow_the_spec() {
        let a = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let b = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        assert_eq!(chain_id(None, a), a);
        let want = berth_store::digest::chain_ids(&[a, b]).unwrap();
        assert_eq!(chain_id(Some(a), b), want[1]);
    }

    #[test]
    fn stage_and_commit_a_tar() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "hello.txt", &b"hello"[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        let diff = Digest::sha256_of(&bytes).to_string();
        let opts = StageOptions {
            expected_diff_id: Some(diff.clone()),
            keep_blob: true,
            ..Default::default()
        };
        let (chain, info) = unpack_layer(&store, &bytes[..], None, &opts).unwrap();
        assert_eq!(chain, diff);
        assert_eq!(info.blob.as_ref().unwrap().0, diff);
        assert!(store.has_blob(&diff).unwrap());
        let p = store.snapshot_path(&chain).unwrap();
        assert_eq!(
            fs_err::read_to_string(p.join("hello.txt")).unwrap(),
            "hello"
        );

        let wrong = StageOptions {
            expected_diff_id: Some(format!("sha256:{}", "0".repeat(64))),
            ..Default::default()
        };
        let err = stage_layer(&store, &bytes[..], &wrong).unwrap_err();
        assert!(err.to_string().contains("digest mismatch"), "{err}");
    }
}
