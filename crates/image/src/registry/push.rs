//! Writing to a registry: blob uploads (monolithic or chunked), cross-repository mounts,
//! and manifests (always last, so a tag never points at missing blobs).

use bytes::Bytes;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LOCATION};
use reqwest::{Method, Response, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt as _};

use super::Client;
use super::transport::{Endpoint, Req, status_error};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::reference::Reference;

/// What [`Client::push_blob`] had to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// The repository already had the blob.
    Exists,
    /// The registry linked it from another repository.
    Mounted,
    /// The bytes were sent.
    Uploaded,
}

fn push_scope(r: &Reference) -> String {
    format!("repository:{}:pull,push", r.repository())
}

const OCTET: HeaderValue = HeaderValue::from_static("application/octet-stream");

impl Client {
    /// Makes sure the repository of `r` holds blob `digest`: nothing when it exists, a
    /// cross-repository mount from `mount_from` (a repository on the same registry) when
    /// possible, else an upload of `data` (`size` bytes; chunked above the chunk size).
    ///
    /// # Errors
    /// Transport errors, and the registry's refusal (e.g. a digest that does not match the
    /// bytes sent).
    pub async fn push_blob<R>(
        &self,
        r: &Reference,
        digest: &Digest,
        size: u64,
        data: R,
        mount_from: Option<&str>,
    ) -> Result<PushOutcome>
    where
        R: AsyncRead + Unpin + Send,
    {
        if self.blob_exists(r, digest).await?.is_some() {
            return Ok(PushOutcome::Exists);
        }
        if let Some(from) = mount_from
            && from != r.repository()
            && self.mount_blob(r, digest, from).await?
        {
            return Ok(PushOutcome::Mounted);
        }
        self.upload_blob(r, digest, size, data).await?;
        Ok(PushOutcome::Uploaded)
    }

    /// Asks the registry to link blob `digest` from repository `from` into `r`'s
    /// repository (`POST …/blobs/uploads/?mount=…&from=…`). `false` when it would not (the
    /// upload session it opened instead is cancelled).
    ///
    /// # Errors
    /// Transport and authentication errors.
    pub async fn mount_blob(&self, r: &Reference, digest: &Digest, from: &str) -> Result<bool> {
        let ep = self.endpoint(r.registry_host()).await;
        let scope = format!("{} repository:{from}:pull", push_scope(r));
        let target = format!(
            "/v2/{}/blobs/uploads/?mount={digest}&from={from}",
            r.repository()
        );
        let resp = self
            .send(&ep, &Req::new(Method::POST, target, &scope))
            .await?;
        match resp.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => {
                if let Ok(loc) = location(&ep, &resp) {
                    // Best effort: an abandoned session is collected by the registry anyway.
                    let _ = self.send(&ep, &Req::new(Method::DELETE, loc, &scope)).await;
                }
                Ok(false)
            }
            _ => {
                let url = resp.url().to_string();
                Err(status_error(&Method::POST, &url, resp).await)
            }
        }
    }

    /// Uploads `size` bytes from `data` as blob `digest`: one `PUT` when it fits the chunk
    /// size, else `PATCH` chunks and a final `PUT`. The registry checks the digest.
    ///
    /// # Errors
    /// Transport errors, I/O errors reading `data`, the registry's refusal.
    pub async fn upload_blob<R>(
        &self,
        r: &Reference,
        digest: &Digest,
        size: u64,
        mut data: R,
    ) -> Result<()>
    where
        R: AsyncRead + Unpin + Send,
    {
        let ep = self.endpoint(r.registry_host()).await;
        let scope = push_scope(r);
        let start = format!("/v2/{}/blobs/uploads/", r.repository());
        let mut req = Req::new(Method::POST, start, &scope);
        req.headers
            .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        let resp = self.send(&ep, &req).await?;
        if resp.status() != StatusCode::ACCEPTED {
            let url = resp.url().to_string();
            return Err(status_error(&Method::POST, &url, resp).await);
        }
        let mut loc = location(&ep, &resp)?;
        let chunk = self.opts.chunk_size.max(1);
        let mut final_body = Bytes::new();
        if size <= chunk as u64 {
            let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            (&mut data).take(size + 1).read_to_end(&mut buf).await?;
            check_len(digest, size, buf.len() as u64)?;
            final_body = Bytes::from(buf);
        } else {
            let mut offset = 0u64;
            loop {
                let mut buf = Vec::with_capacity(chunk);
                (&mut data).take(chunk as u64).read_to_end(&mut buf).await?;
                if buf.is_empty() {
                    break;
                }
                let end = offset + buf.len() as u64 - 1;
                let mut req = Req::new(Method::PATCH, loc.clone(), &scope);
                req.headers.insert(CONTENT_TYPE, OCTET);
                req.headers
                    .insert("content-range", header(&format!("{offset}-{end}")));
                req.body = Some(Bytes::from(buf));
                let resp = self.send(&ep, &req).await?;
                if resp.status() != StatusCode::ACCEPTED {
                    let url = resp.url().to_string();
                    return Err(status_error(&Method::PATCH, &url, resp).await);
                }
                loc = location(&ep, &resp)?;
                offset = end + 1;
            }
            check_len(digest, size, offset)?;
        }
        let sep = if loc.contains('?') { '&' } else { '?' };
        let mut req = Req::new(Method::PUT, format!("{loc}{sep}digest={digest}"), &scope);
        req.headers.insert(CONTENT_TYPE, OCTET);
        req.headers
            .insert(CONTENT_LENGTH, header(&final_body.len().to_string()));
        req.body = Some(final_body);
        let resp = self.send(&ep, &req).await?;
        if resp.status() == StatusCode::CREATED {
            return Ok(());
        }
        let url = resp.url().to_string();
        Err(status_error(&Method::PUT, &url, resp).await)
    }

    /// Stores a manifest under `r`'s tag (or digest) with `media_type`, after its blobs.
    /// Returns its digest (checked against the registry's answer).
    ///
    /// # Errors
    /// Transport errors, the registry's refusal (e.g. unknown blobs), a digest mismatch.
    pub async fn put_manifest(
        &self,
        r: &Reference,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<Digest> {
        let ep = self.endpoint(r.registry_host()).await;
        let scope = push_scope(r);
        let digest = Digest::sha256_of(&bytes);
        if let Some(pinned) = r.digest() {
            pinned.verify("manifest to push", &bytes)?;
        }
        let reference = r.tag().map_or_else(|| digest.to_string(), str::to_owned);
        let mut req = Req::new(
            Method::PUT,
            format!("/v2/{}/manifests/{reference}", r.repository()),
            &scope,
        );
        req.headers.insert(CONTENT_TYPE, header(media_type));
        req.body = Some(bytes);
        let resp = self.send(&ep, &req).await?;
        if resp.status() != StatusCode::CREATED {
            let url = resp.url().to_string();
            return Err(status_error(&Method::PUT, &url, resp).await);
        }
        if let Some(h) = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            && h != digest.to_string()
        {
            return Err(Error::DigestMismatch {
                what: format!("pushed manifest {r}"),
                expected: digest.to_string(),
                actual: h.to_owned(),
            });
        }
        Ok(digest)
    }
}

fn header(v: &str) -> HeaderValue {
    HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static(""))
}

fn check_len(digest: &Digest, expected: u64, actual: u64) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::SizeMismatch {
            digest: digest.to_string(),
            expected,
            actual,
        })
    }
}

/// The upload session URL from a `Location` header, made absolute.
fn location(ep: &Endpoint, resp: &Response) -> Result<String> {
    let loc = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::Protocol {
            registry: ep.host.clone(),
            reason: format!("{} answered without a Location header", resp.url()),
        })?;
    if loc.starts_with("http://") || loc.starts_with("https://") {
        Ok(loc.to_owned())
    } else if loc.starts_with('/') {
        Ok(format!("{}{loc}", ep.base))
    } else {
        Err(Error::Protocol {
            registry: ep.host.clone(),
            reason: format!("unusable upload location {loc}"),
        })
    }
}
