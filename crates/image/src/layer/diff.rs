//! Making a layer tar from an overlayfs upper directory (for `commit` and `build`): overlay
//! whiteouts (0/0 character devices) become `.wh.<name>` entries and opaque directories get
//! a `.wh..wh..opq` entry. Entries are sorted and carry numeric owners only, so the same
//! directory always gives the same tar and the same `diff_id`.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::Path;

use tar::{EntryType, Header};

use crate::digest::{Algorithm, Digest, Hasher};
use crate::error::{Error, Result};

/// What [`write_diff`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffInfo {
    /// sha256 of the tar written.
    pub diff_id: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// Writes the layer tar for `upper` to `out`. `user_xattr` reads opaque markers from
/// `user.overlay.opaque` instead of `trusted.overlay.opaque`.
///
/// # Errors
/// I/O errors naming the path.
pub fn write_diff<W: Write>(upper: &Path, out: W, user_xattr: bool) -> Result<DiffInfo> {
    let mut hw = HashingWriter {
        inner: out,
        hasher: Hasher::new(Algorithm::Sha256),
        count: 0,
    };
    {
        let mut b = tar::Builder::new(&mut hw);
        let mut w = Walker {
            b: &mut b,
            links: HashMap::new(),
            opaque: if user_xattr {
                "user.overlay.opaque"
            } else {
                "trusted.overlay.opaque"
            },
        };
        w.dir(upper, "")?;
        b.finish().map_err(|source| Error::Path {
            op: "writing layer tar for",
            path: upper.to_path_buf(),
            source,
        })?;
    }
    hw.inner.flush()?;
    Ok(DiffInfo {
        diff_id: hw.hasher.finish(),
        size: hw.count,
    })
}

struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
    count: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

struct Walker<'a, 'b, W: Write> {
    b: &'a mut tar::Builder<&'b mut HashingWriter<W>>,
    /// (dev, inode) → first path, for hard links.
    links: HashMap<(u64, u64), String>,
    opaque: &'static str,
}

impl<W: Write> Walker<'_, '_, W> {
    fn dir(&mut self, dir: &Path, prefix: &str) -> Result<()> {
        let mut names: Vec<_> = fs_err::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()?;
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let rel = format!("{prefix}{}", name.to_string_lossy());
            let io = |source| Error::Path {
                op: "adding to layer",
                path: path.clone(),
                source,
            };
            let md = fs_err::symlink_metadata(&path)?;
            let ft = md.file_type();
            if ft.is_char_device() && md.rdev() == 0 {
                let wh = format!("{prefix}.wh.{}", name.to_string_lossy());
                let h = header(&md, EntryType::Regular, 0);
                self.b
                    .append_data(&mut h.clone(), &wh, io::empty())
                    .map_err(io)?;
                continue;
            }
            let xattrs = read_xattrs(&path);
            let pax: Vec<(String, Vec<u8>)> = xattrs
                .iter()
                .filter(|(k, _)| {
                    !k.starts_with("trusted.overlay.") && !k.starts_with("user.overlay.")
                })
                .cloned()
                .collect();
            if !pax.is_empty() {
                self.pax(&rel, &pax).map_err(io)?;
            }
            if ft.is_dir() {
                let mut h = header(&md, EntryType::Directory, 0);
                self.b
                    .append_data(&mut h, format!("{rel}/"), io::empty())
                    .map_err(io)?;
                if xattrs.iter().any(|(k, v)| k == self.opaque && v == b"y") {
                    let mut h = header(&md, EntryType::Regular, 0);
                    self.b
                        .append_data(&mut h, format!("{rel}/.wh..wh..opq"), io::empty())
                        .map_err(io)?;
                }
                self.dir(&path, &format!("{rel}/"))?;
            } else if ft.is_symlink() {
                let target = fs_err::read_link(&path)?;
                let mut h = header(&md, EntryType::Symlink, 0);
                self.b.append_link(&mut h, &rel, &target).map_err(io)?;
            } else if ft.is_file() {
                if md.nlink() > 1 {
                    if let Some(first) = self.links.get(&(md.dev(), md.ino())) {
                        let mut h = header(&md, EntryType::Link, 0);
                        self.b.append_link(&mut h, &rel, first).map_err(io)?;
                        continue;
                    }
                    self.links.insert((md.dev(), md.ino()), rel.clone());
                }
                let mut h = header(&md, EntryType::Regular, md.len());
                let f = fs_err::File::open(&path)?;
                self.b.append_data(&mut h, &rel, f).map_err(io)?;
            } else {
                let kind = if ft.is_char_device() {
                    EntryType::Char
                } else if ft.is_block_device() {
                    EntryType::Block
                } else if ft.is_fifo() {
                    EntryType::Fifo
                } else {
                    continue; // sockets cannot be stored in a tar
                };
                let mut h = header(&md, kind, 0);
                let (major, minor) = (rustix::fs::major(md.rdev()), rustix::fs::minor(md.rdev()));
                h.set_device_major(major).map_err(io)?;
                h.set_device_minor(minor).map_err(io)?;
                self.b.append_data(&mut h, &rel, io::empty()).map_err(io)?;
            }
        }
        Ok(())
    }

    fn pax(&mut self, rel: &str, xattrs: &[(String, Vec<u8>)]) -> io::Result<()> {
        let mut data = Vec::new();
        for (k, v) in xattrs {
            data.extend(pax_record(&format!("SCHILY.xattr.{k}"), v));
        }
        let mut h = Header::new_ustar();
        h.set_entry_type(EntryType::XHeader);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        let short: String = rel
            .chars()
            .rev()
            .take(80)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        h.set_path(format!("PaxHeaders/{short}"))
            .or_else(|_| h.set_path("PaxHeaders/entry"))?;
        h.set_cksum();
        self.b.append(&h, &data[..])
    }
}

/// One PAX record: `"<len> key=value\n"`, where len counts the whole record.
pub(crate) fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    let mut out = format!("{len} {key}=").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

fn header(md: &std::fs::Metadata, kind: EntryType, size: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(md.mode() & 0o7777);
    h.set_uid(u64::from(md.uid()));
    h.set_gid(u64::from(md.gid()));
    h.set_mtime(u64::try_from(md.mtime()).unwrap_or(0));
    h
}

fn read_xattrs(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names = vec![0u8; 4096];
    let Ok(n) = rustix::fs::llistxattr(path, &mut names) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in names[..n].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let mut value = vec![0u8; 65536];
        if let Ok(len) = rustix::fs::lgetxattr(path, OsStr::from_bytes(name), &mut value) {
            value.truncate(len);
            out.push((String::from_utf8_lossy(name).into_owned(), value));
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths() {
        for (k, v, want) in [("a", "b", "6 a=b\n"), ("path", "x", "9 path=x\n")] {
            assert_eq!(
                String::from_utf8(pax_record(k, v.as_bytes())).unwrap(),
                want
            );
        }
        let long = "v".repeat(95);
        let r = pax_record("k", long.as_bytes());
        assert_eq!(
            r.len().to_string(),
            String::from_utf8_lossy(&r).split(' ').next().unwrap()
        );
    }
}
