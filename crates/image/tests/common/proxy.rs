//! A small HTTP proxy in front of a test registry that can misbehave on purpose: fail the
//! next N requests with 500, or demand a bearer token that its own `/token` endpoint hands
//! out (the anonymous token flow Docker Hub uses). It records every request it sees.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

#[derive(Default)]
pub struct Behaviour {
    /// Answer this many of the next requests with 500.
    pub fail_next: AtomicUsize,
    /// When set, `/v2/` requests need `Authorization: Bearer <token>`.
    pub bearer_token: Option<String>,
    /// `METHOD path?query` of every request, in order.
    pub seen: Mutex<Vec<String>>,
    /// Query strings sent to `/token`.
    pub token_requests: Mutex<Vec<String>>,
}

pub struct Proxy {
    pub addr: SocketAddr,
    pub behaviour: Arc<Behaviour>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr, behaviour: Behaviour) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let behaviour = Arc::new(behaviour);
        let b = behaviour.clone();
        let client = reqwest::Client::new();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (b, client) = (b.clone(), client.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        handle(b.clone(), client.clone(), upstream, addr, req)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Proxy {
            addr,
            behaviour,
            task,
        }
    }

    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn seen(&self) -> Vec<String> {
        self.behaviour.seen.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reply(
    status: StatusCode,
    headers: &[(&str, String)],
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut r = Response::builder().status(status);
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    r.body(Full::new(body.into())).unwrap()
}

async fn handle(
    b: Arc<Behaviour>,
    client: reqwest::Client,
    upstream: SocketAddr,
    me: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path_q = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    b.seen
        .lock()
        .unwrap()
        .push(format!("{} {path_q}", req.method()));
    if b.fail_next.load(Ordering::SeqCst) > 0 {
        b.fail_next.fetch_sub(1, Ordering::SeqCst);
        return Ok(reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            &[],
            "injected failure",
        ));
    }
    if let Some(token) = &b.bearer_token {
        if req.uri().path() == "/token" {
            b.token_requests
                .lock()
                .unwrap()
                .push(req.uri().query().unwrap_or("").to_owned());
            return Ok(reply(
                StatusCode::OK,
                &[("content-type", "application/json".into())],
                format!("{{\"token\":\"{token}\"}}"),
            ));
        }
        let ok = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some(&format!("Bearer {token}"));
        if !ok {
            let challenge = format!("Bearer realm=\"http://{me}/token\",service=\"berth-test\"");
            let body =
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
            return Ok(reply(
                StatusCode::UNAUTHORIZED,
                &[
                    ("www-authenticate", challenge),
                    ("content-type", "application/json".into()),
                ],
                body,
            ));
        }
    }
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in req.headers() {
        if k != "host" && k != "authorization" {
            headers.insert(
                reqwest::header::HeaderName::from_bytes(k.as_str().as_bytes()).unwrap(),
                reqwest::header::HeaderValue::from_bytes(v.as_bytes()).unwrap(),
            );
        }
    }
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let resp = match client
        .request(method, format!("http://{upstream}{path_q}"))
        .headers(headers)
        .body(body)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return Ok(reply(StatusCode::BAD_GATEWAY, &[], e.to_string())),
    };
    let mut out = Response::builder().status(resp.status().as_u16());
    for (k, v) in resp.headers() {
        let mut v = v.to_str().unwrap_or("").to_owned();
        if k == "location" {
            v = v.replace(&upstream.to_string(), &me.to_string());
        }
        if k != "transfer-encoding" && k != "connection" {
            out = out.header(k.as_str(), v);
        }
    }
    let bytes = resp.bytes().await.unwrap_or_default();
    Ok(out.body(Full::new(bytes)).unwrap())
}
