//! Digests, chain ids and ids: the store checks every one it is handed.

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// The only algorithm the store accepts.
pub const SHA256_PREFIX: &str = "sha256:";

/// Checks that `digest` is `sha256:<64 lowercase hex>` and returns the hex part.
pub fn digest_hex(digest: &str) -> Result<&str> {
    match digest.strip_prefix(SHA256_PREFIX) {
        Some(hex) if is_hex64(hex) => Ok(hex),
        _ => Err(Error::InvalidDigest(digest.to_owned())),
    }
}

/// True for exactly 64 lowercase hex digits.
pub fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("{SHA256_PREFIX}{:x}", Sha256::digest(bytes))
}

/// Chain ids of a layer stack, base first, as the OCI image spec defines
/// them: `chain[0] = diff[0]`, `chain[n] = sha256(chain[n-1] + " " + diff[n])`.
pub fn chain_ids<S: AsRef<str>>(diff_ids: &[S]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(diff_ids.len());
    for diff in diff_ids {
        let diff = diff.as_ref();
        digest_hex(diff)?;
        let next = match out.last() {
            None => diff.to_owned(),
            Some(prev) => sha256_digest(format!("{prev} {diff}").as_bytes()),
        };
        out.push(next);
    }
    Ok(out)
}

/// A fresh random 64-hex id (containers, networks), from the kernel's CSPRNG.
pub fn random_id() -> Result<String> {
    let mut buf = [0u8; 32];
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: the pointer and length describe the unfilled tail of `buf`.
        let n =
            unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0) };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::Io(err));
        }
        filled += n.unsigned_abs();
    }
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The 12-character form Docker prints (`3f2a9c0e1b7d`), digest prefix removed.
pub fn short_id(id: &str) -> String {
    let hex = id.strip_prefix(SHA256_PREFIX).unwrap_or(id);
    hex.chars().take(12).collect()
}

/// Now, in nanoseconds since the Unix epoch (the store's time unit).
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_validation() {
        let good = format!("sha256:{}", "a".repeat(64));
        assert_eq!(digest_hex(&good).unwrap(), "a".repeat(64));
        for bad in [
            "sha256:".to_owned(),
            format!("sha256:{}", "A".repeat(64)),
            format!("sha512:{}", "a".repeat(64)),
            format!("sha256:{}", "a".repeat(63)),
            format!("sha256:{}/..", "a".repeat(61)),
            "a".repeat(64),
        ] {
            assert!(matches!(digest_hex(&bad), Err(Error::InvalidDigest(d)) if d == bad));
        }
    }

    #[test]
    fn chain_ids_follow_the_oci_rule() {
        let a = sha256_digest(b"a");
        let b = sha256_digest(b"b");
        let c = sha256_digest(b"c");
        let chain = chain_ids(&[&a, &b, &c]).unwrap();
        assert_eq!(chain[0], a);
        let ab = sha256_digest(format!("{a} {b}").as_bytes());
        assert_eq!(chain[1], ab);
        assert_eq!(chain[2], sha256_digest(format!("{ab} {c}").as_bytes()));
        assert!(chain_ids(&["nope"]).is_err());
    }

    #[test]
    fn known_sha256() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn random_ids_are_hex_and_distinct() {
        let a = random_id().unwrap();
        let b = random_id().unwrap();
        assert!(is_hex64(&a) && is_hex64(&b));
        assert_ne!(a, b);
        assert_eq!(short_id(&a).len(), 12);
        assert_eq!(short_id(&format!("sha256:{a}")), a[..12]);
    }
}
