//! IPAM under concurrency: threads and processes share one state file.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use berth_net::ipam::{Ipam, SubnetRequest};

use crate::helpers::spawn_helper;

#[test]
fn fifty_concurrent_allocations_from_threads_and_processes_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    let ipam = Ipam::new(dir.path());
    let req = SubnetRequest {
        subnet: Some("10.77.0.0/24".parse().unwrap()),
        ..Default::default()
    };
    ipam.create_network("shared", &req, &[]).unwrap();
    // 5 processes × 5 allocations, while 25 threads allocate here
    let procs: Vec<_> = (0..5)
        .map(|_| {
            spawn_helper(
                "helpers::helper_ipam_allocate",
                &[
                    ("BERTH_NET_TEST_IPAM_DIR", dir.path().display().to_string()),
                    ("BERTH_NET_TEST_IPAM_N", "5".into()),
                ],
            )
        })
        .collect();
    let threads: Vec<_> = (0..25)
        .map(|i| {
            let ipam = ipam.clone();
            std::thread::spawn(move || {
                ipam.allocate("shared", &format!("thread-{i}"), None)
                    .unwrap()
            })
        })
        .collect();
    let mut got: Vec<Ipv4Addr> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for p in procs {
        let out = p.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "helper failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<Ipv4Addr> = text
            .lines()
            .filter_map(|l| l.split("ALLOC ").nth(1))
            .map(|l| l.split(' ').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(lines.len(), 5, "{text}");
        got.extend(lines);
    }
    assert_eq!(got.len(), 50);
    let unique: HashSet<_> = got.iter().collect();
    assert_eq!(unique.len(), 50, "duplicate addresses handed out: {got:?}");
    assert!(
        !got.contains(&Ipv4Addr::new(10, 77, 0, 1)),
        "the gateway was handed out"
    );
    let recorded = ipam.allocations("shared").unwrap();
    assert_eq!(recorded.len(), 50);
}

#[test]
fn concurrent_network_creation_never_shares_a_subnet() {
    let dir = tempfile::tempdir().unwrap();
    let ipam = Ipam::new(dir.path());
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let ipam = ipam.clone();
            std::thread::spawn(move || {
                ipam.create_network(&format!("n{i}"), &SubnetRequest::default(), &[])
                    .unwrap()
            })
        })
        .collect();
    let subnets: HashSet<_> = threads
        .into_iter()
        .map(|t| t.join().unwrap().subnet)
        .collect();
    assert_eq!(subnets.len(), 8);
    // an explicit subnet inside one of them is refused, naming both
    let taken = *subnets.iter().next().unwrap();
    let inside = ipnet::Ipv4Net::new(taken.network(), 24).unwrap();
    let err = ipam
        .create_network(
            "late",
            &SubnetRequest {
                subnet: Some(inside),
                ..Default::default()
            },
            &[],
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&inside.to_string()) && err.contains(&taken.to_string()),
        "{err}"
    );
}

#[test]
fn dual_stack_addresses_from_threads_are_never_handed_out_twice() {
    let dir = tempfile::tempdir().unwrap();
    let ipam = Ipam::new(dir.path());
    let req = SubnetRequest {
        subnet: Some("10.78.0.0/24".parse().unwrap()),
        ipv6: Some(berth_net::ipam::SubnetRequest6::default()),
        ..Default::default()
    };
    let net = ipam.create_network("dual", &req, &[]).unwrap();
    let v6 = net.v6.unwrap();
    assert_eq!(v6.subnet.prefix_len(), 64);
    assert_eq!(
        v6.subnet.network().octets()[0],
        0xfd,
        "a ULA: {}",
        v6.subnet
    );
    let run = |range: std::ops::Range<u32>| -> Vec<_> {
        range
            .map(|i| {
                let ipam = ipam.clone();
                std::thread::spawn(move || {
                    ipam.allocate_endpoint("dual", &format!("c{i}"), None, None)
                        .unwrap()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect()
    };
    let first = run(0..30);
    // Half leave, thirty more come: released addresses are not reused at once,
    // and nothing held is handed out again.
    for i in (0..30).step_by(2) {
        assert_eq!(ipam.release("dual", &format!("c{i}")).unwrap(), 1);
    }
    let second = run(30..60);
    let held: Vec<Ipv6Addr> = first
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .chain(second.iter().enumerate())
        .map(|(_, a)| a.ipv6.unwrap())
        .collect();
    let unique: HashSet<_> = held.iter().collect();
    assert_eq!(
        unique.len(),
        held.len(),
        "duplicate IPv6 addresses: {held:?}"
    );
    assert!(
        held.iter()
            .all(|a| v6.subnet.contains(a) && *a != v6.gateway)
    );
    let first6: HashSet<Ipv6Addr> = first.iter().map(|a| a.ipv6.unwrap()).collect();
    assert!(
        second.iter().all(|a| !first6.contains(&a.ipv6.unwrap())),
        "a just-released address came back at once"
    );
    // A taken --ip6 is refused, naming the holder.
    let taken = second[0].ipv6.unwrap();
    let err = ipam
        .allocate_endpoint("dual", "late", None, Some(taken))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&taken.to_string()) && err.contains("c"),
        "{err}"
    );
    // The failed request took nothing, in either family.
    let recorded = ipam.allocations("dual").unwrap();
    assert!(!recorded.values().any(|o| o == "late"), "{recorded:?}");
    // --ip6 on an IPv4-only network is refused.
    ipam.create_network("v4only", &SubnetRequest::default(), &[])
        .unwrap();
    assert!(
        ipam.allocate_endpoint("v4only", "x", None, Some(taken))
            .is_err()
    );
}

/// Found when another berth build (without dual-stack networks) shared the host's
/// state: its read-modify-write of `ipam.json` dropped the IPv6 half it did not know.
#[test]
fn an_older_berth_rewriting_ipam_json_keeps_the_ipv6_half() {
    let dir = tempfile::tempdir().unwrap();
    let ipam = Ipam::new(dir.path());
    let req = SubnetRequest {
        subnet: Some("10.79.0.0/24".parse().unwrap()),
        ipv6: Some(berth_net::ipam::SubnetRequest6 {
            subnet: Some("fd00:79::/64".parse().unwrap()),
            gateway: None,
        }),
        ..Default::default()
    };
    ipam.create_network("dual", &req, &[]).unwrap();
    // What an older berth writes back: only the fields it knows.
    let path = dir.path().join("ipam.json");
    let mut v: serde_json::Value = serde_json::from_slice(&fs_err::read(&path).unwrap()).unwrap();
    for n in v["networks"].as_object_mut().unwrap().values_mut() {
        let keep = ["subnet", "gateway", "range", "allocations", "last"];
        n.as_object_mut()
            .unwrap()
            .retain(|k, _| keep.contains(&k.as_str()));
    }
    fs_err::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    let got = ipam.allocate_endpoint("dual", "c1", None, None).unwrap();
    assert_eq!(got.ipv6, Some("fd00:79::2".parse().unwrap()));
    assert_eq!(
        ipam.network("dual").unwrap().unwrap().v6.unwrap().gateway,
        "fd00:79::1".parse::<Ipv6Addr>().unwrap()
    );
    // Removing the network removes its IPv6 half too.
    ipam.remove_network("dual").unwrap();
    let left = fs_err::read_to_string(dir.path().join("ipam6.json")).unwrap();
    assert!(!left.contains("fd00:79"), "{left}");
}
