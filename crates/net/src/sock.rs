//! Sockets on host addresses, for the port proxy and for checking whether a
//! host port is free. A socket on an IPv6 address is IPv6-only, so
//! `[::]:PORT` and `0.0.0.0:PORT` are two separate bindings as they are in
//! Docker (by Linux's default an IPv6 wildcard socket would take both).

use std::io;
use std::net::{SocketAddr, SocketAddrV6, TcpListener, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, SockaddrIn6, bind, listen, setsockopt, socket,
    sockopt,
};

/// A listening TCP socket on `addr`.
pub(crate) fn tcp_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    match addr {
        SocketAddr::V4(_) => TcpListener::bind(addr),
        SocketAddr::V6(a) => {
            let fd = v6only(a, SockType::Stream)?;
            listen(&fd, Backlog::MAXCONN).map_err(io::Error::from)?;
            Ok(TcpListener::from(fd))
        }
    }
}

/// A UDP socket bound to `addr`.
pub(crate) fn udp_socket(addr: SocketAddr) -> io::Result<UdpSocket> {
    match addr {
        SocketAddr::V4(_) => UdpSocket::bind(addr),
        SocketAddr::V6(a) => Ok(UdpSocket::from(v6only(a, SockType::Datagram)?)),
    }
}

fn v6only(addr: SocketAddrV6, ty: SockType) -> io::Result<OwnedFd> {
    let fd = socket(AddressFamily::Inet6, ty, SockFlag::SOCK_CLOEXEC, None)?;
    setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
    if ty == SockType::Stream {
        // As std does for TcpListener: a port whose last connection is in
        // TIME_WAIT can be listened on again at once.
        setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    }
    bind(fd.as_raw_fd(), &SockaddrIn6::from(addr))?;
    Ok(fd)
}
