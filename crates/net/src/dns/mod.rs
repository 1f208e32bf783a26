//! The per-network resolver: answers container names, aliases and service
//! names (A, and AAAA on dual-stack networks), a container's `--link`
//! aliases to that container alone (it knows the asker by the query's source
//! address), their addresses (PTR, under
//! `in-addr.arpa` and `ip6.arpa`), NXDOMAIN at once for unknown
//! single-label names, and forwards everything else to the host's resolvers.
//! A container on several networks asks the resolver of one of them (its
//! `/etc/resolv.conf` names one); that resolver also answers the names of
//! the container's other networks, as Docker's embedded DNS does, by reading
//! their records next to its own.
//!
//! It runs as its own long-lived process (`berth __dns <network>` calls
//! [`serve`]), started with a network's first container and stopped with its
//! last: the engine keeps the records file up to date with
//! [`add_record`]/[`remove_record`] and calls [`stop`] at zero.
//!
//! Hand-rolled on std sockets with hickory-proto for the wire format: the
//! full hickory-server would bring an async stack into a process that
//! answers a few names.

mod answer;
mod records;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};

use ipnet::Ipv4Net;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

pub use records::{
    Record, ResolverConfig, add_record, configure, load, records_path, remove_record, stop,
};

use crate::error::{Error, Result};
use answer::Action;

/// How long one upstream gets to answer.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the records file is checked while no query arrives.
const POLL: Duration = Duration::from_millis(100);
/// Forwards in flight at most; beyond that queries get SERVFAIL.
const MAX_FORWARDS: usize = 64;

/// The configuration in force, the directory it comes from, and the
/// identity of the file version it was read from.
struct State {
    dir: PathBuf,
    cfg: RwLock<ResolverConfig>,
    seen: Mutex<Option<Stamp>>,
}

type Shared = Arc<State>;
type Stamp = (SystemTime, u64, u64);

/// Identity of the records file's current version (mtime, size, inode).
fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = fs_err::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

/// Runs the resolver of the network whose records file is in `dir` until
/// the file is removed ([`stop`]). Blocking; meant for a process of its own.
///
/// ```no_run
/// berth_net::dns::serve(std::path::Path::new("/run/berth/net/app-net"))?;
/// # Ok::<(), berth_net::Error>(())
/// ```
pub fn serve(dir: &Path) -> Result<()> {
    let path = records_path(dir);
    if stamp(&path).is_none() {
        return Err(Error::Dns(format!(
            "no resolver configured in {}",
            dir.display()
        )));
    }
    let cfg = load(dir)?;
    let listen = cfg
        .listen
        .ok_or_else(|| Error::Dns(format!("{} has no listen address", path.display())))?;
    let addr = SocketAddr::from((listen, cfg.port));
    let bind_err = |e: std::io::Error| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("resolver: bind {addr}: {e}"),
        ))
    };
    let udp = UdpSocket::bind(addr).map_err(bind_err)?;
    let tcp = TcpListener::bind(addr).map_err(bind_err)?;
    udp.set_read_timeout(Some(POLL))?;
    tcp.set_nonblocking(true)?;
    let shared: Shared = Arc::new(State {
        dir: dir.to_path_buf(),
        cfg: RwLock::new(cfg),
        seen: Mutex::new(stamp(&path)),
    });
    let stop_flag = Arc::new(AtomicBool::new(false));
    let inflight = Arc::new(AtomicUsize::new(0));
    let pid_path = dir.join("resolver.pid");
    crate::state::write_atomic(&pid_path, std::process::id().to_string().as_bytes())?;

    let tcp_thread = {
        let (shared, stop_flag) = (shared.clone(), stop_flag.clone());
        std::thread::spawn(move || tcp_loop(&tcp, &shared, &stop_flag))
    };
    let mut buf = vec![0u8; 4096];
    let result = loop {
        let got = udp.recv_from(&mut buf);
        // Reload before answering, so a record the engine added just before
        // the container's first query is already there.
        if !refresh(&shared) {
            break Ok(());
        }
        match got {
            Ok((n, from)) => handle_udp(&udp, &buf[..n], from, &shared, &inflight),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(Error::Io(e)),
        }
    };
    stop_flag.store(true, Ordering::Relaxed);
    let _ = tcp_thread.join();
    let _ = fs_err::remove_file(&pid_path);
    result
}

/// Reloads the records if the file changed; false once it is gone (stop).
fn refresh(shared: &Shared) -> bool {
    let path = records_path(&shared.dir);
    let now = stamp(&path);
    if now.is_none() {
        return false;
    }
    let Ok(mut seen) = shared.seen.lock() else {
        return true;
    };
    if *seen != now {
        // A half-written file cannot be seen (atomic rename); a bad one
        // keeps the previous records in force.
        if let Ok(cfg) = load(&shared.dir) {
            if let Ok(mut w) = shared.cfg.write() {
                *w = cfg;
            }
            *seen = now;
        }
    }
    true
}

fn respond(query: &[u8], shared: &Shared, from: IpAddr) -> Action {
    let Ok(cfg) = shared.cfg.read() else {
        return Action::Drop;
    };
    let (subnet, subnet6) = (cfg.subnet, cfg.subnet6);
    let subnet_has = |ip: IpAddr| match ip {
        IpAddr::V4(a) => subnet.is_some_and(|s: Ipv4Net| s.contains(&a)),
        IpAddr::V6(a) => subnet6.is_some_and(|s| s.contains(&a)),
    };
    let querier = cfg
        .records
        .iter()
        .find(|r| IpAddr::V4(r.ipv4) == from)
        .map(|r| r.container.clone());
    let others = querier
        .map(|c| records::joined_elsewhere(&shared.dir, &c))
        .unwrap_or_default();
    if others.is_empty() {
        return answer::answer(query, &cfg.records, from, &subnet_has);
    }
    // This network's names first: a name on two networks answers with the
    // address the querier reaches it by here.
    let mut all = cfg.records.clone();
    all.extend(others);
    answer::answer(query, &all, from, &subnet_has)
}

fn upstreams(shared: &Shared) -> Vec<SocketAddr> {
    shared
        .cfg
        .read()
        .map(|c| c.upstreams.clone())
        .unwrap_or_default()
}

fn handle_udp(
    sock: &UdpSocket,
    query: &[u8],
    from: SocketAddr,
    shared: &Shared,
    inflight: &Arc<AtomicUsize>,
) {
    match respond(query, shared, from.ip()) {
        Action::Reply(bytes) => {
            let _ = sock.send_to(&bytes, from);
        }
        Action::Drop => {}
        Action::Forward => {
            let ups = upstreams(shared);
            let (Ok(sock), true) = (
                sock.try_clone(),
                inflight.fetch_add(1, Ordering::AcqRel) < MAX_FORWARDS,
            ) else {
                inflight.fetch_sub(1, Ordering::AcqRel);
                if let Some(b) = answer::servfail(query) {
                    let _ = sock.send_to(&b, from);
                }
                return;
            };
            let query = query.to_vec();
            let inflight = inflight.clone();
            // Forwards run on their own thread so a slow upstream never
            // holds up answers for container names.
            std::thread::spawn(move || {
                let reply = forward(&query, &ups).or_else(|| answer::servfail(&query));
                if let Some(b) = reply {
                    let _ = sock.send_to(&b, from);
                }
                inflight.fetch_sub(1, Ordering::AcqRel);
            });
        }
    }
}

/// Asks each upstream in turn; the first answer with the query's id wins.
fn forward(query: &[u8], upstreams: &[SocketAddr]) -> Option<Vec<u8>> {
    let id = query.get(..2)?;
    for up in upstreams {
        let local: SocketAddr = if up.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }
            .parse()
            .ok()?;
        let Ok(sock) = UdpSocket::bind(local) else {
            continue;
        };
        if sock.set_read_timeout(Some(UPSTREAM_TIMEOUT)).is_err()
            || sock.connect(up).is_err()
            || sock.send(query).is_err()
        {
            continue;
        }
        let mut buf = vec![0u8; 65535];
        while let Ok(n) = sock.recv(&mut buf) {
            if n >= 2 && &buf[..2] == id {
                buf.truncate(n);
                return Some(buf);
            }
        }
    }
    None
}

fn tcp_loop(listener: &TcpListener, shared: &Shared, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((conn, _)) => {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = tcp_conn(conn, &shared);
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// DNS over TCP: 2-byte length prefix per message, several per connection.
fn tcp_conn(mut conn: TcpStream, shared: &Shared) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    let from = conn.peer_addr()?.ip();
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    loop {
        let mut len = [0u8; 2];
        if conn.read_exact(&mut len).is_err() {
            return Ok(());
        }
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
        conn.read_exact(&mut query)?;
        if !refresh(shared) {
            return Ok(());
        }
        let reply = match respond(&query, shared, from) {
            Action::Reply(b) => Some(b),
            Action::Forward => {
                forward(&query, &upstreams(shared)).or_else(|| answer::servfail(&query))
            }
            Action::Drop => None,
        };
        let Some(reply) = reply else { return Ok(()) };
        let Ok(n) = u16::try_from(reply.len()) else {
            return Ok(());
        };
        conn.write_all(&n.to_be_bytes())?;
        conn.write_all(&reply)?;
    }
}
