//! Entry points that the tests run in child processes (re-executing this
//! test binary with `--ignored --exact`): a resolver process and IPAM
//! allocations from other processes. Run alone they do nothing.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// Starts `helper` in a child process with `env`.
pub fn spawn_helper(helper: &str, env: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--ignored",
        "--exact",
        helper,
        "--nocapture",
        "--test-threads=1",
    ]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
#[ignore = "helper run by dns tests in a child process"]
fn helper_dns_serve() {
    let Ok(dir) = std::env::var("BERTH_NET_TEST_DNS_DIR") else {
        return;
    };
    berth_net::dns::serve(&PathBuf::from(dir)).unwrap();
}

#[test]
#[ignore = "helper run by ipam tests in a child process"]
fn helper_ipam_allocate() {
    let Ok(dir) = std::env::var("BERTH_NET_TEST_IPAM_DIR") else {
        return;
    };
    let n: usize = std::env::var("BERTH_NET_TEST_IPAM_N")
        .unwrap()
        .parse()
        .unwrap();
    let ipam = berth_net::ipam::Ipam::new(&PathBuf::from(dir));
    for i in 0..n {
        let owner = format!("proc{}-{i}", std::process::id());
        let ip = ipam.allocate("shared", &owner, None).unwrap();
        println!("ALLOC {ip} {owner}");
    }
}
