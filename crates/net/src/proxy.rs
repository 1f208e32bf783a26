//! Userspace port proxy, for hosts where nftables cannot be used (no `nft`,
//! no nf_tables in the kernel, an unprivileged setup). It listens on the
//! published host ports and relays to the container: TCP connection by
//! connection, UDP datagram by datagram with one upstream socket per client.
//! Slower than DNAT and the container sees the proxy's address as source,
//! which is why NAT is the default.
//!
//! Where nftables works it still serves the IPv6 loopback (`[::1]:PORT` of a
//! port published on `::` or `::1`), which DNAT cannot reach: the kernel does
//! not route IPv6 packets from `::1` off the loopback device
//! ([`ports::proxy_listen`]).
//!
//! Like the resolver it is a long-lived process: the engine runs
//! `berth __proxy <container>`, which calls [`serve`]; it exits once the
//! container's bindings are gone from the ports state ([`crate::ports::unpublish`]).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::ErrorKind;
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket,
};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::ports::{self, PortBinding, Proto};
use crate::sock;

const POLL: Duration = Duration::from_millis(100);

type Peers = Arc<Mutex<HashMap<SocketAddr, UdpSocket>>>;

/// Relays every binding of `container` that has a [`ports::proxy_listen`]
/// address until it is unpublished.
pub fn serve(state_dir: &Path, container: &str) -> Result<()> {
    let bindings: Vec<(SocketAddr, PortBinding)> = ports::bindings(state_dir, container)?
        .into_iter()
        .filter_map(|b| Some((ports::proxy_listen(&b)?, b)))
        .collect();
    if bindings.is_empty() {
        return Err(Error::invalid(
            "proxy",
            container,
            "the container has no ports to proxy",
        ));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for (listen, b) in &bindings {
        let listen = *listen;
        let target = SocketAddr::from((b.container_ip, b.container_port));
        let bind_err = |e: std::io::Error| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("proxy: bind {listen}: {e}"),
            ))
        };
        let stop = stop.clone();
        match b.proto {
            Proto::Tcp => {
                let l = sock::tcp_listener(listen).map_err(bind_err)?;
                l.set_nonblocking(true)?;
                threads.push(std::thread::spawn(move || tcp_accept(&l, target, &stop)));
            }
            Proto::Udp => {
                let s = sock::udp_socket(listen).map_err(bind_err)?;
                s.set_read_timeout(Some(POLL))?;
                threads.push(std::thread::spawn(move || udp_relay(&s, target, &stop)));
            }
        }
    }
    while ports::bindings(state_dir, container).is_ok_and(|b| !b.is_empty()) {
        std::thread::sleep(POLL);
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

fn tcp_accept(listener: &TcpListener, target: SocketAddr, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((client, _)) => {
                std::thread::spawn(move || {
                    let _ = tcp_pipe(client, target);
                });
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn tcp_pipe(client: TcpStream, target: SocketAddr) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    let upstream = TcpStream::connect_timeout(&target, Duration::from_secs(5))?;
    let (mut c_read, mut u_write) = (client.try_clone()?, upstream.try_clone()?);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut u_write);
        let _ = u_write.shutdown(Shutdown::Write);
    });
    let (mut u_read, mut c_write) = (upstream, client);
    let _ = std::io::copy(&mut u_read, &mut c_write);
    let _ = c_write.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}

fn udp_relay(sock: &UdpSocket, target: SocketAddr, stop: &Arc<AtomicBool>) {
    let peers: Peers = Arc::default();
    let mut buf = vec![0u8; 65535];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, client)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let Ok(mut map) = peers.lock() else { return };
        let up = match map.entry(client) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => {
                let Some(up) = new_peer(sock, client, target, stop, &peers) else {
                    continue;
                };
                v.insert(up)
            }
        };
        let _ = up.send(&buf[..n]);
    }
}

/// An upstream socket for a new UDP client, with a thread that carries the
/// container's replies back until the client has been idle for a minute.
fn new_peer(
    sock: &UdpSocket,
    client: SocketAddr,
    target: SocketAddr,
    stop: &Arc<AtomicBool>,
    peers: &Peers,
) -> Option<UdpSocket> {
    let any: IpAddr = match target {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let up = UdpSocket::bind((any, 0)).ok()?;
    up.connect(target).ok()?;
    up.set_read_timeout(Some(POLL)).ok()?;
    let (reader, back) = (up.try_clone().ok()?, sock.try_clone().ok()?);
    let (stop, peers) = (stop.clone(), peers.clone());
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65535];
        let mut idle = Duration::ZERO;
        while !stop.load(Ordering::Relaxed) && idle < Duration::from_secs(60) {
            match reader.recv(&mut buf) {
                Ok(n) => {
                    idle = Duration::ZERO;
                    let _ = back.send_to(&buf[..n], client);
                }
                Err(_) => idle += POLL,
            }
        }
        if let Ok(mut m) = peers.lock() {
            m.remove(&client);
        }
    });
    Some(up)
}
