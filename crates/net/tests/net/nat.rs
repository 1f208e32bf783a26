//! Outbound NAT, `--internal`, the userspace proxy and crash cleanup.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;

use berth_net::ports::{self, Mode};

use crate::common::*;

/// A namespace on a plain bridge that berth does not manage: stands in for
/// a machine on the host's LAN. Returns a listener inside it that reports
/// the source address of the first connection.
fn outside_listener(outside: &Ns) -> (SocketAddr, std::thread::JoinHandle<Option<Ipv4Addr>>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let path = outside.path.clone();
    let h = std::thread::spawn(move || {
        let l = {
            let _g = berth_net::netns::enter(&path).unwrap();
            TcpListener::bind("0.0.0.0:0").unwrap()
        };
        tx.send(l.local_addr().unwrap().port()).unwrap();
        l.set_nonblocking(true).unwrap();
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(4) {
            if let Ok((_, peer)) = l.accept() {
                return match peer.ip() {
                    std::net::IpAddr::V4(ip) => Some(ip),
                    std::net::IpAddr::V6(_) => None,
                };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    });
    (
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, rx.recv().unwrap())),
        h,
    )
}

#[test]
fn outbound_is_masqueraded_and_internal_networks_reach_nothing() {
    if !can_run() {
        return;
    }
    let lan = Bridge::new(); // no berth rules: "the outside"
    let outside = Ns::new();
    let _vo = lan.plug(&outside, 2);
    let open = Net::new(false);
    let internal = Net::new(true);
    let (a, b) = (Ns::new(), Ns::new());
    let _va = open.br.plug(&a, 2);
    let _vb = internal.br.plug(&b, 2);

    let (addr, seen) = outside_listener(&outside);
    let target = SocketAddr::from((lan.host(2), addr.port()));
    a.within(move || std::net::TcpStream::connect_timeout(&target, Duration::from_secs(2)))
        .unwrap();
    // the outside saw the host's address on its network, not the container's
    assert_eq!(seen.join().unwrap(), Some(lan.gateway));

    let (addr, seen) = outside_listener(&outside);
    let target = SocketAddr::from((lan.host(2), addr.port()));
    let r = b.within(move || std::net::TcpStream::connect_timeout(&target, Duration::from_secs(1)));
    assert!(r.is_err(), "an internal network reached the outside");
    assert_eq!(seen.join().unwrap(), None);
}

#[test]
fn userspace_proxy_carries_published_ports() {
    if !can_run() {
        return;
    }
    let net = Net::new(false);
    let ns = Ns::new();
    let _v = net.br.plug(&ns, 2);
    let _srv = echo_server(&ns, 8081);
    let udp = udp_echo_server(&ns, 5354);
    let ctr = unique("p");
    let specs = [
        ports::parse_port_spec("127.0.0.1::8081").unwrap(),
        ports::parse_port_spec("127.0.0.1::5354/udp").unwrap(),
    ];
    let bound = ports::publish(
        net.dir.path(),
        &ctr,
        net.br.host(2),
        None,
        &specs,
        Mode::Proxy,
    )
    .unwrap();
    assert!(bound.iter().all(|b| b.mode == Mode::Proxy));
    // proxy mode adds no nftables rule
    assert!(
        !berth_net::nft::rule_comments()
            .unwrap()
            .contains(&ports::container_tag(&ctr))
    );
    let dir = net.dir.path().to_path_buf();
    let c2 = ctr.clone();
    let proxy = std::thread::spawn(move || berth_net::proxy::serve(&dir, &c2));
    let lo = SocketAddr::from((Ipv4Addr::LOCALHOST, bound[0].host_port));
    assert_eq!(
        tcp_roundtrip_retry(lo, "through the proxy", Duration::from_secs(5)).unwrap(),
        "through the proxy"
    );
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    sock.send_to(b"udp via proxy", ("127.0.0.1", bound[1].host_port))
        .unwrap();
    let mut buf = [0u8; 64];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"udp via proxy");
    udp.join().unwrap();
    ports::unpublish(net.dir.path(), &ctr).unwrap();
    proxy.join().unwrap().unwrap();
    assert!(
        tcp_roundtrip(lo, "x").is_err(),
        "proxy still listening after unpublish"
    );
}

#[test]
fn cleanup_stale_removes_what_a_crashed_process_left() {
    if !can_run() {
        return;
    }
    let net = Net::new(false);
    let ipam = berth_net::ipam::Ipam::new(net.dir.path());
    let req = berth_net::ipam::SubnetRequest {
        subnet: Some(net.br.subnet),
        ..Default::default()
    };
    ipam.create_network(&net.id, &req, &[]).unwrap();
    let (dead, alive) = (unique("d"), unique("a"));
    ipam.allocate(&net.id, &dead, None).unwrap();
    let ip = ipam.allocate(&net.id, &alive, None).unwrap();
    net.publish(&dead, 2, &["80"]).unwrap();
    net.publish(&alive, 3, &["81"]).unwrap();
    let live = |id: &str| id != dead;
    let net_live = |_: &str| true;
    let cleaned = berth_net::cleanup_stale(
        net.dir.path(),
        &berth_net::Liveness {
            container: &live,
            network: &net_live,
        },
    )
    .unwrap();
    assert_eq!(
        (cleaned.port_owners, cleaned.addresses),
        (1, 1),
        "{cleaned:?}"
    );
    let comments = berth_net::nft::rule_comments().unwrap();
    assert!(!comments.contains(&ports::container_tag(&dead)));
    assert!(comments.contains(&ports::container_tag(&alive)));
    assert!(ports::bindings(net.dir.path(), &dead).unwrap().is_empty());
    let left = ipam.allocations(&net.id).unwrap();
    assert_eq!(
        left.into_iter().collect::<Vec<_>>(),
        vec![(ip, alive.clone())]
    );
}

#[test]
fn bad_names_and_missing_bridges_are_clear_errors() {
    if !can_run() {
        return;
    }
    let err =
        berth_net::bridge::create("a-name-that-is-too-long", Ipv4Addr::new(10, 213, 0, 1), 24)
            .unwrap_err();
    assert!(err.to_string().contains("a-name-that-is-too-long"), "{err}");
    let ns = Ns::new();
    let missing = unique("nob");
    let err = berth_net::link::attach(&berth_net::link::Endpoint {
        netns: ns.path.clone(),
        host_ifname: unique("btv"),
        spare_ifname: None,
        ifname: "eth0".into(),
        bridge: missing.clone(),
        address: "10.213.0.2/24".parse().unwrap(),
        gateway: None,
        bridge_index: None,
        address6: None,
        gateway6: None,
        mac: None,
    })
    .unwrap_err();
    assert!(err.to_string().contains(&missing), "{err}");
}

#[test]
fn netns_files_come_and_go() {
    if !can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n1");
    berth_net::netns::create(&path).unwrap();
    let mounts = fs_err::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(mounts.contains(path.to_str().unwrap()));
    // inside: only lo, and it starts down; outside: this thread is home again
    let links = berth_net::netns::run_in(&path, || {
        Ok(berth_net::link_exists("lo")? && !berth_net::link_exists("eth0")?)
    })
    .unwrap();
    assert!(links);
    assert!(
        berth_net::netns::create(&path).is_err(),
        "creating over an existing file must fail"
    );
    berth_net::netns::delete(&path).unwrap();
    assert!(!path.exists());
    let mounts = fs_err::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(path.to_str().unwrap()));
}

/// What a berth from before IPv6 support left in its `table ip berth` (here: a
/// rule of a container that crashed) is found by its tag like the rest, and that
/// table goes once nothing of berth's is left in it.
#[test]
fn cleanup_stale_clears_an_older_berths_ip_table() {
    if !can_run() {
        return;
    }
    let net = Net::new(false);
    let dead = unique("old");
    let tag = ports::container_tag(&dead);
    let nft = berth_testkit::nft;
    // The old layout: chains of type nat in an `ip` table, rules tagged alike.
    nft(&format!(
        "add table ip berth\n\
         add chain ip berth output {{ type nat hook output priority -100; policy accept; }}\n\
         add rule ip berth output ip daddr 127.0.0.1 tcp dport 1 dnat to {}:80 comment \"{tag}\"\n",
        net.br.host(2)
    ));
    assert!(berth_net::nft::rule_comments().unwrap().contains(&tag));
    let live = |id: &str| id != dead;
    let every = |_: &str| true;
    let cleaned = berth_net::cleanup_stale(
        net.dir.path(),
        &berth_net::Liveness {
            container: &live,
            network: &every,
        },
    )
    .unwrap();
    assert!(cleaned.rules >= 1, "{cleaned:?}");
    let listed = std::process::Command::new("nft")
        .args(["list", "table", "ip", "berth"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(!listed.contains(&dead), "{listed}");
    // Gone entirely unless another (older) berth on this host still has rules there.
    if !listed.contains("comment \"berth ") && !listed.contains("elements") {
        assert!(listed.is_empty(), "the empty old table stays: {listed}");
    }
}
