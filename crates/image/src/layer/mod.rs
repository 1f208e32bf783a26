//! Applying layer tars to directories, and making layer tars from overlay upper directories.
//!
//! [`apply`] reads a layer (plain, gzip, zstd or xz, recognised by its first bytes) in one
//! streaming pass: decompress → hash (the `diff_id`) → unpack. Every entry is placed with
//! `openat2(RESOLVE_IN_ROOT)` and `*at` calls, so nothing outside the target is ever written:
//! `..` that climbs out is refused, absolute paths and symlinks are resolved inside the target.
//!
//! ```no_run
//! use berth_image::layer::{apply, ApplyOptions};
//! let f = std::fs::File::open("layer.tar.gz").unwrap();
//! let info = apply(f, std::path::Path::new("/var/lib/berth/snapshots/1"), &ApplyOptions::default()).unwrap();
//! println!("diff_id {} ({} bytes)", info.diff_id, info.size);
//! ```

mod apply;
pub(crate) mod compression;
pub mod diff;
pub(crate) mod scoped;

use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use tokio::io::AsyncRead;

pub use compression::Compression;

use crate::digest::{Digest, HashingReader};
use crate::error::{Error, Result};
use scoped::Root;

/// How whiteouts become real.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// For an overlayfs lower directory: `.wh.x` becomes a 0/0 character device `x`,
    /// `.wh..wh..opq` the opaque xattr on its directory.
    Overlay,
    /// For a flat root filesystem (layers applied on top of each other, or an export):
    /// whiteouts delete what they hide.
    Flat,
}

/// Options for [`apply`].
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Whiteout handling.
    pub mode: Mode,
    /// Whether to set the entries' numeric owners (needs root; defaults to "we are root").
    pub chown: bool,
    /// Use `user.overlay.opaque` instead of `trusted.overlay.opaque` (overlay mounted with
    /// `userxattr`, for rootless use).
    pub user_xattr: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            mode: Mode::Overlay,
            chown: rustix::process::geteuid().is_root(),
            user_xattr: false,
        }
    }
}

impl ApplyOptions {
    /// [`ApplyOptions::default`] with whiteouts applied by deleting.
    #[must_use]
    pub fn flat() -> Self {
        Self {
            mode: Mode::Flat,
            ..Self::default()
        }
    }

    fn opaque_xattr(&self) -> &'static str {
        if self.user_xattr {
            "user.overlay.opaque"
        } else {
            "trusted.overlay.opaque"
        }
    }
}

/// What applying a layer found out about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// The sha256 of the uncompressed tar (the image config's `diff_id`).
    pub diff_id: Digest,
    /// The uncompressed size in bytes.
    pub size: u64,
    /// The compression the stream had.
    pub compression: Compression,
}

/// Applies the layer tar read from `reader` into the existing directory `target`.
///
/// The stream is read to its very end, so a verifying reader underneath (a registry blob)
/// reports a digest mismatch as this function's error. On any error the target holds a
/// partial layer: callers unpack into a fresh directory and publish it only on success.
///
/// # Errors
/// [`Error::UnsafeEntry`] for entries that would leave the target, [`Error::Tar`] for a
/// malformed stream, digest mismatches from the reader, I/O errors naming the path.
pub fn apply<R: Read>(reader: R, target: &Path, opts: &ApplyOptions) -> Result<LayerInfo> {
    let root = Root::open(target)?;
    let (decoder, compression) =
        compression::Decoder::new(BufReader::with_capacity(256 << 10, reader))
            .map_err(|e| stream_err(&root, e))?;
    let mut hashing = HashingReader::new(decoder);
    let unpacked = unpack(&root, opts, &mut hashing);
    if let Err(e @ (Error::UnsafeEntry { .. } | Error::Path { .. })) = unpacked {
        // The layer's content is the problem; no need to read the rest of it.
        return Err(e);
    }
    let (decoder, diff_id, size) = hashing.into_parts();
    // Let the compressed stream reach its end so a verifier beneath sees it. When unpacking
    // failed, a corrupt download is the likelier cause: report the digest mismatch if there
    // is one, rather than the decompressor's or tar's complaint about the garbage.
    let drained =
        io::copy(&mut decoder.into_inner(), &mut io::sink()).map_err(|e| stream_err(&root, e));
    match (unpacked, drained) {
        (Err(_), Err(e @ (Error::DigestMismatch { .. } | Error::SizeMismatch { .. })))
        | (Err(e), _)
        | (Ok(()), Err(e)) => {
            return Err(e);
        }
        (Ok(()), Ok(_)) => {}
    }
    Ok(LayerInfo {
        diff_id,
        size,
        compression,
    })
}

fn unpack<R: Read>(root: &Root, opts: &ApplyOptions, hashing: &mut HashingReader<R>) -> Result<()> {
    {
        let mut applier = apply::Applier::new(root, opts);
        let mut archive = tar::Archive::new(&mut *hashing);
        let entries = archive.entries().map_err(|e| stream_err(root, e))?;
        for entry in entries {
            applier.entry(entry.map_err(|e| stream_err(root, e))?)?;
        }
        applier.finish()?;
    }
    // The tar's end-of-archive blocks and record padding belong to the diff_id too.
    io::copy(hashing, &mut io::sink()).map_err(|e| stream_err(root, e))?;
    Ok(())
}

/// [`apply`] for an async stream (a registry download): the unpacking runs on a blocking
/// thread while the download goes on, so downloading, verifying, decompressing and
/// unpacking overlap. Must be called inside a tokio runtime.
///
/// # Errors
/// As [`apply`].
pub async fn apply_async<R>(reader: R, target: PathBuf, opts: ApplyOptions) -> Result<LayerInfo>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let bridge = tokio_util::io::SyncIoBridge::new(reader);
    tokio::task::spawn_blocking(move || apply(bridge, &target, &opts))
        .await
        .map_err(|e| {
            Error::Io(io::Error::other(format!(
                "layer unpacking task failed: {e}"
            )))
        })?
}

fn stream_err(root: &Root, e: io::Error) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        return crate::digest::from_io(e);
    }
    Error::Tar {
        entry: format!("<stream for {}>", root.path().display()),
        source: e,
    }
}
