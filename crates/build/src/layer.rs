//! Writing a layer tar from planned entries and committing it to the store. The tar is
//! produced on a short-lived thread into a pipe and applied as it is written, so a
//! large `COPY` is read once and written once (the blob) plus its snapshot.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use berth_engine::Engine;
use tar::{EntryType, Header};

use crate::cache::Layer;
use crate::error::{Error, Result};

/// What an entry holds.
#[derive(Debug, Clone)]
pub enum Body {
    /// A directory.
    Dir,
    /// A regular file's contents, read from a host path.
    File(PathBuf),
    /// Inline contents (here-documents).
    Bytes(Vec<u8>),
    /// A symbolic link to this target.
    Symlink(String),
    /// A tar archive (optionally compressed) whose entries land below `path` (`ADD`).
    Archive(PathBuf),
}

/// One entry of a layer.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path inside the image, without the leading `/`.
    pub path: String,
    /// Contents.
    pub body: Body,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time (seconds).
    pub mtime: u64,
}

fn header(e: &Entry, kind: EntryType, size: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(e.mode);
    h.set_uid(u64::from(e.uid));
    h.set_gid(u64::from(e.gid));
    h.set_mtime(e.mtime);
    h.set_size(size);
    h
}

/// Opens an archive, undoing gzip or xz compression.
pub fn open_archive(path: &std::path::Path) -> Result<Box<dyn Read>> {
    let mut f = fs_err::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut magic = [0u8; 6];
    let n = f.read(&mut magic).map_err(|e| Error::io(path, e))?;
    let f = fs_err::File::open(path).map_err(|e| Error::io(path, e))?;
    let r = io::BufReader::new(f);
    Ok(match &magic[..n] {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::MultiGzDecoder::new(r)),
        [0xfd, b'7', b'z', b'X', b'Z', 0] => Box::new(xz2::read::XzDecoder::new(r)),
        _ => Box::new(r),
    })
}

/// Whether `path` is a tar archive `ADD` should extract (plain, gzip or xz).
pub fn is_archive(path: &std::path::Path) -> bool {
    let Ok(mut r) = open_archive(path) else {
        return false;
    };
    let mut block = vec![0u8; 512];
    let mut got = 0;
    while got < 512 {
        match r.read(&mut block[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    got == 512 && &block[257..262] == b"ustar"
}

fn write_entries<W: Write>(out: W, entries: &[Entry]) -> Result<()> {
    let mut b = tar::Builder::new(out);
    b.mode(tar::HeaderMode::Complete);
    for e in entries {
        let path = e.path.trim_start_matches('/');
        let werr = |err: io::Error| Error::io(path, err);
        match &e.body {
            Body::Dir => {
                let mut h = header(e, EntryType::Directory, 0);
                b.append_data(&mut h, format!("{path}/"), io::empty())
                    .map_err(werr)?;
            }
            Body::File(host) => {
                let f = fs_err::File::open(host).map_err(|err| Error::io(host, err))?;
                let size = f.metadata().map_err(|err| Error::io(host, err))?.len();
                let mut h = header(e, EntryType::Regular, size);
                b.append_data(&mut h, path, f).map_err(werr)?;
            }
            Body::Bytes(bytes) => {
                let mut h = header(e, EntryType::Regular, bytes.len() as u64);
                b.append_data(&mut h, path, &bytes[..]).map_err(werr)?;
            }
            Body::Symlink(target) => {
                let mut h = header(e, EntryType::Symlink, 0);
                b.append_link(&mut h, path, target).map_err(werr)?;
            }
            Body::Archive(host) => {
                let mut ar = tar::Archive::new(open_archive(host)?);
                let entries = ar.entries().map_err(|err| Error::io(host, err))?;
                for item in entries {
                    let mut item = item.map_err(|err| Error::io(host, err))?;
                    let inner = item.path().map_err(|err| Error::io(host, err))?;
                    let inner = crate::lowers::components(&inner.to_string_lossy()).join("/");
                    if inner.is_empty() {
                        continue;
                    }
                    let mut h = item.header().clone();
                    let link = item.link_name().ok().flatten().map(|l| l.into_owned());
                    let full = if path.is_empty() {
                        inner
                    } else {
                        format!("{path}/{inner}")
                    };
                    match h.entry_type() {
                        EntryType::Symlink => {
                            let l = link.unwrap_or_default();
                            b.append_link(&mut h, &full, l).map_err(werr)?;
                        }
                        EntryType::Link => {
                            let l = link.unwrap_or_default();
                            let l = crate::lowers::components(&l.to_string_lossy()).join("/");
                            let l = if path.is_empty() {
                                l
                            } else {
                                format!("{path}/{l}")
                            };
                            b.append_link(&mut h, &full, l).map_err(werr)?;
                        }
                        _ => {
                            b.append_data(&mut h, &full, &mut item).map_err(werr)?;
                        }
                    }
                }
            }
        }
    }
    b.into_inner().map_err(|err| Error::io("layer tar", err))?;
    Ok(())
}

/// Writes `entries` as a layer on top of `parent` and commits it.
pub fn commit(engine: &Engine, entries: &[Entry], parent: Option<&str>) -> Result<Layer> {
    let (reader, writer) =
        nix::unistd::pipe().map_err(|e| Error::io("pipe", io::Error::from(e)))?;
    let (reader, writer) = (std::fs::File::from(reader), std::fs::File::from(writer));
    std::thread::scope(|s| {
        let producer =
            s.spawn(move || write_entries(io::BufWriter::with_capacity(1 << 20, writer), entries));
        let committed =
            engine.commit_layer_tar(io::BufReader::with_capacity(1 << 20, reader), parent);
        let produced = producer
            .join()
            .unwrap_or_else(|_| Err(Error::io("layer tar", io::Error::other("writer panicked"))));
        produced?;
        Ok(committed?.into())
    })
}
