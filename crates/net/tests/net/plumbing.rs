//! Bridge + veth + namespace plumbing.

use std::net::SocketAddr;
use std::time::Duration;

use crate::common::*;

#[test]
fn two_namespaces_on_one_bridge_talk_tcp() {
    if !can_run() {
        return;
    }
    let br = Bridge::new();
    let (a, b) = (Ns::new(), Ns::new());
    let _va = br.plug(&a, 2);
    let _vb = br.plug(&b, 3);
    let _srv = echo_server(&a, 7000);
    let target = SocketAddr::from((br.host(2), 7000));
    let got = b.within(move || {
        tcp_roundtrip_retry(target, "hello over the bridge", Duration::from_secs(5))
    });
    assert_eq!(got.unwrap(), "hello over the bridge");
    // inside b: eth0 has the address, MAC derived from it, and lo is up
    let out = b.busybox(&["ip", "addr"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("inet {}/24", br.host(3))), "{text}");
    let o = br.host(3).octets();
    assert!(
        text.contains(&format!(
            "link/ether 02:42:{:02x}:{:02x}:{:02x}:{:02x}",
            o[0], o[1], o[2], o[3]
        )),
        "{text}"
    );
    assert!(text.contains("127.0.0.1/8"), "{text}");
    let route = b.busybox(&["ip", "route"]).output().unwrap();
    let route = String::from_utf8_lossy(&route.stdout);
    assert!(
        route.contains(&format!("default via {}", br.gateway)),
        "{route}"
    );
}

#[test]
fn detach_removes_both_ends_and_bridge_delete_is_idempotent() {
    if !can_run() {
        return;
    }
    let br = Bridge::new();
    let ns = Ns::new();
    let veth = br.plug(&ns, 2);
    assert!(berth_net::link_exists(&veth.0).unwrap());
    let name = veth.0.clone();
    drop(veth);
    assert!(!berth_net::link_exists(&name).unwrap());
    let inside = ns.within(|| berth_net::link_exists("eth0").unwrap());
    assert!(!inside, "eth0 must vanish with its host end");
    // a second create of the same bridge is a no-op that reports "not created"
    assert!(!berth_net::bridge::create(&br.name, br.gateway, 24).unwrap());
}

/// A restarted container gets a veth of the same name while the kernel is still
/// destroying its old namespace (and with it the old pair) in the background.
#[test]
fn a_veth_name_is_reusable_while_its_old_namespace_dies() {
    if !can_run() {
        return;
    }
    let br = Bridge::new();
    let name = unique("btv");
    for _ in 0..40 {
        let ns = Ns::new();
        let veth = br.plug_as(&ns, 2, &name);
        // Not detached: dropping the namespace leaves the pair to the kernel.
        std::mem::forget(veth);
        drop(ns);
    }
    let ns = Ns::new();
    let _veth = br.plug_as(&ns, 2, &name);
    assert!(berth_net::link_exists(&name).unwrap());
}

/// A name still held (by a pair whose namespace lives on here, as an old one does
/// while the kernel destroys it) gives way to the spare: nothing is deleted. With
/// both held, the spare's holder is replaced.
#[test]
fn a_taken_name_gives_way_to_the_spare_without_deleting_anything() {
    if !can_run() {
        return;
    }
    let br = Bridge::new();
    let (name, spare) = (unique("btv"), unique("bts"));
    let (a, b, c) = (Ns::new(), Ns::new(), Ns::new());
    let va = br.plug_spare(&a, 2, &name, Some(&spare));
    assert_eq!(va.0, name);
    let vb = br.plug_spare(&b, 3, &name, Some(&spare));
    assert_eq!(vb.0, spare);
    let in_ns = |ns: &Ns| ns.within(|| berth_net::link_exists("eth0").unwrap());
    assert!(in_ns(&a) && in_ns(&b), "both pairs live");
    let vc = br.plug_spare(&c, 4, &name, Some(&spare));
    assert_eq!(vc.0, spare);
    assert!(in_ns(&a), "the first name's pair was left alone");
    assert!(!in_ns(&b), "the spare's old pair was replaced");
    assert!(in_ns(&c));
    drop((vc, vb, va));
}
