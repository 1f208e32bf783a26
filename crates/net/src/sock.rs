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

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv6_on() -> bool {
        fs_err::read_to_string("/proc/sys/net/ipv6/conf/all/disable_ipv6")
            .is_ok_and(|v| v.trim() == "0")
    }

    #[test]
    fn ipv6_wildcard_and_ipv4_wildcard_are_separate_bindings() {
        if !ipv6_on() {
            eprintln!("skipped: IPv6 is disabled on this host");
            return;
        }
        // The IPv6 wildcard first: by Linux's default it would take the IPv4
        // port as well, and the IPv4 bind below would fail.
        let v6 = tcp_listener("[::]:0".parse().unwrap()).unwrap();
        let port = v6.local_addr().unwrap().port();
        let v4 = TcpListener::bind(("0.0.0.0", port));
        assert!(v4.is_ok(), "0.0.0.0:{port} after [::]:{port}: {v4:?}");
        let again = tcp_listener(format!("[::]:{port}").parse().unwrap());
        assert_eq!(
            again.unwrap_err().kind(),
            io::ErrorKind::AddrInUse,
            "the same IPv6 port twice"
        );
        let u6 = udp_socket("[::1]:0".parse().unwrap()).unwrap();
        let uport = u6.local_addr().unwrap().port();
        assert!(UdpSocket::bind(("127.0.0.1", uport)).is_ok());
        let peer = UdpSocket::bind("[::1]:0").unwrap();
        peer.send_to(b"x", ("::1", uport)).unwrap();
        let mut buf = [0u8; 1];
        u6.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        assert_eq!(u6.recv_from(&mut buf).unwrap().0, 1);
    }
}
