//! Layer compression, recognised by magic bytes rather than trusted from a media type.

use std::io::{self, BufRead, Read};

/// How a layer stream is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (`1f 8b`).
    Gzip,
    /// zstd (`28 b5 2f fd`).
    Zstd,
    /// xz (`fd 37 7a 58 5a 00`), as in `docker save` archives compressed whole.
    Xz,
}

impl Compression {
    /// Recognises the compression from the first bytes of a stream.
    #[must_use]
    pub fn detect(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Self::Zstd
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Self::Xz
        } else {
            Self::None
        }
    }
}

/// A decompressing reader that gives its input back, so the caller can read the input to its
/// end (and let a digest verifier underneath see the end) after the tar is done.
pub(crate) enum Decoder<R: BufRead> {
    Plain(R),
    Gzip(flate2::bufread::MultiGzDecoder<R>),
    Zstd(zstd::stream::read::Decoder<'static, R>),
    Xz(xz2::bufread::XzDecoder<R>),
}

impl<R: BufRead> Decoder<R> {
    /// Peeks at `input` and wraps it in the right decoder.
    pub(crate) fn new(mut input: R) -> io::Result<(Self, Compression)> {
        let kind = Compression::detect(input.fill_buf()?);
        let d = match kind {
            Compression::None => Self::Plain(input),
            Compression::Gzip => Self::Gzip(flate2::bufread::MultiGzDecoder::new(input)),
            Compression::Zstd => Self::Zstd(zstd::stream::read::Decoder::with_buffer(input)?),
            Compression::Xz => Self::Xz(xz2::bufread::XzDecoder::new_multi_decoder(input)),
        };
        Ok((d, kind))
    }

    /// The compressed input, positioned after what the decoder consumed.
    pub(crate) fn into_inner(self) -> R {
        match self {
            Self::Plain(r) => r,
            Self::Gzip(d) => d.into_inner(),
            Self::Zstd(d) => d.finish(),
            Self::Xz(d) => d.into_inner(),
        }
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(r) => r.read(buf),
            Self::Gzip(d) => d.read(buf),
            Self::Zstd(d) => d.read(buf),
            Self::Xz(d) => d.read(buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn round_trips_every_kind() {
        let data = b"hello layer".repeat(1000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&data[..], 1).unwrap();
        let mut xz = xz2::write::XzEncoder::new(Vec::new(), 1);
        xz.write_all(&data).unwrap();
        let xz = xz.finish().unwrap();
        for (bytes, kind) in [
            (&data, Compression::None),
            (&gz, Compression::Gzip),
            (&zst, Compression::Zstd),
            (&xz, Compression::Xz),
        ] {
            let (mut d, k) = Decoder::new(&bytes[..]).unwrap();
            assert_eq!(k, kind);
            let mut out = Vec::new();
            d.read_to_end(&mut out).unwrap();
            assert_eq!(out, data, "{kind:?}");
        }
    }
}
