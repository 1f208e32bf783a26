//! The life of a network's kernel objects: its bridge and nftables rules stay
//! from its first container until `network rm` (only a container's veth and
//! rules come and go with it), published ports' rules go with their container,
//! a restarted container gets its veth back at once, and berth never leaves an
//! empty nftables table behind.
//!
//! Shares `networks.rs`'s root helper and its lock: these tests touch the same
//! host-wide things (the default bridge, the nftables table).
#![allow(clippy::unwrap_used)]

use std::process::Command;

use crate::networks::{Root, echo_server, tcp_read, text};

fn links() -> String {
    let out = Command::new("ip").args(["-o", "link"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ruleset() -> String {
    let out = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `table FAMILY berth` as nft lists it, or `None` if there is none (`inet`:
/// berth's; `ip`: a berth's from before IPv6 support).
fn berth_table(family: &str) -> Option<String> {
    let out = Command::new("nft")
        .args(["list", "table", family, "berth"])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

use berth_testkit::nft;

/// What a berth from before IPv6 support made for network `id` when it brought
/// it up: rules in `table ip berth` and its bridge in that table's set, and its
/// marker in `up/`.
fn fake_older_berths_network(id: &str, subnet: &str) {
    let br = format!("br-{}", &id[..12]);
    nft(&format!(
        "add table ip berth\n\
         add chain ip berth postrouting {{ type nat hook postrouting priority 100; policy accept; }}\n\
         add chain ip berth forward {{ type filter hook forward priority 0; policy accept; }}\n\
         add set ip berth bridges {{ type ifname; }}\n\
         add element ip berth bridges {{ \"{br}\" }}\n\
         add rule ip berth postrouting ip saddr {subnet} oifname != \"{br}\" masquerade comment \"berth net {id}\"\n\
         add rule ip berth forward iifname \"{br}\" oifname @bridges oifname != \"{br}\" drop comment \"berth net {id}\"\n"
    ));
    let marker = std::path::Path::new("/run/berth/net/up").join(id);
    fs_err::create_dir_all(marker.parent().unwrap()).unwrap();
    fs_err::write(&marker, b"1").unwrap();
}

/// Nothing [`fake_older_berths_network`] made for network `id` is left.
fn assert_older_berths_rules_gone(id: &str, what: &str) {
    let old = berth_table("ip").unwrap_or_default();
    assert!(
        !old.contains(id) && !old.contains(&format!("br-{}", &id[..12])),
        "the old rules of {what}:\n{old}"
    );
    let marker = std::path::Path::new("/run/berth/net/up").join(id);
    assert!(!marker.exists(), "the old marker of {what}");
}

#[test]
fn an_older_berths_rules_go_when_berth_takes_its_networks_over() {
    let Some(r) = Root::new() else { return };
    // Brought up by an older berth, used again by this one: its first container
    // brings it up in the inet table and removes the old rules.
    let used = r.ok(&[
        "network",
        "create",
        "--subnet",
        "10.236.20.0/24",
        "old-used",
    ]);
    fake_older_berths_network(&used, "10.236.20.0/24");
    // Brought up by an older berth and removed by this one.
    let gone = r.ok(&[
        "network",
        "create",
        "--subnet",
        "10.236.21.0/24",
        "old-gone",
    ]);
    fake_older_berths_network(&gone, "10.236.21.0/24");
    let old = berth_table("ip").unwrap_or_default();
    assert!(old.contains(&used) && old.contains(&gone), "{old}");

    r.ok(&["run", "--rm", "--network", "old-used", "bb", "true"]);
    let inet = berth_table("inet").unwrap_or_default();
    assert!(inet.contains(&format!("berth net {used}")), "{inet}");
    assert_older_berths_rules_gone(&used, "a network taken over");

    r.ok(&["network", "rm", "old-gone"]);
    assert_older_berths_rules_gone(&gone, "a removed network");
    r.assert_clean();
    // Unless an older berth on this host still uses it, the old table is gone.
    if let Some(t) = berth_table("ip") {
        assert!(
            t.contains("comment \"berth ") || t.contains("elements"),
            "an empty old berth table was left behind:\n{t}"
        );
    }
}

#[test]
fn a_network_keeps_its_bridge_until_removed_and_ports_go_with_their_container() {
    let Some(r) = Root::new() else { return };
    let id = r.ok(&["network", "create", "--subnet", "10.231.7.0/24", "keep"]);
    let br = format!("br-{}", &id[..12]);
    assert!(
        !links().contains(&br),
        "an unused network has no bridge yet"
    );

    r.ok(&["run", "--rm", "--network", "keep", "bb", "true"]);
    assert!(
        links().contains(&br),
        "the bridge stays after the last container"
    );
    assert!(
        ruleset().contains(&format!("berth net {id}")),
        "the network's rules stay too"
    );

    r.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "keep",
        "-p",
        "127.0.0.1:18271:80",
        "bb",
        "sh",
        "-c",
        &echo_server("kept"),
    ]);
    assert_eq!(tcp_read("127.0.0.1:18271"), "kept\n");
    let cid = r.ok(&["inspect", "-f", "{{.Id}}", "web"]);
    assert!(ruleset().contains(&format!("berth ctr {cid}")));
    r.ok(&["rm", "-f", "web"]);
    let rules = ruleset();
    assert!(
        !rules.contains(&format!("berth ctr {cid}")),
        "port rules must go with their container:\n{rules}"
    );
    assert!(links().contains(&br));

    r.ok(&["network", "rm", "keep"]);
    assert!(!links().contains(&br), "network rm removes the bridge");
    assert!(!ruleset().contains(&format!("berth net {id}")));
    r.assert_clean();
    // Whatever other berth users on this host still have: never an empty table.
    if let Some(t) = berth_table("inet") {
        assert!(
            t.contains("comment \"berth "),
            "an empty berth table was left behind:\n{t}"
        );
    }
}

#[test]
fn a_restarted_container_gets_its_network_back_at_once() {
    let Some(r) = Root::new() else { return };
    r.ok(&["network", "create", "--subnet", "10.231.8.0/24", "again"]);
    r.ok(&[
        "run",
        "-d",
        "--name",
        "loop",
        "--network",
        "again",
        "bb",
        "sleep",
        "600",
    ]);
    let net = r.ok(&["network", "inspect", "-f", "{{.Id}}", "again"]);
    let bridge = format!("br-{}", &net[..12]);
    // Its old veth may still be on its way out with the old namespace: the new one
    // then takes the container's other name.
    for _ in 0..4 {
        r.ok(&["restart", "-t", "0", "loop"]);
        let o = r.run(&["exec", "loop", "ip", "-o", "addr", "show", "eth0"]);
        let out = text(&o);
        assert!(
            o.status.success() && out.contains("10.231.8."),
            "eth0 after restart: {out}"
        );
        // The veth named in its state is the one on the bridge, and packets cross it.
        let veth = r.ok(&[
            "inspect",
            "-f",
            "{{.NetworkSettings.Networks.again.EndpointID}}",
            "loop",
        ]);
        let master = fs_err::read_link(format!("/sys/class/net/{veth}/master")).unwrap();
        assert!(master.ends_with(&bridge), "{veth} is on {master:?}");
        r.ok(&["exec", "loop", "ping", "-c", "1", "-W", "5", "10.231.8.1"]);
    }
    r.assert_clean();
}
