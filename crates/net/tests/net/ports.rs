//! Published ports through nftables DNAT.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::time::Duration;

use crate::common::*;

#[test]
fn published_tcp_port_answers_on_loopback_and_gateway() {
    if !can_run() {
        return;
    }
    let net = Net::new(false);
    let ns = Ns::new();
    let _v = net.br.plug(&ns, 2);
    let _srv = echo_server(&ns, 8080);
    let ctr = unique("c");
    let bound = net.publish(&ctr, 2, &["8080"]).unwrap();
    assert_eq!(bound.len(), 1);
    let hp = bound[0].host_port;
    assert_ne!(hp, 0, "a random host port is chosen and reported");
    let lo = SocketAddr::from((Ipv4Addr::LOCALHOST, hp));
    assert_eq!(
        tcp_roundtrip_retry(lo, "via loopback", Duration::from_secs(5)).unwrap(),
        "via loopback"
    );
    let gw = SocketAddr::from((net.br.gateway, hp));
    assert_eq!(tcp_roundtrip(gw, "via gateway").unwrap(), "via gateway");
    assert_eq!(
        berth_net::ports::bindings(net.dir.path(), &ctr).unwrap(),
        bound
    );
    // another container of the network through the gateway, and the
    // container itself (hairpin), both reach the published port
    let b = Ns::new();
    let _vb = net.br.plug(&b, 3);
    let got = b.within(move || tcp_roundtrip_retry(gw, "neighbour", Duration::from_secs(3)));
    assert_eq!(got.unwrap(), "neighbour");
    let got = ns.within(move || tcp_roundtrip_retry(gw, "hairpin", Duration::from_secs(3)));
    assert_eq!(got.unwrap(), "hairpin");
    // after unpublish the port is dead
    berth_net::ports::unpublish(net.dir.path(), &ctr).unwrap();
    assert!(tcp_roundtrip(lo, "x").is_err());
}

#[test]
fn published_udp_port_and_fixed_host_port() {
    if !can_run() {
        return;
    }
    let net = Net::new(false);
    let ns = Ns::new();
    let _v = net.br.plug(&ns, 2);
    let srv = udp_echo_server(&ns, 5353);
    let ctr = unique("c");
    // pick a free host port ourselves so the fixed form is exercised
    let hp = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bound = net
        .publish(&ctr, 2, &[&format!("127.0.0.1:{hp}:5353/udp")])
        .unwrap();
    assert_eq!(
        (bound[0].host_port, bound[0].host_ip),
        (hp, std::net::IpAddr::V4(Ipv4Addr::LOCALHOST))
    );
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    sock.send_to(b"ping-udp", ("127.0.0.1", hp)).unwrap();
    let mut buf = [0u8; 64];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping-udp");
    srv.join().unwrap();
}

#[test]
fn taken_ports_are_clear_errors_and_leave_nothing() {
    if !can_run() {
        return;
    }
    let net = Net::new(false);
    let a = unique("c");
    let b = unique("c");
    let first = net.publish(&a, 2, &["0.0.0.0::80"]).unwrap();
    let hp = first[0].host_port;
    // same port by another container
    let err = net
        .publish(&b, 3, &["9999:81", &format!("{hp}:80")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("{hp}")) && err.contains(&format!("container {a}")),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    // nothing of b was recorded or installed (9999 came first in the request)
    assert!(
        berth_net::ports::bindings(net.dir.path(), &b)
            .unwrap()
            .is_empty()
    );
    let tag = berth_net::ports::container_tag(&b);
    assert!(!berth_net::nft::rule_comments().unwrap().contains(&tag));
    // a port held by a host process
    let holder = TcpListener::bind("0.0.0.0:0").unwrap();
    let held = holder.local_addr().unwrap().port();
    let err = net
        .publish(&b, 3, &[&format!("{held}:80")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a host process") && err.contains(&held.to_string()),
        "{err}"
    );
    // ranges expand pairwise
    let hp2 = TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    if hp2 < 65000 {
        let r = net.publish(&b, 3, &[&format!("{hp2}-{}:80-82", hp2 + 2)]);
        if let Ok(r) = r {
            let pairs: Vec<(u16, u16)> =
                r.iter().map(|x| (x.host_port, x.container_port)).collect();
            assert_eq!(pairs, vec![(hp2, 80), (hp2 + 1, 81), (hp2 + 2, 82)]);
        }
    }
}
