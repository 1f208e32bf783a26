//! The per-network resolver, run as its own process, queried from inside
//! namespaces on the network.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use berth_net::dns::{self, Record};
use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, PTR};
use hickory_proto::rr::{Name, RData, RecordType};

use crate::common::*;
use crate::helpers::spawn_helper;

/// The resolver child; stopped (records file removed) and reaped on drop,
/// checking it really exited.
struct Resolver {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Resolver {
    fn start(net: &Net, upstream: SocketAddr) -> Resolver {
        let dir = tempfile::tempdir().unwrap();
        dns::configure(
            dir.path(),
            SocketAddrV4::new(net.br.gateway, 53),
            net.br.subnet,
            None,
            &[upstream],
        )
        .unwrap();
        let child = spawn_helper(
            "helpers::helper_dns_serve",
            &[("BERTH_NET_TEST_DNS_DIR", dir.path().display().to_string())],
        );
        let pid = dir.path().join("resolver.pid");
        let start = Instant::now();
        while !pid.exists() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(pid.exists(), "resolver did not start");
        Resolver {
            dir,
            child: Some(child),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Resolver {
    fn drop(&mut self) {
        dns::stop(self.dir.path()).unwrap();
        let mut child = self.child.take().unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                if !std::thread::panicking() {
                    assert!(status.success(), "resolver exited with {status}");
                    assert!(!self.dir.path().join("resolver.pid").exists());
                }
                return;
            }
            if start.elapsed() > Duration::from_secs(5) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("resolver did not stop after its records file was removed");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A fake upstream resolver on the host's loopback: answers every A query
/// with 198.51.100.7 and counts nothing else. Stops after `max` queries or 10 s.
fn fake_upstream(max: usize) -> (SocketAddr, std::thread::JoinHandle<usize>) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let h = std::thread::spawn(move || {
        let mut served = 0;
        let start = Instant::now();
        let mut buf = [0u8; 1500];
        while served < max && start.elapsed() < Duration::from_secs(10) {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            let req = Message::from_vec(&buf[..n]).unwrap();
            let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
            let q = req.queries[0].clone();
            resp.add_answer(hickory_proto::rr::Record::from_rdata(
                q.name().clone(),
                30,
                RData::A(A(Ipv4Addr::new(198, 51, 100, 7))),
            ));
            resp.add_query(q);
            sock.send_to(&resp.to_vec().unwrap(), from).unwrap();
            served += 1;
        }
        served
    });
    (addr, h)
}

/// Sends one query from inside `ns` to `server` and returns the reply.
fn query(ns: &Ns, server: Ipv4Addr, name: &str, ty: RecordType) -> Message {
    let mut m = Message::query();
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), ty));
    let bytes = m.to_vec().unwrap();
    ns.within(move || {
        let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut buf = [0u8; 1500];
        // the resolver may still be reloading: retry a few times on silence
        for _ in 0..3 {
            sock.send_to(&bytes, (server, 53)).unwrap();
            if let Ok((n, _)) = sock.recv_from(&mut buf) {
                return Message::from_vec(&buf[..n]).unwrap();
            }
        }
        panic!("no answer from {server}");
    })
}

fn a_of(m: &Message) -> Vec<Ipv4Addr> {
    m.answers
        .iter()
        .filter_map(|r| match r.data {
            RData::A(A(ip)) => Some(ip),
            _ => None,
        })
        .collect()
}

fn record(container: &str, names: &[&str], ip: Ipv4Addr) -> Record {
    Record {
        container: container.into(),
        names: names.iter().map(|s| s.to_string()).collect(),
        ipv4: ip,
        ipv6: None,
        links: Default::default(),
    }
}

#[test]
fn containers_reach_each_other_by_name_and_other_networks_cannot() {
    if !can_run() {
        return;
    }
    let net = Net::new(false);
    let other = Net::new(false);
    let (a, b, c) = (Ns::new(), Ns::new(), Ns::new());
    let _va = net.br.plug(&a, 2);
    let _vb = net.br.plug(&b, 3);
    let _vc = other.br.plug(&c, 2);
    let (upstream, upstream_thread) = fake_upstream(1);
    let res = Resolver::start(&net, upstream);
    dns::add_record(res.path(), record("ca", &["alpha", "web"], net.br.host(2))).unwrap();
    dns::add_record(res.path(), record("cb", &["beta"], net.br.host(3))).unwrap();
    let _srv = echo_server(&a, 7001);

    // b finds a by name with busybox's nslookup through the network resolver
    let out = b
        .busybox(&["nslookup", "alpha", &net.br.gateway.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("Address: {}", net.br.host(2))),
        "nslookup said: {text}"
    );
    // … and talks to it at that address
    let ip = a_of(&query(&b, net.br.gateway, "alpha.", RecordType::A))[0];
    let target = SocketAddr::from((ip, 7001));
    assert_eq!(
        b.within(move || tcp_roundtrip_retry(target, "by name", Duration::from_secs(5)))
            .unwrap(),
        "by name"
    );
    // an alias resolves, case-insensitively
    assert_eq!(
        a_of(&query(&b, net.br.gateway, "WEB.", RecordType::A)),
        vec![net.br.host(2)]
    );
    // PTR of a's address names it
    let o = net.br.host(2).octets();
    let ptr = query(
        &b,
        net.br.gateway,
        &format!("{}.{}.{}.{}.in-addr.arpa.", o[3], o[2], o[1], o[0]),
        RecordType::PTR,
    );
    match &ptr.answers[0].data {
        RData::PTR(PTR(n)) => assert_eq!(n.to_ascii(), "alpha."),
        other => panic!("{other:?}"),
    }
    // an unknown single-label name is NXDOMAIN, quickly
    let t = Instant::now();
    let nx = query(&b, net.br.gateway, "nosuchthing.", RecordType::A);
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "NXDOMAIN took {:?}",
        t.elapsed()
    );
    // other names go to the upstream
    let fwd = query(&b, net.br.gateway, "example.test.", RecordType::A);
    assert_eq!(a_of(&fwd), vec![Ipv4Addr::new(198, 51, 100, 7)]);
    assert_eq!(upstream_thread.join().unwrap(), 1);
    // a record removed is gone from answers (the resolver reloads)
    assert_eq!(dns::remove_record(res.path(), "cb").unwrap(), 1);
    let start = Instant::now();
    loop {
        let m = query(&b, net.br.gateway, "beta.", RecordType::A);
        if m.metadata.response_code == ResponseCode::NXDomain {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "removed record still answered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // c, on another network, cannot reach a …
    let blocked = c.within(move || tcp_roundtrip(target, "x"));
    assert!(blocked.is_err(), "isolation failed: {blocked:?}");
    // … although its own network works (control): the host's side of its bridge answers
    let l = std::net::TcpListener::bind((other.br.gateway, 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    let gw = other.br.gateway;
    c.within(move || {
        std::net::TcpStream::connect_timeout(&SocketAddr::from((gw, port)), Duration::from_secs(2))
    })
    .unwrap();
}

#[test]
fn resolver_answers_over_tcp() {
    if !can_run() {
        return;
    }
    use std::io::{Read, Write};
    let net = Net::new(false);
    let b = Ns::new();
    let _vb = net.br.plug(&b, 3);
    let (upstream, _t) = fake_upstream(0);
    let res = Resolver::start(&net, upstream);
    dns::add_record(res.path(), record("cx", &["svc"], net.br.host(9))).unwrap();
    let mut m = Message::query();
    m.add_query(Query::query(
        Name::from_ascii("svc.").unwrap(),
        RecordType::A,
    ));
    let bytes = m.to_vec().unwrap();
    let gw = net.br.gateway;
    let reply = b.within(move || {
        let mut s = std::net::TcpStream::connect_timeout(
            &SocketAddr::from((gw, 53)),
            Duration::from_secs(2),
        )
        .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        s.write_all(&(bytes.len() as u16).to_be_bytes()).unwrap();
        s.write_all(&bytes).unwrap();
        let mut len = [0u8; 2];
        s.read_exact(&mut len).unwrap();
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut buf).unwrap();
        Message::from_vec(&buf).unwrap()
    });
    assert_eq!(a_of(&reply), vec![net.br.host(9)]);
}
