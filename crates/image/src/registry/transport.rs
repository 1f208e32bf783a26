//! One request to a registry: endpoint scheme, authentication, retries.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};

use super::challenge::{self, Challenge};
use super::{Client, Credential, is_loopback};
use crate::error::{Error, Result};

const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What a client learned about registries so far.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// `host` → `https://host` or `http://host`.
    bases: HashMap<String, String>,
    /// (`host`, scope) → bearer token.
    tokens: HashMap<(String, String), String>,
    /// Hosts that asked for basic auth.
    basic: HashSet<String>,
}

/// Where requests for one registry go.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// The registry host, the key for credentials and tokens.
    pub host: String,
    /// `scheme://host[:port]`.
    pub base: String,
    /// Whether TLS certificates are not checked.
    pub insecure: bool,
}

/// A request, kept so it can be sent again (retries, after authenticating).
pub(crate) struct Req<'a> {
    pub method: Method,
    /// A path starting with `/v2/` or an absolute URL (an upload `Location`).
    pub target: String,
    /// The token scope (`repository:name:pull`); several separated by spaces.
    pub scope: &'a str,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
}

impl<'a> Req<'a> {
    pub fn new(method: Method, target: impl Into<String>, scope: &'a str) -> Self {
        Self {
            method,
            target: target.into(),
            scope,
            headers: HeaderMap::new(),
            body: None,
        }
    }
}

impl Client {
    /// The endpoint for `host`: HTTPS, except that insecure and loopback registries fall back
    /// to plain HTTP when HTTPS does not answer.
    pub(crate) async fn endpoint(&self, host: &str) -> Endpoint {
        let insecure = self.is_insecure(host);
        let plain_ok = insecure || is_loopback(host);
        let cached = self.lock().bases.get(host).cloned();
        let base = match cached {
            Some(b) => b,
            None if !plain_ok => format!("https://{host}"),
            None => {
                let https = format!("https://{host}");
                let probe = self
                    .http_insecure
                    .get(format!("{https}/v2/"))
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                let base = if probe.is_ok() {
                    https
                } else {
                    format!("http://{host}")
                };
                self.lock().bases.insert(host.to_owned(), base.clone());
                base
            }
        };
        // Loopback needs no certificate check: nobody can sit between us and ourselves.
        Endpoint {
            host: host.to_owned(),
            base,
            insecure: plain_ok,
        }
    }

    /// An endpoint for a configured mirror URL.
    pub(crate) fn mirror_endpoint(&self, mirror: &str) -> Endpoint {
        let mirror = mirror.trim_end_matches('/');
        let (base, host) = if let Some(h) = mirror.strip_prefix("http://") {
            (mirror.to_owned(), h.to_owned())
        } else if let Some(h) = mirror.strip_prefix("https://") {
            (mirror.to_owned(), h.to_owned())
        } else {
            (format!("https://{mirror}"), mirror.to_owned())
        };
        let insecure = self.is_insecure(&host) || is_loopback(&host);
        Endpoint {
            host,
            base,
            insecure,
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves only caches behind; keep using them.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends `req`, authenticating on a 401 once, retrying transient failures. Answers other
    /// than 401 are returned as they are; the caller decides what a status means.
    pub(crate) async fn send(&self, ep: &Endpoint, req: &Req<'_>) -> Result<Response> {
        let mut authenticated = false;
        loop {
            let resp = self.send_retrying(ep, req).await?;
            if resp.status() != StatusCode::UNAUTHORIZED || authenticated {
                if resp.status() == StatusCode::UNAUTHORIZED {
                    return Err(Error::Unauthorized {
                        registry: ep.host.clone(),
                        message: error_message(resp).await,
                    });
                }
                return Ok(resp);
            }
            authenticated = true;
            let header = resp
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            match challenge::parse(&header) {
                Some(Challenge::Bearer {
                    realm,
                    service,
                    scope,
                }) => {
                    // The registry's scope names what it wants; ours may add more (mounts).
                    let mut scopes: Vec<&str> =
                        req.scope.split(' ').filter(|s| !s.is_empty()).collect();
                    if let Some(s) = scope.as_deref()
                        && !scopes.contains(&s)
                    {
                        scopes.push(s);
                    }
                    let token = self
                        .fetch_token(ep, &realm, service.as_deref(), &scopes)
                        .await?;
                    self.lock()
                        .tokens
                        .insert((ep.host.clone(), req.scope.to_owned()), token);
                }
                Some(Challenge::Basic) if self.credential(&ep.host)?.is_some() => {
                    self.lock().basic.insert(ep.host.clone());
                }
                _ => {
                    return Err(Error::Unauthorized {
                        registry: ep.host.clone(),
                        message: error_message(resp).await,
                    });
                }
            }
        }
    }

    fn authorization(&self, ep: &Endpoint, scope: &str) -> Result<Option<HeaderValue>> {
        let (token, basic) = {
            let st = self.lock();
            (
                st.tokens.get(&(ep.host.clone(), scope.to_owned())).cloned(),
                st.basic.contains(&ep.host),
            )
        };
        let value = match (token, basic) {
            (Some(t), _) => format!("Bearer {t}"),
            (None, true) => match self.credential(&ep.host)? {
                Some(Credential::Basic { username, password }) => {
                    format!("Basic {}", B64.encode(format!("{username}:{password}")))
                }
                _ => return Ok(None),
            },
            (None, false) => return Ok(None),
        };
        HeaderValue::from_str(&value)
            .map(Some)
            .map_err(|_| Error::Protocol {
                registry: ep.host.clone(),
                reason: "credential contains characters not allowed in an HTTP header".to_owned(),
            })
    }

    fn url(ep: &Endpoint, target: &str) -> String {
        if target.starts_with("http://") || target.starts_with("https://") {
            target.to_owned()
        } else {
            format!("{}{target}", ep.base)
        }
    }

    fn client_for(&self, insecure: bool) -> &reqwest::Client {
        if insecure {
            &self.http_insecure
        } else {
            &self.http
        }
    }

    /// Sends with bounded exponential backoff on connection errors and 5xx answers; 4xx
    /// answers are final.
    async fn send_retrying(&self, ep: &Endpoint, req: &Req<'_>) -> Result<Response> {
        let url = Self::url(ep, &req.target);
        let mut attempt = 0u32;
        loop {
            let mut rb = self
                .client_for(ep.insecure)
                .request(req.method.clone(), &url)
                .headers(req.headers.clone());
            if let Some(auth) = self.authorization(ep, req.scope)? {
                rb = rb.header(AUTHORIZATION, auth);
            }
            if let Some(body) = &req.body {
                rb = rb.body(body.clone());
            }
            match rb.send().await {
                Ok(resp) if resp.status().is_server_error() && attempt < self.opts.retries => {}
                Ok(resp) => return Ok(resp),
                Err(e)
                    if (e.is_connect() || e.is_timeout() || e.is_request())
                        && attempt < self.opts.retries => {}
                Err(source) => return Err(Error::Http { url, source }),
            }
            let delay = self
                .opts
                .backoff
                .saturating_mul(2u32.saturating_pow(attempt))
                .min(MAX_BACKOFF);
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn fetch_token(
        &self,
        ep: &Endpoint,
        realm: &str,
        service: Option<&str>,
        scopes: &[&str],
    ) -> Result<String> {
        let realm_host = realm
            .split("://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or("");
        let insecure = self.is_insecure(realm_host) || is_loopback(realm_host);
        let client = self.client_for(insecure);
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(s) = service {
            query.push(("service", s));
        }
        for s in scopes {
            query.push(("scope", s));
        }
        let rb = match self.credential(&ep.host)? {
            Some(Credential::IdentityToken { token }) => {
                // An identity token is an OAuth2 refresh token (distribution's token spec).
                let mut form = query.clone();
                form.extend([
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                    ("client_id", "berth"),
                ]);
                client.post(realm).form(&form)
            }
            Some(Credential::Basic { username, password }) => client
                .get(realm)
                .query(&query)
                .basic_auth(username, Some(password)),
            None => client.get(realm).query(&query),
        };
        let resp = rb.send().await.map_err(|source| Error::Http {
            url: realm.to_owned(),
            source,
        })?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(Error::Unauthorized {
                registry: ep.host.clone(),
                message: error_message(resp).await,
            });
        }
        if !status.is_success() {
            return Err(Error::RegistryStatus {
                method: "GET".to_owned(),
                url: realm.to_owned(),
                status: status.as_u16(),
                message: error_message(resp).await,
            });
        }
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let bytes = resp.bytes().await.map_err(|source| Error::Http {
            url: realm.to_owned(),
            source,
        })?;
        let t: Token = serde_json::from_slice(&bytes)
            .map_err(|e| Error::json(format!("token answer from {realm}"), e))?;
        t.token
            .or(t.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Protocol {
                registry: ep.host.clone(),
                reason: format!("token endpoint {realm} returned no token"),
            })
    }
}

/// The registry's error text: the messages of its JSON `errors`, else the body's start.
pub(crate) async fn error_message(resp: Response) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        code: Option<String>,
        message: Option<String>,
    }
    let status = resp.status();
    let body = resp.bytes().await.unwrap_or_default();
    if let Ok(e) = serde_json::from_slice::<Errors>(&body)
        && !e.errors.is_empty()
    {
        return e
            .errors
            .iter()
            .map(|i| match (&i.code, &i.message) {
                (Some(c), Some(m)) => format!("{}: {m}", c.to_lowercase()),
                (Some(c), None) => c.to_lowercase(),
                (None, Some(m)) => m.clone(),
                (None, None) => String::new(),
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(200)])
        .trim()
        .to_owned();
    if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no message")
            .to_lowercase()
    } else {
        text
    }
}

/// Turns a non-success answer into [`Error::RegistryStatus`].
pub(crate) async fn status_error(method: &Method, url: &str, resp: Response) -> Error {
    let status = resp.status().as_u16();
    Error::RegistryStatus {
        method: method.to_string(),
        url: url.to_owned(),
        status,
        message: error_message(resp).await,
    }
}
