//! Image references as Docker reads them (the grammar of distribution's `reference`
//! package), normalized the way `docker pull` does.
//!
//! `alpine` is `docker.io/library/alpine:latest`; `user/app` is `docker.io/user/app:latest`;
//! the first path component is a registry host only when it contains `.` or `:`, is
//! `localhost`, or has uppercase letters.

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;
use crate::error::{Error, Result};

/// Docker Hub's name in references.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that serves Docker Hub's registry API.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";
const LEGACY_HUB: &str = "index.docker.io";
const OFFICIAL_PREFIX: &str = "library/";
const MAX_NAME: usize = 255;
const MAX_TAG: usize = 128;

/// A normalized image reference: registry domain, repository path, and a tag and/or digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses a reference as `docker pull` does and fills in the defaults: `docker.io`,
    /// `library/` for official images, and the tag `latest` when neither tag nor digest is given.
    ///
    /// ```
    /// let r = berth_image::Reference::parse("alpine").unwrap();
    /// assert_eq!(r.to_string(), "docker.io/library/alpine:latest");
    /// assert_eq!(r.familiar_name(), "alpine:latest");
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidReference`] saying what rule the text breaks.
    pub fn parse(text: &str) -> Result<Self> {
        let mut r = Self::parse_normalized_named(text)?;
        if r.tag.is_none() && r.digest.is_none() {
            r.tag = Some("latest".to_owned());
        }
        Ok(r)
    }

    /// Like [`Reference::parse`] but without adding `latest` (a bare name stays bare, as
    /// `docker images alpine` or `docker push --all-tags` need).
    ///
    /// # Errors
    /// [`Error::InvalidReference`].
    pub fn parse_normalized_named(text: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidReference {
            reference: text.to_owned(),
            reason: reason.to_owned(),
        };
        if text.is_empty() {
            return Err(bad("repository name must have at least one component"));
        }
        if text.len() == 64
            && text
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(bad(
                "cannot specify 64-byte hexadecimal strings as a repository name",
            ));
        }
        let (domain, remainder) = split_docker_domain(text);
        let remote = remainder
            .split_once(':')
            .map_or(remainder.as_str(), |(n, _)| n);
        if remote.to_lowercase() != remote {
            return Err(bad(&format!(
                "repository name ({remote}) must be lowercase"
            )));
        }
        let full = format!("{domain}/{remainder}");
        Self::parse_full(&full).map_err(|e| match e {
            Error::InvalidReference { reason, .. } => bad(&reason),
            other => other,
        })
    }

    /// Parses a fully qualified `domain/path[:tag][@digest]` with no defaults applied.
    fn parse_full(text: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidReference {
            reference: text.to_owned(),
            reason: reason.to_owned(),
        };
        if text.is_empty() {
            return Err(bad("repository name must have at least one component"));
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, d)) => (
                rest,
                Some(Digest::parse(d).map_err(|e| bad(&e.to_string()))?),
            ),
            None => (text, None),
        };
        let last_slash = rest.rfind('/').unwrap_or(0);
        let (name, tag) = match rest.rfind(':') {
            Some(colon) if colon > last_slash => (&rest[..colon], Some(&rest[colon + 1..])),
            _ => (rest, None),
        };
        if let Some(tag) = tag
            && !valid_tag(tag)
        {
            return Err(bad("invalid tag format"));
        }
        if name.len() > MAX_NAME {
            return Err(bad(&format!(
                "repository name must not be more than {MAX_NAME} characters"
            )));
        }
        let (domain, path) = name
            .split_once('/')
            .ok_or_else(|| bad("repository name must have at least one component"))?;
        if !valid_domain(domain) {
            return Err(bad("invalid registry host"));
        }
        if path.is_empty() {
            return Err(bad("repository name must have at least one component"));
        }
        if !path.split('/').all(valid_path_component) {
            if path.to_lowercase() != path
                && path.to_lowercase().split('/').all(valid_path_component)
            {
                return Err(bad("repository name must be lowercase"));
            }
            return Err(bad(
                "repository name may contain only a-z, 0-9 and single separators (. _ __ -)",
            ));
        }
        Ok(Self {
            domain: domain.to_owned(),
            path: path.to_owned(),
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    /// The registry domain as written in references (`docker.io`, `localhost:5000`).
    #[must_use]
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The host (and port) to send registry API calls to: Docker Hub's API host for `docker.io`.
    #[must_use]
    pub fn registry_host(&self) -> &str {
        if self.domain == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.domain
        }
    }

    /// The repository path inside the registry (`library/alpine`, `a/b`).
    #[must_use]
    pub fn repository(&self) -> &str {
        &self.path
    }

    /// The tag, if any.
    #[must_use]
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the reference pins one.
    #[must_use]
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The fully qualified name without tag or digest (`docker.io/library/alpine`).
    #[must_use]
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The short name Docker prints for the repository (`alpine`, `user/app`,
    /// `localhost:5000/a/b`).
    #[must_use]
    pub fn familiar_repository(&self) -> String {
        if self.domain == DOCKER_HUB {
            match self.path.strip_prefix(OFFICIAL_PREFIX) {
                Some(short) if !short.contains('/') => short.to_owned(),
                _ => self.path.clone(),
            }
        } else {
            self.name()
        }
    }

    /// The short form Docker prints: `alpine:latest`, `user/app:v1`, `app@sha256:…`.
    #[must_use]
    pub fn familiar_name(&self) -> String {
        let mut s = self.familiar_repository();
        self.push_suffix(&mut s);
        s
    }

    /// The reference to ask a registry for: the digest when pinned, else the tag.
    #[must_use]
    pub fn api_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_owned(),
        }
    }

    /// A copy with another tag (and no digest).
    ///
    /// # Errors
    /// [`Error::InvalidReference`] when `tag` breaks the tag rules.
    pub fn with_tag(&self, tag: &str) -> Result<Self> {
        if !valid_tag(tag) {
            return Err(Error::InvalidReference {
                reference: tag.to_owned(),
                reason: "invalid tag format".to_owned(),
            });
        }
        Ok(Self {
            tag: Some(tag.to_owned()),
            digest: None,
            ..self.clone()
        })
    }

    /// A copy pinned to `digest` (the tag is kept, as Docker does for `name:tag@digest`).
    #[must_use]
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self {
            digest: Some(digest),
            ..self.clone()
        }
    }

    fn push_suffix(&self, s: &mut String) {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(&d.to_string());
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

impl FromStr for Reference {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// Docker's rule for where the registry ends: the first component is a domain only if it
/// contains `.` or `:`, is `localhost`, or is not all lowercase.
fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first.to_owned(), rest.to_owned())
        }
        _ => (DOCKER_HUB.to_owned(), name.to_owned()),
    };
    if domain == LEGACY_HUB {
        DOCKER_HUB.clone_into(&mut domain);
    }
    if domain == DOCKER_HUB && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_PREFIX}{remainder}");
    }
    (domain, remainder)
}

/// `[\w][\w.-]{0,127}`
fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_TAG
        && word(b[0])
        && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_path_component(c: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = c.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        let sep = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let s = &c[sep..i];
        if !(s == "." || s == "_" || s == "__" || s.bytes().all(|x| x == b'-')) {
            return false;
        }
    }
}

/// `host[:port]` where host is a DNS name (components of `[a-zA-Z0-9-]`, not starting or
/// ending with `-`) or a bracketed IPv6 address.
fn valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => ("x", Some(port)),
                None => return false,
            },
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    host.split('.').all(|c| {
        let b = c.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
    })
}

#[cfg(test)]
mod tests;
