//! `stats`: Docker's columns filled from the container's cgroup and network namespace.

use std::io::Write as _;

use super::{Root, skip};

fn stats(r: &Root, names: &[&str]) -> Vec<serde_json::Value> {
    let mut a = vec!["stats", "--no-stream", "--format", "json"];
    a.extend_from_slice(names);
    r.ok(&a)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn first_number(v: &serde_json::Value, key: &str) -> f64 {
    let s = v[key].as_str().unwrap();
    let digits: String = s
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits.parse().unwrap()
}

#[test]
fn stats_shows_cpu_memory_network_and_pids() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&[
        "run",
        "-d",
        "--name",
        "spin",
        "--network",
        "none",
        "alpine:test",
        "sh",
        "-c",
        "while :; do :; done",
    ]);
    // 24 MiB in tmpfs is charged to the container's memory cgroup.
    r.ok(&[
        "run", "-d", "--name", "mem", "-m", "64m", "-p", "80", "alpine:test", "sh", "-c",
        "dd if=/dev/zero of=/dev/shm/fill bs=1M count=24 2>/dev/null; nc -l -p 80 >/dev/null; sleep 300",
    ]);
    r.wait_for(10, "the fill", || {
        r.ok(&["exec", "mem", "ls", "/dev/shm"]).contains("fill")
    });
    let port = r.ok(&["port", "mem", "80"]);
    let port = port
        .lines()
        .next()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .trim()
        .to_owned();
    let mut conn = None;
    r.wait_for(10, "the published port", || {
        conn = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).ok();
        conn.is_some()
    });
    let mut conn = conn.unwrap();
    conn.write_all(&vec![7u8; 200_000]).unwrap();
    drop(conn);
    r.ok(&["create", "--name", "idle", "alpine:test", "true"]);

    let rows = stats(&r, &["spin", "mem", "idle"]);
    assert_eq!(rows.len(), 3, "{rows:?}");
    let (spin, mem, idle) = (&rows[0], &rows[1], &rows[2]);
    assert_eq!(spin["Container"], "spin");
    assert_eq!(spin["Name"], "spin");
    assert_eq!(spin["ID"].as_str().unwrap().len(), 12);
    // A busy loop uses a real share of a CPU; an idle container none of it.
    assert!(first_number(spin, "CPUPerc") > 5.0, "{spin}");
    assert_eq!(
        spin["NetIO"], "0B / 0B",
        "--network none has only lo: {spin}"
    );
    assert_eq!(spin["PIDs"], "1");

    let usage = mem["MemUsage"].as_str().unwrap();
    assert!(usage.ends_with(" / 64MiB"), "{usage}");
    assert!(usage.contains("MiB /"), "{usage}");
    assert!(first_number(mem, "MemUsage") >= 24.0, "{usage}");
    assert!(first_number(mem, "MemPerc") >= 37.0, "{mem}");
    // The 200 kB sent to the published port arrived on the container's eth0.
    let net = mem["NetIO"].as_str().unwrap();
    assert!(net.contains("kB /") || net.contains("MB /"), "{net}");
    assert!(
        first_number(mem, "NetIO") >= 200.0 || net.contains("MB /"),
        "{net}"
    );

    // A container that is not running is all zeros, as in Docker.
    assert_eq!(idle["CPUPerc"], "0.00%");
    assert_eq!(idle["MemUsage"], "0B / 0B");
    assert_eq!(idle["PIDs"], "0");

    // Without names: only running containers, labelled by short id; -a adds the rest.
    let running: Vec<String> = stats(&r, &[])
        .iter()
        .map(|v| v["Name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(running.len(), 2, "{running:?}");
    assert!(!running.contains(&"idle".to_owned()));
    let all = r.ok(&[
        "stats",
        "-a",
        "--no-stream",
        "--no-trunc",
        "--format",
        "{{.ID}} {{.Name}}",
    ]);
    assert_eq!(all.lines().count(), 3, "{all}");
    assert!(
        all.lines()
            .all(|l| l.split(' ').next().unwrap().len() == 64),
        "{all}"
    );

    let table = r.ok(&["stats", "--no-stream", "spin"]);
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap()
        .split("  ")
        .filter(|c| !c.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(
        header,
        [
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS"
        ]
    );
    let e = r.fails(&["stats", "--no-stream", "nosuch"], 1);
    assert!(e.contains("nosuch"), "{e}");
}
