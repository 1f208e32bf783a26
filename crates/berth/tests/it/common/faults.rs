//! A fault-injecting HTTP proxy in front of a real registry, for the faults a real
//! registry cannot produce: 500 answers, truncated bodies, substituted manifests.
//!
//! Loopback only, one thread per connection, every answer sent with `Connection: close`
//! (so each request is one connection and easy to rewrite). Anything that is not a
//! plain HTTP request (berth tries HTTPS first on loopback) is dropped, as a plain HTTP
//! server would. The listener thread stops when the guard drops.

#![allow(clippy::unwrap_used)] // a failing helper is a failing test

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What to do to requests whose path contains `path`.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer `status` instead of forwarding, `times` times (then forward again).
    Status { status: u16, times: usize },
    /// Forward, but send only the first half of the body (with the full
    /// `Content-Length`) and close: a connection dropped mid-download.
    Truncate { times: usize },
    /// Answer this body with this `Content-Type` for GET (and its headers for HEAD).
    Replace { content_type: String, body: Vec<u8> },
}

#[derive(Debug, Default)]
struct Rules {
    rules: Vec<(String, Fault)>,
    /// How many times each rule fired, by index.
    fired: Vec<usize>,
}

/// The proxy; stops (and joins its listener) on drop.
pub struct FaultProxy {
    pub addr: SocketAddr,
    rules: Arc<Mutex<Rules>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// A proxy on a free loopback port forwarding to `upstream`.
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let rules = Arc::new(Mutex::new(Rules::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (rules.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let r = r.clone();
                        std::thread::spawn(move || {
                            let _ = serve(conn, upstream, &r);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FaultProxy {
            addr,
            rules,
            stop,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Adds a rule; the first matching rule with uses left applies.
    pub fn add(&self, path_contains: &str, fault: Fault) {
        let mut r = self.rules.lock().unwrap();
        r.rules.push((path_contains.to_owned(), fault));
        r.fired.push(0);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        let mut r = self.rules.lock().unwrap();
        r.rules.clear();
        r.fired.clear();
    }

    /// How many times rule `i` (in the order added) fired.
    pub fn fired(&self, i: usize) -> usize {
        self.rules.lock().unwrap().fired[i]
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Picks the fault for `path`, counting it.
fn pick(rules: &Mutex<Rules>, path: &str) -> Option<Fault> {
    let mut r = rules.lock().unwrap();
    for i in 0..r.rules.len() {
        let (pat, fault) = &r.rules[i];
        if !path.contains(pat.as_str()) {
            continue;
        }
        let left = match fault {
            Fault::Status { times, .. } | Fault::Truncate { times } => r.fired[i] < *times,
            Fault::Replace { .. } => true,
        };
        if left {
            let f = fault.clone();
            r.fired[i] += 1;
            return Some(f);
        }
    }
    None
}

fn serve(conn: TcpStream, upstream: SocketAddr, rules: &Mutex<Rules>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        // A TLS hello or other non-HTTP bytes: drop the connection.
        if head.is_empty() && !line.is_ascii() {
            return Ok(());
        }
        if line == "\r\n" || line == "\n" {
            break;
        }
        head.push(line);
    }
    let Some(request_line) = head.first().cloned() else {
        return Ok(());
    };
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let mut body_len = 0usize;
    for h in &head {
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            body_len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; body_len];
    reader.read_exact(&mut body)?;
    let mut out = conn;
    match pick(rules, &path) {
        Some(Fault::Status { status, .. }) => {
            let msg = format!(
                "{{\"errors\":[{{\"code\":\"UNKNOWN\",\"message\":\"injected {status}\"}}]}}"
            );
            write!(
                out,
                "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{msg}",
                msg.len()
            )?;
            return Ok(());
        }
        Some(Fault::Replace { content_type, body }) => {
            use sha2::Digest as _;
            let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&body)));
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nDocker-Content-Digest: {digest}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            if method != "HEAD" {
                out.write_all(&body)?;
            }
            return Ok(());
        }
        truncate => {
            let (status_line, headers, resp_body) = forward(upstream, &method, &head, &body)?;
            out.write_all(status_line.as_bytes())?;
            for h in &headers {
                out.write_all(h.as_bytes())?;
            }
            if method == "HEAD" {
                out.write_all(b"Connection: close\r\n\r\n")?;
                return Ok(());
            }
            out.write_all(
                format!(
                    "Content-Length: {}\r\nConnection: close\r\n\r\n",
                    resp_body.len()
                )
                .as_bytes(),
            )?;
            if matches!(truncate, Some(Fault::Truncate { .. })) {
                out.write_all(&resp_body[..resp_body.len() / 2])?;
                out.flush()?;
                // Closing mid-body: what a dropped link looks like to the client.
                return Ok(());
            }
            out.write_all(&resp_body)?;
        }
    }
    Ok(())
}

/// Sends the request upstream (as one `Connection: close` request, redirects followed by
/// the client) and returns the status line, the headers to pass on, and the whole body.
fn forward(
    upstream: SocketAddr,
    method: &str,
    head: &[String],
    body: &[u8],
) -> std::io::Result<(String, Vec<String>, Vec<u8>)> {
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(head[0].as_bytes())?;
    for h in &head[1..] {
        let k = h.split(':').next().unwrap_or("").to_ascii_lowercase();
        if k == "connection" || k == "host" {
            continue;
        }
        up.write_all(h.as_bytes())?;
    }
    up.write_all(format!("Host: {upstream}\r\nConnection: close\r\n\r\n").as_bytes())?;
    up.write_all(body)?;
    let mut r = BufReader::new(up);
    let mut status_line = String::new();
    r.read_line(&mut status_line)?;
    let mut headers = Vec::new();
    let mut len = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        let k = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        match k.as_str() {
            "content-length" => {
                len = line
                    .split_once(':')
                    .and_then(|(_, v)| v.trim().parse().ok())
            }
            "transfer-encoding" => chunked = true,
            "connection" => {}
            _ => headers.push(line),
        }
    }
    let mut resp = Vec::new();
    if method == "HEAD" {
        // Keep the real length for HEAD answers (existence checks read it).
        headers.push(format!("Content-Length: {}\r\n", len.unwrap_or(0)));
    } else if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            resp.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = len {
        resp.resize(n, 0);
        r.read_exact(&mut resp)?;
    } else {
        r.read_to_end(&mut resp)?;
    }
    Ok((status_line, headers, resp))
}
