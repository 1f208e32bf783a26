//! Networks with real containers: DNS by name and alias, isolation between networks,
//! published ports (TCP, UDP, -P) from the host, `--network none|host`, clear errors
//! for bad input, and nothing left in the kernel afterwards.
//!
//! Traffic goes only to loopback, the bridges these tests make and the containers'
//! own namespaces. The tests share host-wide things (the default bridge, the
//! nftables table), so they run one at a time.
//!
//! Helpers here panic on setup failures like the tests themselves do.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::{berth_bin, skip_unless_root};

static SERIAL: Mutex<()> = Mutex::new(());

const BUSYBOX: &str = "/work/shared/images/busybox-1.38.0/glibc/rootfs.tar.gz";

/// A berth root with a busybox image (`bb`, EXPOSE 80 and 53/udp); removes its
/// containers and networks on drop, then checks nothing of them stays in the kernel.
pub(crate) struct Root {
    dir: tempfile::TempDir,
    _serial: std::sync::MutexGuard<'static, ()>,
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

impl Root {
    pub(crate) fn new() -> Option<Root> {
        if skip_unless_root() {
            return None;
        }
        let images = Path::new(BUSYBOX);
        if !images.exists() {
            eprintln!(
                "skipped: {} is missing (shared test images)",
                images.display()
            );
            return None;
        }
        if Command::new("nft").arg("--version").output().is_err() {
            eprintln!("skipped: nft is missing (Debian package nftables)");
            return None;
        }
        let serial = SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let r = Root {
            dir: tempfile::Builder::new()
                .prefix("berth-net-")
                .tempdir()
                .unwrap(),
            _serial: serial,
        };
        r.ok(&[
            "import",
            "--change",
            "EXPOSE 80",
            "--change",
            "EXPOSE 53/udp",
            BUSYBOX,
            "bb",
        ]);
        Some(r)
    }

    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(berth_bin());
        c.arg("--root").arg(self.dir.path()).args(args);
        c.stdin(Stdio::null());
        c
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "berth {args:?} failed: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    }

    pub(crate) fn fails(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            !o.status.success(),
            "berth {args:?} should fail: {}",
            text(&o)
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    /// Ids of every container and network this root ever made (from its event log).
    pub(crate) fn ids(&self, kind: &str) -> Vec<String> {
        let log = fs_err::read_to_string(self.dir.path().join("events.log")).unwrap_or_default();
        let mut ids: Vec<String> = log
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["Type"] == kind)
            .filter_map(|v| v["id"].as_str().map(str::to_owned))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    pub(crate) fn remove_all(&self) {
        let ps = self.run(&["ps", "-aq", "--no-trunc"]);
        for id in String::from_utf8_lossy(&ps.stdout).split_whitespace() {
            let _ = self.run(&["rm", "-f", id]);
        }
        let _ = self.run(&["network", "prune", "-f"]);
    }

    /// Nothing of this root's containers and networks is left on the host.
    pub(crate) fn assert_clean(&self) {
        self.remove_all();
        // Both names a container's veth can have (`veth_name`, `spare_veth_name`).
        let veths: Vec<String> = self
            .ids("container")
            .iter()
            .flat_map(|id| [format!("veth{}", &id[..9]), format!("veth{}x", &id[..8])])
            .collect();
        // A stopped container's veth goes with its namespace, which the kernel
        // destroys in the background: give it a moment.
        let start = Instant::now();
        let links = loop {
            let out = Command::new("ip").args(["-o", "link"]).output().unwrap();
            let links = String::from_utf8_lossy(&out.stdout).into_owned();
            if !veths.iter().any(|v| links.contains(v)) || start.elapsed() > Duration::from_secs(5)
            {
                break links;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let rules = Command::new("nft")
            .args(["list", "ruleset"])
            .output()
            .unwrap();
        let rules = String::from_utf8_lossy(&rules.stdout).into_owned();
        // Published ports of both families (ports6.json: IPv6 bindings).
        let ports: String = ["ports.json", "ports6.json"]
            .iter()
            .map(|f| {
                fs_err::read_to_string(Path::new("/run/berth/net").join(f)).unwrap_or_default()
            })
            .collect();
        for veth in &veths {
            assert!(!links.contains(veth), "veth {veth} left:\n{links}");
        }
        for id in self.ids("container") {
            assert!(
                !rules.contains(&id),
                "nft rules of container {id} left:\n{rules}"
            );
            assert!(!ports.contains(&id), "port records of {id} left:\n{ports}");
            assert!(
                no_process_mentions(&id),
                "a process of container {id} (its port proxy?) still runs"
            );
        }
        for id in self.ids("network") {
            let br = format!("br-{}", &id[..12]);
            assert!(!links.contains(&br), "bridge {br} left:\n{links}");
            // `rules` is the whole ruleset: both berth tables (`inet`, and an
            // older berth's `ip`), their bridge sets included.
            assert!(
                !rules.contains(&br),
                "bridge {br} left in an nft set:\n{rules}"
            );
            assert!(
                !rules.contains(&id),
                "nft rules of network {id} left:\n{rules}"
            );
            assert!(
                !Path::new("/run/berth/net/dns").join(&id).exists(),
                "resolver of network {id} left"
            );
            assert!(
                no_process_mentions(&id),
                "a resolver of network {id} still runs"
            );
        }
        let netns = self.dir.path().join("run/netns");
        let left: Vec<PathBuf> = fs_err::read_dir(&netns)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "network namespaces left: {left:?}");
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        self.remove_all();
    }
}

fn no_process_mentions(needle: &str) -> bool {
    let start = Instant::now();
    loop {
        let found = fs_err::read_dir("/proc")
            .map(|d| {
                d.flatten().any(|e| {
                    fs_err::read(e.path().join("cmdline"))
                        .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
                })
            })
            .unwrap_or(false);
        if !found {
            return true;
        }
        if start.elapsed() > Duration::from_secs(3) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads what a TCP server at `addr` sends, retrying while it starts.
pub(crate) fn tcp_read(addr: &str) -> String {
    let start = Instant::now();
    loop {
        if let Ok(mut s) =
            TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(1))
        {
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            if !out.is_empty() {
                return out;
            }
        }
        if start.elapsed() > Duration::from_secs(10) {
            return String::new();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A TCP server in a container that answers every connection with `word`.
pub(crate) fn echo_server(word: &str) -> String {
    format!("while true; do echo {word} | nc -l -p 80; done")
}

#[test]
fn containers_on_a_user_network_reach_each_other_by_name_and_alias() {
    let Some(r) = Root::new() else { return };
    r.ok(&["network", "create", "--subnet", "10.231.1.0/24", "front"]);
    r.ok(&["network", "create", "--subnet", "10.231.2.0/24", "other"]);
    r.ok(&[
        "run",
        "-d",
        "--name",
        "srv",
        "--network",
        "front",
        "--network-alias",
        "web",
        "bb",
        "sh",
        "-c",
        &echo_server("hello"),
    ]);
    // The network's resolver, started by srv's monitor (which blocks the signals it
    // reads through a signalfd), must not inherit that mask: it stops on SIGTERM.
    let id = r.ok(&["network", "inspect", "-f", "{{.Id}}", "front"]);
    let pid = fs_err::read_to_string(
        Path::new("/run/berth/net/dns")
            .join(id.trim())
            .join("resolver.pid"),
    )
    .unwrap();
    let status = fs_err::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap();
    let blocked = status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .unwrap();
    assert_eq!(
        blocked & (1 << (libc::SIGTERM - 1)),
        0,
        "the resolver blocks SIGTERM:\n{status}"
    );
    let script = "for n in srv web; do for i in 1 2 3 4 5; do nc $n 80 && break; sleep 0.2; done; done; \
                  t0=$(date +%s); nslookup nosuch >/dev/null 2>&1; echo lookup=$?; echo took=$(( $(date +%s) - t0 ))";
    let out = r.ok(&[
        "run",
        "--rm",
        "--network",
        "front",
        "bb",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(
        out.matches("hello").count(),
        2,
        "by name and by alias: {out}"
    );
    assert!(out.contains("lookup=1"), "unknown names must fail: {out}");
    let took: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("took="))
        .and_then(|t| t.parse().ok())
        .unwrap();
    assert!(took <= 1, "unknown names must fail fast, took {took}s");

    // The resolver answers names and the hosts file has our address.
    let out = r.ok(&[
        "run",
        "--rm",
        "--network",
        "front",
        "--name",
        "probe",
        "bb",
        "sh",
        "-c",
        "cat /etc/resolv.conf",
    ]);
    assert!(out.contains("nameserver 10.231.1.1"), "{out}");

    // Another network cannot reach them, even by address.
    let ip = r.ok(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.front.IPAddress}}",
        "srv",
    ]);
    assert!(ip.starts_with("10.231.1."), "{ip}");
    let out = r.run(&[
        "run",
        "--rm",
        "--network",
        "other",
        "bb",
        "sh",
        "-c",
        &format!("nc -w 2 {ip} 80; nslookup srv >/dev/null 2>&1; echo lookup=$?"),
    ]);
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !out.contains("hello") && out.contains("lookup=1"),
        "isolation broken: {out}"
    );

    // connect makes it reachable; inspect shows Docker's shape.
    r.ok(&[
        "run",
        "-d",
        "--name",
        "late",
        "--network",
        "other",
        "bb",
        "sleep",
        "60",
    ]);
    r.ok(&["network", "connect", "--alias", "lately", "front", "late"]);
    // Its resolver (the first network's) now answers the joined network's names
    // too, and the joined network's containers find it by name and alias.
    let out = r.ok(&[
        "exec",
        "late",
        "sh",
        "-c",
        // The server answers one connection at a time: retry while it re-listens.
        &format!(
            "for t in {ip} srv web; do for i in 1 2 3 4 5; do nc $t 80 && break; sleep 0.2; done; done; ip addr show eth1"
        ),
    ]);
    assert_eq!(out.matches("hello").count(), 3, "{out}");
    assert!(out.contains("10.231.1."), "{out}");
    let lookup = |ctr: &str, name: &str| {
        let o = r.run(&["exec", ctr, "nslookup", name]);
        (o.status.success(), text(&o))
    };
    let late_ip = r.ok(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.front.IPAddress}}",
        "late",
    ]);
    assert!(late_ip.starts_with("10.231.1."), "{late_ip}");
    for name in ["late", "lately"] {
        let (found, out) = lookup("srv", name);
        assert!(
            found && out.contains(&late_ip),
            "srv must find {name}: {out}"
        );
    }
    let doc: serde_json::Value =
        serde_json::from_str(&r.ok(&["network", "inspect", "front"])).unwrap();
    let n = &doc[0];
    assert_eq!(n["Name"], "front");
    assert_eq!(n["Driver"], "bridge");
    assert_eq!(n["Scope"], "local");
    assert_eq!(n["IPAM"]["Config"][0]["Subnet"], "10.231.1.0/24");
    assert_eq!(n["IPAM"]["Config"][0]["Gateway"], "10.231.1.1");
    let names: Vec<&str> = n["Containers"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"srv") && names.contains(&"late"), "{n}");
    r.ok(&["network", "disconnect", "front", "late"]);
    let out = r.run(&["exec", "late", "ip", "link", "show", "eth1"]);
    assert!(!out.status.success(), "eth1 should be gone: {}", text(&out));
    // Its names leave front's resolver, and front's names leave its view.
    for name in ["late", "lately"] {
        let (found, out) = lookup("srv", name);
        assert!(!found, "{name} must be gone from front's resolver: {out}");
    }
    let (found, out) = lookup("late", "srv");
    assert!(!found, "late must no longer find srv: {out}");
    let hosts = r.ok(&["exec", "late", "cat", "/etc/hosts"]);
    assert!(!hosts.contains("10.231.1."), "{hosts}");
    r.assert_clean();
}

#[test]
fn published_ports_answer_on_loopback_and_the_bridge() {
    let Some(r) = Root::new() else { return };
    r.ok(&[
        "run",
        "-d",
        "--name",
        "pub",
        "-p",
        "18231:80",
        "-p",
        "127.0.0.1:18232:53/udp",
        "bb",
        "sh",
        "-c",
        "nc -u -l -p 53 & while true; do echo hi | nc -l -p 80; done",
    ]);
    assert_eq!(tcp_read("127.0.0.1:18231"), "hi\n");
    let gw = r.ok(&["inspect", "-f", "{{.NetworkSettings.Gateway}}", "pub"]);
    assert_eq!(
        tcp_read(&format!("{gw}:18231")),
        "hi\n",
        "via the bridge address {gw}"
    );
    assert_eq!(
        r.ok(&["port", "pub"]),
        "53/udp -> 127.0.0.1:18232\n80/tcp -> 0.0.0.0:18231"
    );
    assert_eq!(r.ok(&["port", "pub", "80"]), "0.0.0.0:18231");
    let ps = r.ok(&["ps", "--format", "{{.Ports}}"]);
    assert_eq!(ps, "0.0.0.0:18231->80/tcp, 127.0.0.1:18232->53/udp");
    // UDP: the datagram arrives in the container (its output is the log).
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let start = Instant::now();
    let mut logs = String::new();
    while start.elapsed() < Duration::from_secs(10) && !logs.contains("ping-udp") {
        sock.send_to(b"ping-udp\n", "127.0.0.1:18232").unwrap();
        std::thread::sleep(Duration::from_millis(200));
        logs = r.ok(&["logs", "pub"]);
    }
    assert!(logs.contains("ping-udp"), "UDP did not arrive: {logs}");

    // -P publishes every EXPOSEd port on random host ports.
    r.ok(&[
        "run",
        "-d",
        "--name",
        "all",
        "-P",
        "bb",
        "sh",
        "-c",
        &echo_server("all"),
    ]);
    let lines = r.ok(&["port", "all"]);
    let mut seen = Vec::new();
    for l in lines.lines() {
        let (cport, host) = l.split_once(" -> ").unwrap();
        let port: u16 = host.strip_prefix("0.0.0.0:").unwrap().parse().unwrap();
        assert!(port >= 1024, "{l}");
        seen.push(cport.to_owned());
        if cport == "80/tcp" {
            assert_eq!(tcp_read(&format!("127.0.0.1:{port}")), "all\n");
        }
    }
    seen.sort();
    assert_eq!(seen, ["53/udp", "80/tcp"]);
    let doc: serde_json::Value = serde_json::from_str(&r.ok(&["inspect", "all"])).unwrap();
    assert!(doc[0]["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"].is_string());
    r.assert_clean();
}

#[test]
fn none_has_only_lo_up_and_host_sees_the_hosts_interfaces() {
    let Some(r) = Root::new() else { return };
    let ifaces = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = s
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(|n| n.trim().to_owned())
            .collect();
        v.sort();
        v
    };
    let cat_in_none = |file: &str| r.ok(&["run", "--rm", "--network", "none", "bb", "cat", file]);
    assert_eq!(ifaces(&cat_in_none("/proc/net/dev")), ["lo"]);
    // ... and lo is up, as Docker's: a server on 127.0.0.1 works there (IFF_UP is 0x1).
    let flags = cat_in_none("/sys/class/net/lo/flags");
    let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(flags & 1, 1, "lo is down: flags {flags:#x}");
    let host_now = || ifaces(&fs_err::read_to_string("/proc/net/dev").unwrap());
    let before = host_now();
    let host = r.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "bb",
        "cat",
        "/proc/net/dev",
    ]);
    let after = host_now();
    let theirs = ifaces(&host);
    // Only interfaces the host had throughout: tests running beside this one add and
    // remove theirs meanwhile.
    for i in before.iter().filter(|i| after.contains(i)) {
        assert!(theirs.contains(i), "host network lacks {i}: {theirs:?}");
    }
    let dflt = r.ok(&["run", "--rm", "bb", "cat", "/proc/net/dev"]);
    assert_eq!(ifaces(&dflt), ["eth0", "lo"]);
    r.assert_clean();
}

#[test]
fn bad_input_is_refused_and_leaves_nothing() {
    let Some(r) = Root::new() else { return };
    r.ok(&["network", "create", "--subnet", "10.231.3.0/24", "one"]);
    let err = r.fails(&["network", "create", "--subnet", "10.231.3.128/25", "two"]);
    assert!(err.contains("overlaps 10.231.3.0/24"), "{err}");
    let err = r.fails(&["network", "create", "--subnet", "10.231.4.1/24", "two"]);
    assert!(err.contains("host bits"), "{err}");
    // An IPv6 subnet needs --ipv6 (networks_v6 has the dual-stack cases).
    let err = r.fails(&["network", "create", "--subnet", "fd00::/64", "v6"]);
    assert!(err.contains("--ipv6"), "{err}");
    r.ok(&[
        "run",
        "-d",
        "--name",
        "user",
        "--network",
        "one",
        "-p",
        "18233:80",
        "bb",
        "sleep",
        "60",
    ]);
    let err = r.fails(&["network", "rm", "one"]);
    assert!(
        err.contains("active endpoints") && err.contains("user"),
        "{err}"
    );
    // A port held by another container, then by a host process.
    let o = r.run(&[
        "run", "-d", "--name", "clash", "-p", "18233:80", "bb", "sleep", "60",
    ]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("already allocated"),
        "{}",
        text(&o)
    );
    let holder = std::net::TcpListener::bind("0.0.0.0:18234").unwrap();
    let err = r.fails(&["run", "-d", "-p", "18234:80", "bb", "sleep", "60"]);
    assert!(
        err.contains("18234") && err.contains("host process"),
        "{err}"
    );
    drop(holder);
    for bad in ["80/sctp", "70000:80", "a:b:c:d", "8000-8001:80-85"] {
        let err = r.fails(&["run", "--rm", "-p", bad, "bb", "true"]);
        assert!(err.contains(bad), "{bad}: {err}");
    }
    let err = r.fails(&["run", "--rm", "--network", "nosuch", "bb", "true"]);
    assert!(err.contains("nosuch"), "{err}");
    let err = r.fails(&["run", "--rm", "--ip", "172.17.0.99", "bb", "true"]);
    assert!(err.contains("user-defined networks"), "{err}");
    let err = r.fails(&[
        "run",
        "--rm",
        "--network",
        "one",
        "--ip",
        "10.231.9.9",
        "bb",
        "true",
    ]);
    assert!(err.contains("not in network one's subnet"), "{err}");
    let err = r.fails(&["run", "--rm", "--network", "none", "-p", "80", "bb", "true"]);
    assert!(err.contains("conflicts"), "{err}");
    // Refused `run`s made no container; failed starts left nothing in the kernel.
    let names = r.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    assert!(names.len() <= 3 && names.contains(&"user"), "{names:?}");
    r.assert_clean();
}

#[test]
fn default_bridge_uses_the_hosts_resolvers_and_add_host() {
    let Some(r) = Root::new() else { return };
    let out = r.ok(&[
        "run",
        "--rm",
        "--add-host",
        "db.local:10.9.8.7",
        "--dns",
        "192.0.2.53",
        "--dns-search",
        "example.test",
        "-h",
        "box",
        "bb",
        "sh",
        "-c",
        "cat /etc/hosts /etc/resolv.conf /etc/hostname; ip route",
    ]);
    assert!(out.contains("10.9.8.7\tdb.local"), "{out}");
    assert!(
        out.contains("nameserver 192.0.2.53") && out.contains("search example.test"),
        "{out}"
    );
    assert!(out.contains("\tbox"), "{out}");
    assert!(out.contains("default via"), "{out}");
    r.assert_clean();
}

#[test]
fn a_killed_owner_leaves_nothing_behind() {
    let Some(r) = Root::new() else { return };
    r.ok(&["network", "create", "--subnet", "10.231.5.0/24", "crashy"]);
    r.ok(&[
        "run",
        "-d",
        "--name",
        "victim",
        "--network",
        "crashy",
        "-p",
        "18235:80",
        "bb",
        "sleep",
        "600",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&r.ok(&["inspect", "victim"])).unwrap();
    let pid = doc[0]["State"]["Pid"].as_i64().unwrap();
    // The monitor is the container's parent; kill both the hard way.
    let stat = fs_err::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let ppid: i32 = stat
        .rsplit(')')
        .next()
        .and_then(|s| s.split_whitespace().nth(1))
        .and_then(|p| p.parse().ok())
        .unwrap();
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(ppid), nix::sys::signal::SIGKILL);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap()),
        nix::sys::signal::SIGKILL,
    );
    std::thread::sleep(Duration::from_millis(300));
    // Removing it notices the dead owner and tears the network down.
    r.ok(&["rm", "-f", "victim"]);
    let holder = std::net::TcpListener::bind("0.0.0.0:18235");
    assert!(holder.is_ok(), "port 18235 still held");
    r.assert_clean();
}
