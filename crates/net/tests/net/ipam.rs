//! IPAM under concurrency: threads and processes share one state file.

use std::collections::HashSet;
use std::net::Ipv4Addr;

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
