//! Reading from a registry: manifests, blobs, tags, and the search the v2 API lacks.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::TryStreamExt as _;
use oci_spec::image::ImageManifest;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt as _, ReadBuf};
use tokio_util::io::StreamReader;

use super::Client;
use super::transport::{Endpoint, Req, status_error};
use crate::digest::{Digest, VerifyingAsyncReader, from_io};
use crate::error::{Error, Result};
use crate::manifest::{self, Kind, MANIFEST_MEDIA_TYPES, Manifest, Platform};
use crate::reference::{DOCKER_HUB, Reference};

/// A manifest as the registry served it, verified.
#[derive(Debug, Clone)]
pub struct ResolvedManifest {
    /// The digest of `bytes` (checked against the reference's pinned digest and the
    /// registry's `Docker-Content-Digest`).
    pub digest: Digest,
    /// Which kind of document it is.
    pub kind: Kind,
    /// The exact bytes (their hash is the digest; never re-serialize them).
    pub bytes: Bytes,
    /// The parsed document.
    pub manifest: Manifest,
}

/// A platform's image manifest, reached through an index when there was one.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// The digest of the index or list the reference pointed to, if it was one.
    pub index_digest: Option<Digest>,
    /// The image manifest's digest.
    pub digest: Digest,
    /// Its media type kind.
    pub kind: Kind,
    /// Its exact bytes.
    pub bytes: Bytes,
    /// The parsed manifest.
    pub manifest: ImageManifest,
}

/// A blob being downloaded. Reading it to the end either succeeds — the content matched its
/// digest and size — or fails with [`Error::DigestMismatch`]/[`Error::SizeMismatch`] wrapped
/// in the `io::Error` ([`Error::from_io`] gives it back typed).
pub struct BlobReader {
    inner: Pin<Box<dyn AsyncRead + Send>>,
    size: Option<u64>,
}

impl BlobReader {
    /// The size the registry announced.
    #[must_use]
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Reads the whole blob into memory (for configs and small blobs), verified.
    ///
    /// # Errors
    /// Digest or size mismatches, network errors.
    pub async fn into_bytes(mut self) -> Result<Vec<u8>> {
        let mut out =
            Vec::with_capacity(usize::try_from(self.size.unwrap_or(0).min(64 << 20)).unwrap_or(0));
        self.read_to_end(&mut out).await.map_err(from_io)?;
        Ok(out)
    }
}

impl AsyncRead for BlobReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.inner.as_mut().poll_read(cx, buf)
    }
}

pub(super) fn pull_scope(r: &Reference) -> String {
    format!("repository:{}:pull", r.repository())
}

impl Client {
    /// The endpoints to pull `r` from: Docker Hub's mirrors first, then the registry.
    async fn pull_endpoints(&self, r: &Reference) -> Vec<Endpoint> {
        let mut eps: Vec<Endpoint> = if r.domain() == DOCKER_HUB {
            self.opts
                .mirrors
                .iter()
                .map(|m| self.mirror_endpoint(m))
                .collect()
        } else {
            Vec::new()
        };
        eps.push(self.endpoint(r.registry_host()).await);
        eps
    }

    /// Runs `f` against each pull endpoint until one answers; mirrors that fail are skipped
    /// (as Docker does), the registry's own error is the one reported.
    async fn on_pull_endpoints<T, F, Fut>(&self, r: &Reference, f: F) -> Result<T>
    where
        F: Fn(Endpoint) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let eps = self.pull_endpoints(r).await;
        let last = eps.len().saturating_sub(1);
        for (i, ep) in eps.into_iter().enumerate() {
            match f(ep).await {
                Ok(v) => return Ok(v),
                Err(e) if i == last => return Err(e),
                Err(_) => {}
            }
        }
        Err(Error::Protocol {
            registry: r.registry_host().to_owned(),
            reason: "no endpoint to pull from".to_owned(),
        })
    }

    /// Fetches the manifest `r` names (by digest when it pins one, else by tag), with an
    /// `Accept` of all four manifest media types, and verifies its digest.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::DigestMismatch`], [`Error::UnsupportedMediaType`], …
    pub async fn resolve_manifest(&self, r: &Reference) -> Result<ResolvedManifest> {
        self.fetch_manifest(r, &r.api_reference(), r.digest()).await
    }

    async fn fetch_manifest(
        &self,
        r: &Reference,
        reference: &str,
        pinned: Option<&Digest>,
    ) -> Result<ResolvedManifest> {
        let scope = pull_scope(r);
        let target = format!("/v2/{}/manifests/{reference}", r.repository());
        self.on_pull_endpoints(r, |ep| {
            let (scope, target) = (&scope, &target);
            async move {
                let mut req = Req::new(Method::GET, target.clone(), scope);
                req.headers
                    .insert(ACCEPT, HeaderValue::from_static(ACCEPT_MANIFESTS));
                let resp = self.send(&ep, &req).await?;
                let url = resp.url().to_string();
                match resp.status() {
                    s if s.is_success() => {}
                    StatusCode::NOT_FOUND => {
                        return Err(Error::NotFound {
                            what: format!("manifest {reference}"),
                            repository: r.name(),
                        });
                    }
                    _ => return Err(status_error(&Method::GET, &url, resp).await),
                }
                let media_type = resp
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let header_digest = resp
                    .headers()
                    .get("docker-content-digest")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let bytes = resp.bytes().await.map_err(|source| Error::Http {
                    url: url.clone(),
                    source,
                })?;
                let what = format!("manifest {}@{reference}", r.name());
                // Nothing from a registry is trusted before its digest matched: the pinned
                // digest first, else the one the registry claims, else we compute it.
                let digest = match (pinned, header_digest) {
                    (Some(d), _) => {
                        d.verify(&what, &bytes)?;
                        d.clone()
                    }
                    (None, Some(h)) => {
                        let d = Digest::parse(&h)?;
                        d.verify(&what, &bytes)?;
                        d
                    }
                    (None, None) => Digest::sha256_of(&bytes),
                };
                let (kind, manifest) = manifest::parse(media_type.as_deref(), &bytes)?;
                Ok(ResolvedManifest {
                    digest,
                    kind,
                    bytes,
                    manifest,
                })
            }
        })
        .await
    }

    /// The digest the registry reports for `r`'s manifest (`HEAD`, no body): a cheap way to
    /// see whether a tag moved since the last pull. `None` when the registry does not say.
    /// Only a hint: the bytes are verified when they are fetched.
    ///
    /// # Errors
    /// [`Error::NotFound`], transport and authentication errors.
    pub async fn manifest_digest(&self, r: &Reference) -> Result<Option<Digest>> {
        let scope = pull_scope(r);
        let reference = r.api_reference();
        let target = format!("/v2/{}/manifests/{reference}", r.repository());
        self.on_pull_endpoints(r, |ep| {
            let (scope, target, reference) = (&scope, &target, &reference);
            async move {
                let mut req = Req::new(Method::HEAD, target.clone(), scope);
                req.headers
                    .insert(ACCEPT, HeaderValue::from_static(ACCEPT_MANIFESTS));
                let resp = self.send(&ep, &req).await?;
                match resp.status() {
                    s if s.is_success() => {}
                    StatusCode::NOT_FOUND => {
                        return Err(Error::NotFound {
                            what: format!("manifest {reference}"),
                            repository: r.name(),
                        });
                    }
                    _ => {
                        let url = resp.url().to_string();
                        return Err(status_error(&Method::HEAD, &url, resp).await);
                    }
                }
                resp.headers()
                    .get("docker-content-digest")
                    .and_then(|v| v.to_str().ok())
                    .map(Digest::parse)
                    .transpose()
            }
        })
        .await
    }

    /// Resolves `r` to the image manifest for `platform`, going through an index or
    /// manifest list when the reference names one.
    ///
    /// # Errors
    /// As [`Client::resolve_manifest`], plus [`Error::NoMatchingPlatform`].
    pub async fn resolve_image(&self, r: &Reference, platform: &Platform) -> Result<ResolvedImage> {
        let top = self.resolve_manifest(r).await?;
        match top.manifest {
            Manifest::Image(manifest) => Ok(ResolvedImage {
                index_digest: None,
                digest: top.digest,
                kind: top.kind,
                bytes: top.bytes,
                manifest: *manifest,
            }),
            Manifest::Index(index) => {
                let d = manifest::select_platform(&index, platform)?;
                let digest = Digest::parse(d.digest().as_ref())?;
                let m = self
                    .fetch_manifest(r, &digest.to_string(), Some(&digest))
                    .await?;
                match m.manifest {
                    Manifest::Image(manifest) => Ok(ResolvedImage {
                        index_digest: Some(top.digest),
                        digest: m.digest,
                        kind: m.kind,
                        bytes: m.bytes,
                        manifest: *manifest,
                    }),
                    Manifest::Index(_) => Err(Error::Protocol {
                        registry: r.registry_host().to_owned(),
                        reason: format!("index entry {digest} for {platform} is itself an index"),
                    }),
                }
            }
        }
    }

    /// Starts downloading blob `digest` of `r`'s repository. The returned reader verifies
    /// size (when given) and digest while streaming; see [`BlobReader`].
    ///
    /// # Errors
    /// [`Error::NotFound`] and transport errors (before the body starts).
    pub async fn fetch_blob(
        &self,
        r: &Reference,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<BlobReader> {
        let scope = pull_scope(r);
        let target = format!("/v2/{}/blobs/{digest}", r.repository());
        self.on_pull_endpoints(r, |ep| {
            let (scope, target) = (&scope, &target);
            async move {
                let resp = self
                    .send(&ep, &Req::new(Method::GET, target.clone(), scope))
                    .await?;
                let url = resp.url().to_string();
                match resp.status() {
                    s if s.is_success() => {}
                    StatusCode::NOT_FOUND => {
                        return Err(Error::NotFound {
                            what: format!("blob {digest}"),
                            repository: r.name(),
                        });
                    }
                    _ => return Err(status_error(&Method::GET, &url, resp).await),
                }
                let announced = resp.content_length();
                if let (Some(want), Some(got)) = (size, announced)
                    && want != got
                {
                    return Err(Error::SizeMismatch {
                        digest: digest.to_string(),
                        expected: want,
                        actual: got,
                    });
                }
                let stream = resp.bytes_stream().map_err(io::Error::other);
                let reader = VerifyingAsyncReader::new(
                    StreamReader::new(stream),
                    digest.clone(),
                    size.or(announced),
                    format!("blob {digest}"),
                );
                Ok(BlobReader {
                    inner: Box::pin(reader),
                    size: size.or(announced),
                })
            }
        })
        .await
    }

    /// Downloads a small blob (a config) into memory, verified.
    ///
    /// # Errors
    /// As [`Client::fetch_blob`], plus mismatches.
    pub async fn fetch_blob_bytes(
        &self,
        r: &Reference,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<Vec<u8>> {
        self.fetch_blob(r, digest, size).await?.into_bytes().await
    }

    /// Whether the repository has blob `digest` (HEAD); its size when it does.
    ///
    /// # Errors
    /// Transport and authentication errors.
    pub async fn blob_exists(&self, r: &Reference, digest: &Digest) -> Result<Option<u64>> {
        let ep = self.endpoint(r.registry_host()).await;
        let scope = pull_scope(r);
        let target = format!("/v2/{}/blobs/{digest}", r.repository());
        let resp = self
            .send(&ep, &Req::new(Method::HEAD, target, &scope))
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(Some(
                resp.headers()
                    .get(CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            )),
            StatusCode::NOT_FOUND => Ok(None),
            _ => {
                let url = resp.url().to_string();
                Err(status_error(&Method::HEAD, &url, resp).await)
            }
        }
    }

    /// The repository's tags, following `Link` pagination.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown repository, transport errors.
    pub async fn list_tags(&self, r: &Reference) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Tags {
            tags: Option<Vec<String>>,
        }
        let ep = self.endpoint(r.registry_host()).await;
        let scope = pull_scope(r);
        let mut target = format!("/v2/{}/tags/list", r.repository());
        let mut all = Vec::new();
        for _ in 0..1000 {
            let resp = self
                .send(&ep, &Req::new(Method::GET, target.clone(), &scope))
                .await?;
            let url = resp.url().to_string();
            match resp.status() {
                s if s.is_success() => {}
                StatusCode::NOT_FOUND => {
                    return Err(Error::NotFound {
                        what: "repository".to_owned(),
                        repository: r.name(),
                    });
                }
                _ => return Err(status_error(&Method::GET, &url, resp).await),
            }
            let next = resp
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let bytes = resp.bytes().await.map_err(|source| Error::Http {
                url: url.clone(),
                source,
            })?;
            let page: Tags = serde_json::from_slice(&bytes)
                .map_err(|e| Error::json(format!("tag list from {url}"), e))?;
            all.extend(page.tags.unwrap_or_default());
            match next {
                Some(n) => target = n,
                None => return Ok(all),
            }
        }
        Ok(all)
    }

    /// What the v2 API offers instead of search: the repositories in `_catalog` whose name
    /// contains `term`. Registries that do not list their catalog (Docker Hub among them)
    /// get [`Error::SearchUnsupported`].
    ///
    /// # Errors
    /// [`Error::SearchUnsupported`], transport errors.
    pub async fn search(&self, host: &str, term: &str) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Catalog {
            repositories: Option<Vec<String>>,
        }
        let host = if host == DOCKER_HUB {
            crate::reference::DOCKER_HUB_API
        } else {
            host
        };
        let unsupported = || Error::SearchUnsupported {
            registry: host.to_owned(),
        };
        let ep = self.endpoint(host).await;
        let resp = match self
            .send(
                &ep,
                &Req::new(Method::GET, "/v2/_catalog?n=1000", "registry:catalog:*"),
            )
            .await
        {
            Ok(r) => r,
            Err(Error::Unauthorized { .. }) => return Err(unsupported()),
            Err(e) => return Err(e),
        };
        if !resp.status().is_success() {
            return Err(unsupported());
        }
        let bytes = resp.bytes().await.map_err(|_| unsupported())?;
        let cat: Catalog = serde_json::from_slice(&bytes).map_err(|_| unsupported())?;
        Ok(cat
            .repositories
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.contains(term))
            .collect())
    }

    /// Checks that the credentials for `host` are accepted (`GET /v2/`, authenticating as
    /// asked).
    ///
    /// # Errors
    /// [`Error::Unauthorized`] when they are not.
    pub async fn check_login(&self, host: &str) -> Result<()> {
        let ep = self.endpoint(host).await;
        let resp = self.send(&ep, &Req::new(Method::GET, "/v2/", "")).await?;
        if resp.status().is_success() {
            return Ok(());
        }
        let url = resp.url().to_string();
        Err(status_error(&Method::GET, &url, resp).await)
    }
}

const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
const _: () = assert!(MANIFEST_MEDIA_TYPES.len() == 4);

/// The target of a `Link: </v2/...>; rel="next"` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',')
        .find(|l| l.contains("rel=\"next\""))
        .and_then(|l| {
            let start = l.find('<')? + 1;
            let end = l.find('>')?;
            l.get(start..end).map(str::to_owned)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(next_link(r#"<x>; rel="prev""#), None);
    }

    #[test]
    fn accept_lists_every_manifest_type() {
        for m in MANIFEST_MEDIA_TYPES {
            assert!(ACCEPT_MANIFESTS.contains(m), "{m}");
        }
    }
}
