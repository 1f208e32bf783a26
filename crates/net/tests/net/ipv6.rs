//! Dual-stack plumbing: IPv6 addresses without DAD, the default IPv6 route, TCP
//! between two namespaces over IPv6, and a clear error where IPv6 is switched off.

use std::net::{Ipv6Addr, SocketAddr};
use std::time::Duration;

use berth_net::{bridge, link};

use crate::common::*;

/// A dual-stack bridge: [`Bridge`] plus an IPv6 /64 from fd00:213::/32.
fn v6_prefix() -> (Ipv6Addr, Ipv6Addr) {
    let n = (std::process::id() % 0xffff) as u16;
    let base = Ipv6Addr::new(0xfd00, 0x213, n, 0, 0, 0, 0, 0);
    let gw = Ipv6Addr::new(0xfd00, 0x213, n, 0, 0, 0, 0, 1);
    (base, gw)
}

fn plug6(br: &Bridge, ns: &Ns, n: u32, base: Ipv6Addr, gw: Ipv6Addr) -> Veth {
    let name = unique("btv");
    let mut seg = base.segments();
    seg[7] = n as u16;
    link::attach(&link::Endpoint {
        netns: ns.path.clone(),
        host_ifname: name.clone(),
        spare_ifname: None,
        ifname: "eth0".into(),
        bridge: br.name.clone(),
        bridge_index: None,
        address: ipnet::Ipv4Net::new(br.host(n), br.subnet.prefix_len()).unwrap(),
        gateway: Some(br.gateway),
        address6: Some(ipnet::Ipv6Net::new(Ipv6Addr::from(seg), 64).unwrap()),
        gateway6: Some(gw),
        mac: None,
    })
    .unwrap();
    Veth(name)
}

#[test]
fn two_namespaces_talk_tcp_over_ipv6_at_once() {
    if !can_run() || berth_net::sysctl::ipv6_available().is_err() {
        eprintln!("skipping: needs root and IPv6 on the host");
        return;
    }
    let br = Bridge::new();
    let (base, gw) = v6_prefix();
    bridge::add_v6(&br.name, gw, 64).unwrap();
    // Again: idempotent.
    bridge::add_v6(&br.name, gw, 64).unwrap();
    let (a, b) = (Ns::new(), Ns::new());
    let _va = plug6(&br, &a, 2, base, gw);
    let _vb = plug6(&br, &b, 3, base, gw);
    let _srv = echo_server(&a, 7006);
    let mut seg = base.segments();
    seg[7] = 2;
    let target = SocketAddr::from((Ipv6Addr::from(seg), 7006));
    let got =
        b.within(move || tcp_roundtrip_retry(target, "hello over ipv6", Duration::from_secs(5)));
    assert_eq!(got.unwrap(), "hello over ipv6");
    let out = b.busybox(&["ip", "-6", "addr"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut seg = base.segments();
    seg[7] = 3;
    let mine = Ipv6Addr::from(seg);
    let line = text
        .lines()
        .find(|l| l.contains(&format!("inet6 {mine}/64")))
        .unwrap_or_else(|| panic!("no {mine}/64: {text}"));
    assert!(!line.contains("tentative"), "DAD must be skipped: {text}");
    let route = b.busybox(&["ip", "-6", "route"]).output().unwrap();
    let route = String::from_utf8_lossy(&route.stdout);
    assert!(route.contains(&format!("default via {gw}")), "{route}");
    // The host reaches the container through the bridge's on-link prefix.
    let host = std::net::TcpStream::connect_timeout(&target, Duration::from_secs(2));
    assert!(host.is_ok(), "host -> {target}: {host:?}");
}

#[test]
fn ipv6_switched_off_is_a_clear_error() {
    if !can_run() {
        return;
    }
    // /proc/sys/net belongs to the reader's namespace: switch IPv6 off in a
    // throwaway one and ask from there.
    let ns = Ns::new();
    let err = ns.within(|| {
        fs_err::write("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1").unwrap();
        berth_net::sysctl::ipv6_available().unwrap_err().to_string()
    });
    assert!(
        err.contains("IPv6") && err.contains("disable_ipv6") && err.contains("hint:"),
        "{err}"
    );
}

/// Where nftables is missing, the userspace proxy carries a dual-stack container's
/// ports on both families: `[::]:PORT` (an IPv6-only socket, so it does not take the
/// IPv4 port) and `0.0.0.0:PORT`, each to the container's address of that family.
#[test]
fn the_userspace_proxy_carries_ipv6_ports() {
    if !can_run() || berth_net::sysctl::ipv6_available().is_err() {
        eprintln!("skipping: needs root and IPv6 on the host");
        return;
    }
    let net = Net::new(false);
    let (base, gw) = v6_prefix();
    bridge::add_v6(&net.br.name, gw, 64).unwrap();
    let ns = Ns::new();
    let _v = plug6(&net.br, &ns, 2, base, gw);
    let _srv = echo_server(&ns, 7008);
    let mut seg = base.segments();
    seg[7] = 2;
    let ctr = unique("p6");
    let bound = berth_net::ports::publish(
        net.dir.path(),
        &ctr,
        net.br.host(2),
        Some(Ipv6Addr::from(seg)),
        &[berth_net::ports::parse_port_spec("7008").unwrap()],
        berth_net::ports::Mode::Proxy,
    )
    .unwrap();
    let hosts: Vec<String> = bound.iter().map(|b| b.host_ip.to_string()).collect();
    assert_eq!(hosts, ["0.0.0.0", "::"]);
    assert_eq!(bound[0].host_port, bound[1].host_port, "one port for both");
    let port = bound[0].host_port;
    let dir = net.dir.path().to_path_buf();
    let c2 = ctr.clone();
    let proxy = std::thread::spawn(move || berth_net::proxy::serve(&dir, &c2));
    for addr in [format!("[::1]:{port}"), format!("127.0.0.1:{port}")] {
        let got = tcp_roundtrip_retry(addr.parse().unwrap(), "both", Duration::from_secs(5));
        assert_eq!(got.unwrap(), "both", "{addr}");
    }
    berth_net::ports::unpublish(net.dir.path(), &ctr).unwrap();
    proxy.join().unwrap().unwrap();
    assert!(tcp_roundtrip(format!("[::1]:{port}").parse().unwrap(), "x").is_err());
}

/// IPv6 forwarding is switched on (in a throwaway namespace here: the sysctls are
/// per namespace), an interface that took router advertisements keeps taking them
/// (`accept_ra` 1 becomes 2, which forwarding would otherwise silence), and a
/// namespace with IPv6 switched off gets a clear error instead.
#[test]
fn ipv6_forwarding_is_turned_on_keeping_router_advertisements() {
    if !can_run() || berth_net::sysctl::ipv6_available().is_err() {
        eprintln!("skipping: needs root and IPv6 on the host");
        return;
    }
    let ns = Ns::new();
    let st = ns
        .cmd("ip")
        .args(["link", "add", "ra0", "type", "veth", "peer", "name", "ra1"])
        .status()
        .unwrap();
    assert!(st.success());
    let got = ns.within(|| {
        let conf = std::path::Path::new("/proc/sys/net/ipv6/conf");
        fs_err::write(conf.join("ra0/accept_ra"), "1").unwrap();
        fs_err::write(conf.join("all/forwarding"), "0").unwrap();
        berth_net::sysctl::enable_ipv6_forward().unwrap();
        let read = |p: &str| {
            fs_err::read_to_string(conf.join(p))
                .unwrap()
                .trim()
                .to_owned()
        };
        let on = (read("all/forwarding"), read("ra0/accept_ra"));
        fs_err::write(conf.join("all/forwarding"), "0").unwrap();
        fs_err::write(conf.join("all/disable_ipv6"), "1").unwrap();
        let err = berth_net::sysctl::enable_ipv6_forward()
            .unwrap_err()
            .to_string();
        (on, err)
    });
    assert_eq!(got.0, ("1".to_owned(), "2".to_owned()));
    assert!(
        got.1.contains("IPv6") && got.1.contains("disable_ipv6") && got.1.contains("hint:"),
        "{}",
        got.1
    );
}
