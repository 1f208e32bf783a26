//! IPv6 in berth's nftables table (`table inet berth`): two dual-stack networks are
//! isolated from each other over IPv6 as over IPv4 while the host forwards IPv6,
//! containers on one network talk, the IPv6 subnet is masqueraded on its way out,
//! and published ports answer on the host's IPv6 addresses, on `[::1]` (the
//! userspace proxy) and on a single `[::1]` binding, with `berth port` in Docker's
//! shape. Nothing is left afterwards (rules in either berth table, bridges in their
//! sets, port records, proxies, veths, namespaces).

use std::io::Read;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use crate::networks::{Root, echo_server, tcp_read};
use crate::networks_v6::{dual_stack, sysctl, v6_root};

fn v6_of(r: &Root, ctr: &str, net: &str) -> String {
    r.ok(&[
        "inspect",
        "-f",
        &format!("{{{{.NetworkSettings.Networks.{net}.GlobalIPv6Address}}}}"),
        ctr,
    ])
}

/// A client container on `net` that tries TCP to `[addr]:80` a few times and
/// prints what it got.
fn fetch_over_v6(r: &Root, net: &str, addr: &str) -> String {
    let script = format!(
        "for i in 1 2 3; do nc -w 2 {addr} 80 && exit 0; sleep 0.3; done; echo unreachable"
    );
    r.ok(&["run", "--rm", "--network", net, "bb", "sh", "-c", &script])
}

fn ruleset() -> String {
    let out = Command::new("nft")
        .args(["list", "table", "inet", "berth"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ipv6_between_two_networks_is_blocked_while_one_network_talks() {
    let Some(r) = v6_root() else { return };
    for (name, n) in [("iso6a", 8), ("iso6b", 9)] {
        let (v4, v6) = (format!("10.236.{n}.0/24"), format!("fd00:236:{n}::/64"));
        dual_stack(&r, name, &v4, &v6);
    }
    r.ok(&[
        "run",
        "-d",
        "--name",
        "srv6a",
        "--network",
        "iso6a",
        "bb",
        "sh",
        "-c",
        &echo_server("hello-a"),
    ]);
    let srv = v6_of(&r, "srv6a", "iso6a");
    assert!(srv.starts_with("fd00:236:8::"), "{srv}");

    // Same network: over IPv6 at once.
    assert!(
        fetch_over_v6(&r, "iso6a", &srv).contains("hello-a"),
        "same network over IPv6"
    );
    // The host forwards IPv6 now (a dual-stack network that is not internal needs
    // it), so only berth's rule stands between the two networks.
    assert_eq!(
        sysctl("/proc/sys/net/ipv6/conf/all/forwarding").trim(),
        "1",
        "berth turns IPv6 forwarding on for a dual-stack network"
    );
    let other = fetch_over_v6(&r, "iso6b", &srv);
    assert!(
        other.contains("unreachable") && !other.contains("hello-a"),
        "another network must not reach srv6a over IPv6: {other}"
    );
    // Both families are in one table, IPv6 masquerade included.
    let rules = ruleset();
    assert!(
        rules.contains("ip6 saddr fd00:236:8::/64 oifname != ") && rules.contains("masquerade"),
        "{rules}"
    );
    assert!(rules.contains("oifname @bridges"), "{rules}");
    let legacy = Command::new("nft")
        .args(["list", "table", "ip", "berth"])
        .output()
        .unwrap();
    let legacy = String::from_utf8_lossy(&legacy.stdout);
    for id in r.ids("network") {
        assert!(!legacy.contains(&id), "rules in the old ip table: {legacy}");
    }
    r.assert_clean();
}

/// The host side of a veth into a namespace standing for "the outside": an IPv6
/// peer the containers reach only through the host's forwarding.
struct Outside {
    ns: &'static str,
}

impl Outside {
    fn new() -> Outside {
        let o = Outside {
            ns: "berth-it-out6",
        };
        let sh = |c: &str| {
            let st = Command::new("sh").args(["-c", c]).status().unwrap();
            assert!(st.success(), "{c}");
        };
        // A leftover of an interrupted run (usually there is none).
        let _ = Command::new("ip").args(["netns", "del", o.ns]).output();
        sh("ip netns add berth-it-out6");
        sh("ip link add bitout6h type veth peer name bitout6c netns berth-it-out6");
        sh("ip addr add fd00:236:99::1/64 dev bitout6h nodad && ip link set bitout6h up");
        sh("ip -n berth-it-out6 addr add fd00:236:99::2/64 dev bitout6c nodad");
        sh("ip -n berth-it-out6 link set bitout6c up && ip -n berth-it-out6 link set lo up");
        o
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", "bitout6h"])
            .status();
        let _ = Command::new("ip").args(["netns", "del", self.ns]).status();
    }
}

#[test]
fn outbound_ipv6_leaves_with_the_hosts_address() {
    let Some(r) = v6_root() else { return };
    let out = Outside::new();
    dual_stack(&r, "out6", "10.236.11.0/24", "fd00:236:11::/64");
    // The peer outside has no route back to the network's subnet (only its own
    // on-link prefix): a TCP handshake, and so the bytes, get through only if the
    // container's address was masqueraded to the host's on the way out.
    let routes = Command::new("ip")
        .args(["-n", out.ns, "-6", "route"])
        .output()
        .unwrap();
    let routes = String::from_utf8_lossy(&routes.stdout).into_owned();
    assert!(
        !routes.contains("default") && !routes.contains("fd00:236:11"),
        "{routes}"
    );
    let mut peer = Command::new("ip")
        .args(["netns", "exec", out.ns, "busybox", "nc", "-l", "-p", "80"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let got = r.ok(&[
        "run",
        "--rm",
        "--network",
        "out6",
        "bb",
        "sh",
        "-c",
        "echo from-ctr | nc -w 2 fd00:236:99::2 80; echo rc=$?",
    ]);
    let _ = peer.kill();
    let o = peer.wait_with_output().unwrap();
    let seen = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        seen.contains("from-ctr") && got.contains("rc=0"),
        "the bytes crossed, masqueraded: {seen} / {got}"
    );
    drop(out);
    r.assert_clean();
}

fn refused(addr: &str) -> bool {
    match TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(1)) {
        Err(_) => true,
        Ok(mut s) => {
            s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            out.is_empty()
        }
    }
}

#[test]
fn published_ports_answer_over_ipv6_loopback_and_host_addresses() {
    let Some(r) = v6_root() else { return };
    dual_stack(&r, "pub6", "10.236.10.0/24", "fd00:236:10::/64");
    r.ok(&[
        "run",
        "-d",
        "--name",
        "web6",
        "--network",
        "pub6",
        "-p",
        "18261:80",
        "bb",
        "sh",
        "-c",
        &echo_server("hello-p6"),
    ]);
    assert_eq!(
        r.ok(&["port", "web6"]),
        "80/tcp -> 0.0.0.0:18261\n80/tcp -> [::]:18261"
    );
    assert_eq!(r.ok(&["port", "web6", "80"]), "0.0.0.0:18261\n[::]:18261");
    let ps = r.ok(&["ps", "--format", "{{.Ports}}", "-f", "name=web6"]);
    assert_eq!(ps, "0.0.0.0:18261->80/tcp, [::]:18261->80/tcp");
    // The IPv6 loopback (through the proxy), a host IPv6 address (DNAT in
    // output: the network's gateway is one), and IPv4 as before.
    assert_eq!(tcp_read("[::1]:18261"), "hello-p6\n");
    assert_eq!(tcp_read("[fd00:236:10::1]:18261"), "hello-p6\n");
    assert_eq!(tcp_read("127.0.0.1:18261"), "hello-p6\n");

    // Docker's bracket syntax binds only there.
    r.ok(&[
        "run",
        "-d",
        "--name",
        "lo6",
        "--network",
        "pub6",
        "-p",
        "[::1]:18262:80",
        "bb",
        "sh",
        "-c",
        &echo_server("hello-lo6"),
    ]);
    assert_eq!(r.ok(&["port", "lo6"]), "80/tcp -> [::1]:18262");
    assert_eq!(tcp_read("[::1]:18262"), "hello-lo6\n");
    assert!(refused("127.0.0.1:18262"), "only [::1] was asked for");
    assert!(
        refused("[fd00:236:10::1]:18262"),
        "only [::1] was asked for"
    );
    // The host port is taken for [::1] by lo6 (and for both families by web6).
    let err = r.fails(&[
        "run",
        "--rm",
        "--network",
        "pub6",
        "-p",
        "[::1]:18261:80",
        "bb",
        "true",
    ]);
    assert!(err.contains("18261"), "{err}");

    // An IPv6 host address needs a container with an IPv6 address.
    r.ok(&["network", "create", "--subnet", "10.236.12.0/24", "v4pub"]);
    let err = r.fails(&[
        "run",
        "--rm",
        "--network",
        "v4pub",
        "-p",
        "[::1]:18263:80",
        "bb",
        "true",
    ]);
    assert!(
        err.contains("--ipv6") && err.contains("[::1]:18263:80"),
        "{err}"
    );

    r.ok(&["rm", "-f", "web6", "lo6"]);
    assert!(refused("[::1]:18261"), "the proxy went with its container");
    assert!(refused("127.0.0.1:18261"));
    r.assert_clean();
}
