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

/// `table ip berth` as nft lists it, or `None` if there is none.
fn berth_table() -> Option<String> {
    let out = Command::new("nft")
        .args(["list", "table", "ip", "berth"])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
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
    if let Some(t) = berth_table() {
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
    // Its old veth may still be on its way out with the old namespace when the
    // new one is made under the same name.
    for _ in 0..3 {
        r.ok(&["restart", "-t", "0", "loop"]);
        let o = r.run(&["exec", "loop", "ip", "-o", "addr", "show", "eth0"]);
        let out = text(&o);
        assert!(
            o.status.success() && out.contains("10.231.8."),
            "eth0 after restart: {out}"
        );
    }
    r.assert_clean();
}
