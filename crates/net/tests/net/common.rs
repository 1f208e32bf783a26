//! Guards and helpers shared by the integration tests: unique short names,
//! namespaces as "containers", and cleanup that runs even when a test fails.

#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use berth_net::{bridge, link, netns};
use ipnet::Ipv4Net;

/// Whether the tests can run here; prints why not.
pub fn can_run() -> bool {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipping: needs root (network namespaces, bridges, nftables)");
        return false;
    }
    for tool in ["/bin/busybox", "/usr/sbin/nft"] {
        if !Path::new(tool).exists() {
            eprintln!("skipping: {tool} missing (Debian packages busybox-static, nftables)");
            return false;
        }
    }
    true
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique short name (`bt<pid%1000><n>`), well under IFNAMSIZ.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}x{n}", std::process::id() % 1000)
}

/// A /24 for a test network that no other test of this process uses, picked
/// from 10.213.0.0/16 by pid and counter, and free of host routes.
pub fn test_subnet() -> Ipv4Net {
    let routes = berth_net::route::host_routes().unwrap();
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let third = ((std::process::id() * 7 + n * 13) % 250) as u8 + 1;
        let net = Ipv4Net::new(Ipv4Addr::new(10, 213, third, 0), 24).unwrap();
        if !routes.iter().any(|r| {
            r.dst.prefix_len() > 0
                && (r.dst.contains(&net.network()) || net.contains(&r.dst.network()))
        }) {
            return net;
        }
    }
}

/// A network namespace standing in for a container; deleted on drop.
pub struct Ns {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Ns {
    pub fn new() -> Ns {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ns");
        netns::create(&path).unwrap();
        Ns { path, _dir: dir }
    }

    /// A command that runs inside this namespace.
    pub fn cmd(&self, program: &str) -> Command {
        let fd = fs_err::File::open(&self.path).unwrap();
        let mut cmd = Command::new(program);
        unsafe {
            cmd.pre_exec(move || {
                use std::os::fd::AsFd;
                nix::sched::setns(fd.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(std::io::Error::from)
            });
        }
        cmd
    }

    /// busybox applet inside the namespace.
    pub fn busybox(&self, args: &[&str]) -> Command {
        let mut c = self.cmd("/bin/busybox");
        c.args(args);
        c
    }

    /// Runs `f` on a fresh thread that lives in this namespace.
    pub fn within<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = self.path.clone();
        std::thread::spawn(move || {
            let _g = netns::enter(&path).unwrap();
            f()
        })
        .join()
        .unwrap()
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        netns::delete(&self.path).unwrap();
    }
}

/// A bridge made by a test; deleted on drop.
pub struct Bridge {
    pub name: String,
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
}

impl Bridge {
    pub fn new() -> Bridge {
        let subnet = test_subnet();
        let gateway = Ipv4Addr::from(u32::from(subnet.network()) + 1);
        let name = unique("btb");
        bridge::create(&name, gateway, subnet.prefix_len()).unwrap();
        Bridge {
            name,
            subnet,
            gateway,
        }
    }

    /// The n-th host address (n ≥ 2).
    pub fn host(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.subnet.network()) + n)
    }

    /// Plugs `ns` in with address `host(n)`; the veth is removed on drop of the guard.
    pub fn plug(&self, ns: &Ns, n: u32) -> Veth {
        self.plug_as(ns, n, &unique("btv"))
    }

    /// [`Bridge::plug`] with the host end named `name`.
    pub fn plug_as(&self, ns: &Ns, n: u32, name: &str) -> Veth {
        self.plug_spare(ns, n, name, None)
    }

    /// [`Bridge::plug_as`] with a spare name; the guard has the name taken.
    pub fn plug_spare(&self, ns: &Ns, n: u32, name: &str, spare: Option<&str>) -> Veth {
        let name = link::attach(&link::Endpoint {
            netns: ns.path.clone(),
            host_ifname: name.to_owned(),
            spare_ifname: spare.map(str::to_owned),
            ifname: "eth0".into(),
            bridge: self.name.clone(),
            address: Ipv4Net::new(self.host(n), self.subnet.prefix_len()).unwrap(),
            gateway: Some(self.gateway),
            bridge_index: None,
            address6: None,
            gateway6: None,
            mac: None,
        })
        .unwrap();
        Veth(name)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        bridge::delete(&self.name).unwrap();
        assert!(!berth_net::link_exists(&self.name).unwrap());
    }
}

/// A veth host end; deleted on drop.
pub struct Veth(pub String);

impl Drop for Veth {
    fn drop(&mut self) {
        link::detach(&self.0).unwrap();
    }
}

/// A child process killed and reaped on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a busybox TCP echo server (`nc -lk -e cat`) on `port` inside `ns`.
pub fn echo_server(ns: &Ns, port: u16) -> Proc {
    let child = ns
        .busybox(&[
            "nc",
            "-ll",
            "-p",
            &port.to_string(),
            "-e",
            "/bin/busybox",
            "cat",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Proc(child)
}

/// Connects to `addr`, sends `msg`, returns what came back (or the error).
pub fn tcp_roundtrip(addr: SocketAddr, msg: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    s.write_all(msg.as_bytes())?;
    let mut buf = vec![0u8; msg.len()];
    s.read_exact(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Retries `tcp_roundtrip` until it works or `timeout` passes (servers start
/// asynchronously).
pub fn tcp_roundtrip_retry(
    addr: SocketAddr,
    msg: &str,
    timeout: Duration,
) -> std::io::Result<String> {
    let start = Instant::now();
    loop {
        match tcp_roundtrip(addr, msg) {
            Ok(s) => return Ok(s),
            Err(e) if start.elapsed() > timeout => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A bridge with its NAT/isolation rules, and a ports state dir; rules and
/// published ports are removed on drop, and the drop checks none are left.
pub struct Net {
    pub br: Bridge,
    pub id: String,
    pub dir: tempfile::TempDir,
    pub containers: std::cell::RefCell<Vec<String>>,
}

impl Net {
    pub fn new(internal: bool) -> Net {
        let br = Bridge::new();
        let id = br.name.clone();
        berth_net::nat::add_network(&berth_net::nat::NetworkRules {
            id: id.clone(),
            bridge: br.name.clone(),
            subnet: br.subnet,
            subnet6: None,
            internal,
        })
        .unwrap();
        Net {
            br,
            id,
            dir: tempfile::tempdir().unwrap(),
            containers: Default::default(),
        }
    }

    /// Publishes ports for a "container" with address host(n).
    pub fn publish(
        &self,
        ctr: &str,
        n: u32,
        specs: &[&str],
    ) -> berth_net::Result<Vec<berth_net::ports::PortBinding>> {
        self.containers.borrow_mut().push(ctr.to_string());
        let specs: Vec<_> = specs
            .iter()
            .map(|s| berth_net::ports::parse_port_spec(s).unwrap())
            .collect();
        berth_net::ports::publish(
            self.dir.path(),
            ctr,
            self.br.host(n),
            None,
            &specs,
            berth_net::ports::Mode::Nat,
        )
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in self.containers.borrow().iter() {
            berth_net::ports::unpublish(self.dir.path(), c).unwrap();
        }
        berth_net::nat::remove_network(&self.id, &self.br.name).unwrap();
        // The last test network takes berth's table with it (unless engine
        // runs on this host still have rules there).
        berth_net::nft::remove_table_if_empty().unwrap();
        let left: Vec<String> = berth_net::nft::rule_comments()
            .unwrap()
            .into_iter()
            .filter(|c| {
                c.ends_with(&self.id)
                    || self
                        .containers
                        .borrow()
                        .iter()
                        .any(|x| c.ends_with(x.as_str()))
            })
            .collect();
        if !std::thread::panicking() {
            assert!(left.is_empty(), "nft rules left: {left:?}");
        }
    }
}

/// The host's first non-loopback IPv4 address that is not on a test bridge.
pub fn udp_echo_server(ns: &Ns, port: u16) -> std::thread::JoinHandle<()> {
    let path = ns.path.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        let sock = {
            let _g = netns::enter(&path).unwrap();
            std::net::UdpSocket::bind(("0.0.0.0", port)).unwrap()
        };
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        tx.send(()).unwrap();
        let mut buf = [0u8; 1500];
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            let _ = sock.send_to(&buf[..n], from);
        }
    });
    rx.recv().unwrap();
    h
}
