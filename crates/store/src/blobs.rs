//! Content-addressed blobs: `root/blobs/sha256/<hex>`.
//!
//! A blob is written into `tmp/` while being hashed, and only renamed into
//! place after its sha256 matched the digest it was announced with, so a
//! file under `blobs/` is always complete and verified. Committing the same
//! blob twice (two pulls at once) is harmless: the contents are identical
//! and rename replaces atomically.

use std::io::{Read as _, Seek as _, Write};
use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;

use sha2::{Digest as _, Sha256};

use crate::Store;
use crate::digest::{SHA256_PREFIX, digest_hex};
use crate::error::{Error, Result};
use crate::lock::{LockMode, flock};
use crate::tmp::PARTIAL_PREFIX;

/// A blob being written: hashes while writing; [`BlobWriter::commit`]
/// verifies and publishes it. Dropped without commit, a plain writer deletes
/// its temp file; a resumable one ([`Store::resume_blob`]) keeps it so the
/// next attempt continues where this one stopped.
pub struct BlobWriter {
    file: Option<fs_err::File>,
    tmp_path: PathBuf,
    blob_dir: PathBuf,
    hasher: Sha256,
    written: u64,
    resumable: bool,
}

impl std::fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobWriter")
            .field("tmp_path", &self.tmp_path)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl BlobWriter {
    /// Bytes in the blob so far (for a resumed writer: including the bytes
    /// from earlier attempts, i.e. the offset to resume the download at).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The digest of the bytes written so far (`sha256:<hex>`): what to
    /// [`BlobWriter::commit`] a blob made here (rather than downloaded) under.
    pub fn digest(&self) -> String {
        format!("{SHA256_PREFIX}{:x}", self.hasher.clone().finalize())
    }

    /// The temp file being written.
    pub fn tmp_path(&self) -> &std::path::Path {
        &self.tmp_path
    }

    /// Verifies the content against `expected` (`sha256:<hex>`), makes it
    /// durable and publishes it. On a mismatch the temp file is deleted and
    /// the error names both digests. Returns the blob's size.
    pub fn commit(mut self, expected: &str) -> Result<u64> {
        let hex = match digest_hex(expected) {
            Ok(hex) => hex,
            Err(e) => {
                self.discard();
                return Err(e);
            }
        };
        let actual = format!("{SHA256_PREFIX}{:x}", self.hasher.clone().finalize());
        if actual != expected {
            self.discard();
            return Err(Error::DigestMismatch {
                expected: expected.to_owned(),
                actual,
            });
        }
        let Some(mut file) = self.file.take() else {
            return Err(Error::BlobNotFound(expected.to_owned()));
        };
        file.flush()?;
        file.sync_all()?;
        let target = self.blob_dir.join(hex);
        fs_err::rename(&self.tmp_path, &target)?;
        fs_err::File::open(&self.blob_dir)?.sync_all()?;
        Ok(self.written)
    }

    fn discard(&mut self) {
        self.file = None;
        // Best effort: gc_tmp deletes it later if this fails.
        let _ = fs_err::remove_file(&self.tmp_path);
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("blob writer already finished"))?;
        let n = file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if self.file.is_some() && !self.resumable {
            self.discard();
        }
    }
}

impl Store {
    fn blob_dir(&self) -> PathBuf {
        self.root.join("blobs/sha256")
    }

    /// Path of the blob with `digest` (whether or not it exists).
    pub fn blob_path(&self, digest: &str) -> Result<PathBuf> {
        Ok(self.blob_dir().join(digest_hex(digest)?))
    }

    /// Starts writing a blob whose digest will be checked on commit.
    pub fn begin_blob(&self) -> Result<BlobWriter> {
        let (file, tmp_path) = self.create_tmp_file("blob")?;
        Ok(BlobWriter {
            file: Some(file),
            tmp_path,
            blob_dir: self.blob_dir(),
            hasher: Sha256::new(),
            written: 0,
            resumable: false,
        })
    }

    /// Starts or resumes a download of the blob `expected`. Waits while
    /// another process downloads the same blob; returns `None` once the blob
    /// is in the store. The writer's [`BlobWriter::written`] is the offset to
    /// resume at (e.g. an HTTP `Range` start).
    pub fn resume_blob(&self, expected: &str) -> Result<Option<BlobWriter>> {
        let hex = digest_hex(expected)?;
        let tmp_path = self.tmp_dir().join(format!("{PARTIAL_PREFIX}{hex}"));
        loop {
            if self.has_blob(expected)? {
                return Ok(None);
            }
            let mut file = fs_err::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&tmp_path)?;
            flock(&file, LockMode::Exclusive, true)
                .map_err(|e| Error::path("lock", &tmp_path, e))?;
            // The previous holder may have committed (renamed our inode into
            // blobs/) or discarded it while we waited: only the inode still at
            // tmp_path is ours to append to.
            let same = match fs_err::metadata(&tmp_path) {
                Ok(m) => {
                    let ours = file.metadata()?;
                    m.ino() == ours.ino() && m.dev() == ours.dev()
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                Err(e) => return Err(e.into()),
            };
            if !same {
                continue;
            }
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 1 << 16];
            let mut written = 0u64;
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                written += n as u64;
            }
            file.seek(std::io::SeekFrom::End(0))?;
            return Ok(Some(BlobWriter {
                file: Some(file),
                tmp_path,
                blob_dir: self.blob_dir(),
                hasher,
                written,
                resumable: true,
            }));
        }
    }

    /// Writes a small blob (a manifest, a config) from memory and returns its digest.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<String> {
        let digest = crate::digest::sha256_digest(bytes);
        let mut w = self.begin_blob()?;
        w.write_all(bytes)?;
        w.commit(&digest)?;
        Ok(digest)
    }

    /// Whether the blob is in the store.
    pub fn has_blob(&self, digest: &str) -> Result<bool> {
        let path = self.blob_path(digest)?;
        match fs_err::symlink_metadata(&path) {
            Ok(m) => Ok(m.is_file()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens a blob for reading.
    pub fn open_blob(&self, digest: &str) -> Result<fs_err::File> {
        let path = self.blob_path(digest)?;
        match fs_err::File::open(&path) {
            Ok(f) => Ok(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(Error::BlobNotFound(digest.to_owned()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Reads a whole blob into memory (for manifests and configs).
    pub fn read_blob(&self, digest: &str) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.open_blob(digest)?.read_to_end(&mut out)?;
        Ok(out)
    }

    /// Size of a blob in bytes.
    pub fn blob_size(&self, digest: &str) -> Result<u64> {
        let path = self.blob_path(digest)?;
        match fs_err::metadata(&path) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(Error::BlobNotFound(digest.to_owned()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a blob; `false` if it was not there.
    pub fn delete_blob(&self, digest: &str) -> Result<bool> {
        let path = self.blob_path(digest)?;
        match fs_err::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
