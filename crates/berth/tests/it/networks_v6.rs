//! Dual-stack networks with real containers: IPv6 addresses and routes, AAAA and
//! PTR (`ip6.arpa`) answers for names and aliases, TCP and ICMP between containers
//! over IPv6 by name, `--ip6`, `inspect`/`network inspect` in Docker's shape,
//! refused overlaps, and nothing left on the host afterwards.

use crate::networks::Root;

pub(crate) fn sysctl(path: &str) -> String {
    fs_err::read_to_string(path).unwrap_or_default()
}

pub(crate) fn ipv6_on() -> bool {
    let on = sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6").trim() == "0";
    if !on {
        eprintln!("skipped: IPv6 is disabled on this host");
    }
    on
}

/// A test root on a host with IPv6, or `None` (the test is skipped, saying why).
pub(crate) fn v6_root() -> Option<Root> {
    let r = Root::new()?;
    ipv6_on().then_some(r)
}

/// `network create --ipv6` with an IPv4 and an IPv6 subnet; returns the id.
pub(crate) fn dual_stack(r: &Root, name: &str, v4: &str, v6: &str) -> String {
    r.ok(&[
        "network", "create", "--ipv6", "--subnet", v4, "--subnet", v6, name,
    ])
}

#[test]
fn containers_on_an_ipv6_network_reach_each_other_by_name_over_ipv6() {
    let Some(r) = v6_root() else { return };
    dual_stack(&r, "v6net", "10.231.6.0/24", "fd00:231:6::/64");
    let inspect = r.ok(&["network", "inspect", "v6net"]);
    let v: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(v[0]["EnableIPv6"], true, "{inspect}");
    let configs = v[0]["IPAM"]["Config"].as_array().unwrap();
    assert!(
        configs
            .iter()
            .any(|c| c["Subnet"] == "fd00:231:6::/64" && c["Gateway"] == "fd00:231:6::1"),
        "{inspect}"
    );
    assert!(
        configs.iter().any(|c| c["Subnet"] == "10.231.6.0/24"),
        "{inspect}"
    );

    r.ok(&[
        "run",
        "-d",
        "--name",
        "srv6",
        "--network",
        "v6net",
        "--network-alias",
        "web6",
        "bb",
        "sh",
        "-c",
        "while true; do echo hello6 | nc -l -p 80; done",
    ]);
    let srv_ip = r.ok(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.v6net.GlobalIPv6Address}}/{{.NetworkSettings.Networks.v6net.GlobalIPv6PrefixLen}}",
        "srv6",
    ]);
    assert!(
        srv_ip.starts_with("fd00:231:6::") && srv_ip.ends_with("/64"),
        "{srv_ip}"
    );
    let srv_ip = srv_ip.trim_end_matches("/64").to_owned();
    let gw6 = r.ok(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.v6net.IPv6Gateway}}",
        "srv6",
    ]);
    assert_eq!(gw6, "fd00:231:6::1");

    // A client with a fixed IPv6 address: its own address and route, AAAA answers
    // for the name and the alias, ICMPv6 by name, TCP over IPv6 to the address the
    // resolver gave.
    // The reverse question for srv6's IPv6 address (busybox asks for its
    // ip6.arpa name) answers srv6; an unknown address of the subnet none.
    let script = format!(
        "ip -6 addr show dev eth0; ip -6 route; \
         nslookup -type=AAAA srv6; nslookup -type=AAAA web6; \
         ping -6 -c 1 -W 3 srv6 && echo ping=ok; \
         a=$(nslookup -type=AAAA srv6 | awk '/^Address: fd00/ {{print $2}}'); \
         for i in 1 2 3 4 5; do nc -w 2 $a 80 && break; sleep 0.2; done; \
         echo ptr:; nslookup {srv_ip}; echo unknown:; nslookup fd00:231:6::77 || echo nx=yes; \
         cat /etc/hosts"
    );
    let out = r.ok(&[
        "run",
        "--rm",
        "--network",
        "v6net",
        "--ip6",
        "fd00:231:6::42",
        "--name",
        "client6",
        "bb",
        "sh",
        "-c",
        &script,
    ]);
    assert!(out.contains("inet6 fd00:231:6::42/64"), "{out}");
    assert!(out.contains("default via fd00:231:6::1"), "{out}");
    assert!(
        out.matches(&format!("Address: {srv_ip}")).count() >= 2,
        "AAAA for srv6 and web6: {out}"
    );
    assert!(out.contains("ping=ok"), "{out}");
    assert!(out.contains("hello6"), "TCP over IPv6: {out}");
    assert!(out.contains("fd00:231:6::42\t"), "/etc/hosts: {out}");
    let (_, ptr) = out.split_once("ptr:").unwrap();
    let (ptr, unknown) = ptr.split_once("unknown:").unwrap();
    assert!(
        ptr.contains("ip6.arpa") && ptr.contains("name = srv6"),
        "PTR of {srv_ip}: {ptr}"
    );
    assert!(
        !unknown.contains("name =") && unknown.contains("nx=yes"),
        "PTR of an unknown address of the subnet: {unknown}"
    );

    // An address in use is refused; --ip6 needs an IPv6 network; overlaps refused.
    let err = r.fails(&[
        "run",
        "--rm",
        "--network",
        "v6net",
        "--ip6",
        &srv_ip,
        "bb",
        "true",
    ]);
    assert!(err.contains(&srv_ip) && err.contains("in use"), "{err}");
    r.ok(&["network", "create", "--subnet", "10.231.7.0/24", "v4only"]);
    let err = r.fails(&[
        "run",
        "--rm",
        "--network",
        "v4only",
        "--ip6",
        "fd00:231:7::5",
        "bb",
        "true",
    ]);
    assert!(err.contains("--ipv6"), "{err}");
    let err = r.fails(&[
        "network",
        "create",
        "--ipv6",
        "--subnet",
        "fd00:231:6::/56",
        "overlap6",
    ]);
    assert!(
        err.contains("fd00:231:6::/56") && err.contains("fd00:231:6::/64"),
        "{err}"
    );
    let err = r.fails(&["network", "create", "--subnet", "fd00:231:9::/64", "no6"]);
    assert!(err.contains("--ipv6"), "{err}");

    // Without --subnet: a random unique local /64, kept.
    r.ok(&["network", "create", "--ipv6", "auto6"]);
    let sub = r.ok(&[
        "network",
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Subnet}} {{end}}",
        "auto6",
    ]);
    let v6 = sub.split_whitespace().find(|s| s.contains(':')).unwrap();
    assert!(v6.starts_with("fd") && v6.ends_with("::/64"), "{sub}");

    r.assert_clean();
}
