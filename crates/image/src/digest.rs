//! Content digests (`sha256:<hex>`) and readers that verify content while it streams.

use std::fmt;
use std::io::{self, Read};
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};

use sha2::{Digest as _, Sha256, Sha512};
use tokio::io::{AsyncRead, ReadBuf};

use crate::error::{Error, Result};

/// A hash algorithm that digests may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// `sha256`, what every registry and image uses.
    Sha256,
    /// `sha512`, allowed by the OCI spec.
    Sha512,
}

impl Algorithm {
    /// The algorithm's name as it appears before the colon.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Self::Sha256 => 64,
            Self::Sha512 => 128,
        }
    }
}

/// A validated content digest such as `sha256:e3b0c442…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Parses and validates `algorithm:hex` (lowercase hex of the algorithm's length).
    ///
    /// # Errors
    /// [`Error::InvalidDigest`] naming the text and what is wrong.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidDigest {
            digest: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (alg, hex) = text
            .split_once(':')
            .ok_or_else(|| bad("expected algorithm:hex"))?;
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => return Err(bad("unsupported digest algorithm")),
        };
        if hex.len() != algorithm.hex_len()
            || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(bad(&format!(
                "expected {} lowercase hex characters",
                algorithm.hex_len()
            )));
        }
        Ok(Self {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// The sha256 digest of `bytes`.
    #[must_use]
    pub fn sha256_of(bytes: &[u8]) -> Self {
        Self {
            algorithm: Algorithm::Sha256,
            hex: hex::encode(Sha256::digest(bytes)),
        }
    }

    /// The digest of `bytes` with this digest's algorithm.
    #[must_use]
    pub fn same_algorithm_of(&self, bytes: &[u8]) -> Self {
        let mut h = Hasher::new(self.algorithm);
        h.update(bytes);
        h.finish()
    }

    /// The algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hex part, after the colon.
    #[must_use]
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Checks that `bytes` hash to this digest.
    ///
    /// # Errors
    /// [`Error::DigestMismatch`] with both digests; `what` says what was checked.
    pub fn verify(&self, what: &str, bytes: &[u8]) -> Result<()> {
        let actual = self.same_algorithm_of(bytes);
        if actual == *self {
            Ok(())
        } else {
            Err(Error::DigestMismatch {
                what: what.to_owned(),
                expected: self.to_string(),
                actual: actual.to_string(),
            })
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

impl FromStr for Digest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An incremental hasher for either algorithm.
#[derive(Clone)]
pub enum Hasher {
    /// sha256 state.
    Sha256(Sha256),
    /// sha512 state.
    Sha512(Sha512),
}

impl Hasher {
    /// A fresh hasher.
    #[must_use]
    pub fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha256 => Self::Sha256(Sha256::new()),
            Algorithm::Sha512 => Self::Sha512(Sha512::new()),
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(bytes),
            Self::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest of everything fed.
    #[must_use]
    pub fn finish(self) -> Digest {
        match self {
            Self::Sha256(h) => Digest {
                algorithm: Algorithm::Sha256,
                hex: hex::encode(h.finalize()),
            },
            Self::Sha512(h) => Digest {
                algorithm: Algorithm::Sha512,
                hex: hex::encode(h.finalize()),
            },
        }
    }
}

/// The check shared by the sync and async verifying readers.
struct Check {
    what: String,
    expected: Digest,
    size: Option<u64>,
    hasher: Option<Hasher>,
    seen: u64,
}

impl Check {
    fn new(what: String, expected: Digest, size: Option<u64>) -> Self {
        let hasher = Some(Hasher::new(expected.algorithm));
        Self {
            what,
            expected,
            size,
            hasher,
            seen: 0,
        }
    }

    /// Feeds `n` new bytes; at EOF (`bytes` empty) compares. Errors are `io::Error`s wrapping
    /// [`Error`], so callers that read to the end see the mismatch instead of a clean EOF.
    fn feed(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            let Some(hasher) = self.hasher.take() else {
                return Ok(());
            };
            if let Some(size) = self.size
                && size != self.seen
            {
                return Err(io_err(Error::SizeMismatch {
                    digest: self.expected.to_string(),
                    expected: size,
                    actual: self.seen,
                }));
            }
            let actual = hasher.finish();
            if actual != self.expected {
                return Err(io_err(Error::DigestMismatch {
                    what: self.what.clone(),
                    expected: self.expected.to_string(),
                    actual: actual.to_string(),
                }));
            }
            return Ok(());
        }
        self.seen += bytes.len() as u64;
        if let Some(size) = self.size
            && self.seen > size
        {
            return Err(io_err(Error::SizeMismatch {
                digest: self.expected.to_string(),
                expected: size,
                actual: self.seen,
            }));
        }
        if let Some(h) = self.hasher.as_mut() {
            h.update(bytes);
        }
        Ok(())
    }
}

pub(crate) fn io_err(e: Error) -> io::Error {
    io::Error::other(e)
}

/// Turns an `io::Error` that wraps one of ours back into it.
pub(crate) fn from_io(e: io::Error) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        match e.into_inner().map(|b| b.downcast::<Error>()) {
            Some(Ok(inner)) => *inner,
            Some(Err(other)) => Error::Io(io::Error::other(other)),
            None => Error::Io(io::Error::other("unknown")),
        }
    } else {
        Error::Io(e)
    }
}

/// A `Read` that hashes what passes through and, instead of a clean end of file, returns an
/// error when the content does not match the expected digest (or size).
///
/// ```
/// use std::io::Read;
/// use berth_image::{Digest, VerifyingReader};
/// let d = Digest::sha256_of(b"hello");
/// let mut r = VerifyingReader::new(&b"hello"[..], d, Some(5), "greeting");
/// let mut s = String::new();
/// r.read_to_string(&mut s).unwrap();
/// ```
pub struct VerifyingReader<R> {
    inner: R,
    check: Check,
}

impl<R: Read> VerifyingReader<R> {
    /// Wraps `inner`; `what` names the content in errors.
    pub fn new(inner: R, expected: Digest, size: Option<u64>, what: impl Into<String>) -> Self {
        Self {
            inner,
            check: Check::new(what.into(), expected, size),
        }
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.check.feed(&buf[..n])?;
        Ok(n)
    }
}

/// The async twin of [`VerifyingReader`].
pub struct VerifyingAsyncReader<R> {
    inner: R,
    check: Check,
}

impl<R: AsyncRead + Unpin> VerifyingAsyncReader<R> {
    /// Wraps `inner`; `what` names the content in errors.
    pub fn new(inner: R, expected: Digest, size: Option<u64>, what: impl Into<String>) -> Self {
        Self {
            inner,
            check: Check::new(what.into(), expected, size),
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for VerifyingAsyncReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => Poll::Ready(this.check.feed(&buf.filled()[before..])),
            other => other,
        }
    }
}

/// A `Read` that hashes and counts what passes through, for computing a `diff_id` while
/// unpacking.
pub struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner` with a sha256 hasher.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Hasher::new(Algorithm::Sha256),
            count: 0,
        }
    }

    /// The digest and byte count of everything read so far.
    #[must_use]
    pub fn finish(self) -> (Digest, u64) {
        (self.hasher.finish(), self.count)
    }

    /// The inner reader, the digest and the byte count.
    #[must_use]
    pub fn into_parts(self) -> (R, Digest, u64) {
        (self.inner, self.hasher.finish(), self.count)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parse_table() {
        let ok = [EMPTY, &format!("sha512:{}", "a".repeat(128))];
        for d in ok {
            assert_eq!(Digest::parse(d).unwrap().to_string(), *d);
        }
        let bad = [
            "",
            "sha256",
            "sha256:",
            "sha256:abc",
            &format!("sha256:{}", "A".repeat(64)),
            &format!("sha256:{}", "g".repeat(64)),
            &format!("md5:{}", "a".repeat(32)),
            &format!("sha512:{}", "a".repeat(64)),
        ];
        for d in bad {
            assert!(Digest::parse(d).is_err(), "{d} should be rejected");
        }
    }

    #[test]
    fn sha256_of_empty() {
        assert_eq!(Digest::sha256_of(b"").to_string(), EMPTY);
        assert!(Digest::parse(EMPTY).unwrap().verify("x", b"").is_ok());
        assert!(matches!(
            Digest::parse(EMPTY).unwrap().verify("x", b"a"),
            Err(Error::DigestMismatch { .. })
        ));
    }

    #[test]
    fn verifying_reader_good_and_bad() {
        let d = Digest::sha256_of(b"hello world");
        let mut out = Vec::new();
        VerifyingReader::new(&b"hello world"[..], d.clone(), Some(11), "b")
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"hello world");

        let err = VerifyingReader::new(&b"hello worle"[..], d.clone(), None, "blob x")
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        let err = from_io(err);
        let msg = err.to_string();
        assert!(matches!(err, Error::DigestMismatch { .. }), "{msg}");
        assert!(
            msg.contains(&d.to_string())
                && msg.contains(&Digest::sha256_of(b"hello worle").to_string()),
            "{msg}"
        );

        let err = VerifyingReader::new(&b"hello world!"[..], d.clone(), Some(11), "b")
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(matches!(
            from_io(err),
            Error::SizeMismatch { expected: 11, .. }
        ));
        let err = VerifyingReader::new(&b"hello"[..], d, Some(11), "b")
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(matches!(
            from_io(err),
            Error::SizeMismatch { actual: 5, .. }
        ));
    }

    #[tokio::test]
    async fn async_verifier() {
        let d = Digest::sha256_of(b"abc");
        let mut out = Vec::new();
        VerifyingAsyncReader::new(&b"abc"[..], d.clone(), Some(3), "b")
            .read_to_end(&mut out)
            .await
            .unwrap();
        assert_eq!(out, b"abc");
        let err = VerifyingAsyncReader::new(&b"abd"[..], d, Some(3), "b")
            .read_to_end(&mut Vec::new())
            .await
            .unwrap_err();
        assert!(matches!(from_io(err), Error::DigestMismatch { .. }));
    }
}
