//! Measures what networking adds to a container start, and TCP throughput
//! across a berth bridge and through a published port. Run by
//! `bench/net.sh` as root. It returns errors instead of panicking (the
//! release profile aborts on panic, which would skip cleanup) and removes
//! everything it made on every exit path.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_net::{bridge, ipam, link, nat, netns, ports, route};
use ipnet::Ipv4Net;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const SUBNET: &str = "10.214.7.0/24";
const BYTES: u64 = 2 << 30;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// Everything the bench made, removed by `clean` whatever happened.
#[derive(Default)]
struct Made {
    bridge: Option<String>,
    links: RefCell<Vec<String>>,
    netns: RefCell<Vec<PathBuf>>,
    dir: PathBuf,
}

impl Made {
    fn clean(&self) {
        let _ = nat::remove_network("bench", self.bridge.as_deref().unwrap_or(""));
        for c in ["bench-c", "a"] {
            let _ = ports::unpublish(&self.dir.join("state"), c);
        }
        for l in self.links.borrow().iter() {
            let _ = link::detach(l);
        }
        for p in self.netns.borrow().iter() {
            let _ = netns::delete(p);
        }
        if let Some(b) = &self.bridge {
            let _ = bridge::delete(b);
        }
        let _ = fs_err::remove_dir_all(&self.dir);
    }

    fn ns(&self, name: &str) -> Res<PathBuf> {
        let p = self.dir.join(name);
        netns::create(&p)?;
        self.netns.borrow_mut().push(p.clone());
        Ok(p)
    }

    fn drop_ns(&self, p: &Path) -> Res<()> {
        netns::delete(p)?;
        self.netns.borrow_mut().retain(|x| x != p);
        Ok(())
    }

    fn attach(&self, ns: &Path, host_if: &str, ip: Ipv4Addr, gw: Ipv4Addr) -> Res<()> {
        self.links.borrow_mut().push(host_if.to_string());
        link::attach(&link::Endpoint {
            netns: ns.to_path_buf(),
            host_ifname: host_if.into(),
            spare_ifname: None,
            ifname: "eth0".into(),
            bridge: self.bridge.clone().unwrap_or_default(),
            address: Ipv4Net::new(ip, 24)?,
            gateway: Some(gw),
            bridge_index: None,
            address6: None,
            gateway6: None,
            mac: None,
        })?;
        Ok(())
    }

    fn detach(&self, host_if: &str) -> Res<()> {
        link::detach(host_if)?;
        self.links.borrow_mut().retain(|x| x != host_if);
        Ok(())
    }
}

/// Receives `BYTES` on a listener made in `ns` (or the host); the handle
/// yields the time from first to last byte.
fn sink(ns: Option<PathBuf>, port: u16) -> Res<std::thread::JoinHandle<std::io::Result<Duration>>> {
    let l = match &ns {
        Some(p) => netns::run_in(p, || Ok(TcpListener::bind(("0.0.0.0", port))?))?,
        None => TcpListener::bind(("0.0.0.0", port))?,
    };
    Ok(std::thread::spawn(move || {
        let (mut c, _) = l.accept()?;
        let mut buf = vec![0u8; 256 << 10];
        let mut got = 0u64;
        let start = Instant::now();
        while got < BYTES {
            let n = c.read(&mut buf)?;
            if n == 0 {
                break;
            }
            got += n as u64;
        }
        Ok(start.elapsed())
    }))
}

fn source(ns: Option<&Path>, to: SocketAddr) -> Res<()> {
    let mut s = match ns {
        Some(p) => netns::run_in(p, || {
            Ok(TcpStream::connect_timeout(&to, Duration::from_secs(3))?)
        })?,
        None => TcpStream::connect_timeout(&to, Duration::from_secs(3))?,
    };
    let buf = vec![7u8; 256 << 10];
    let mut sent = 0u64;
    while sent < BYTES {
        s.write_all(&buf)?;
        sent += buf.len() as u64;
    }
    Ok(())
}

fn throughput(what: &str, rx: std::thread::JoinHandle<std::io::Result<Duration>>) -> Res<()> {
    let d = rx.join().map_err(|_| "receiver thread panicked")??;
    println!(
        "{what:<38} {:>6.2} Gbit/s",
        BYTES as f64 * 8.0 / d.as_secs_f64() / 1e9
    );
    Ok(())
}

fn run(made: &Made, iterations: usize) -> Res<()> {
    let subnet: Ipv4Net = SUBNET.parse()?;
    let gw = Ipv4Addr::from(u32::from(subnet.network()) + 1);
    let br = made.bridge.clone().unwrap_or_default();
    let state = made.dir.join("state");
    let ipam = ipam::Ipam::new(&state);
    let req = ipam::SubnetRequest {
        subnet: Some(subnet),
        ..Default::default()
    };
    ipam.create_network("bench", &req, &route::host_routes()?)?;
    bridge::create(&br, gw, 24)?;
    nat::add_network(&nat::NetworkRules {
        id: "bench".into(),
        bridge: br.clone(),
        subnet,
        subnet6: None,
        internal: false,
    })?;

    // 1. cost of a container's network: netns alone vs address + veth +
    //    routes + one published port, and the matching teardown
    let (mut bare, mut setup, mut teardown) = (Vec::new(), Vec::new(), Vec::new());
    let mut steps: Vec<Vec<Duration>> = vec![Vec::new(); 6];
    let mut lap = |i: usize, t: &mut Instant| {
        steps[i].push(t.elapsed());
        *t = Instant::now();
    };
    let spec = [ports::parse_port_spec("80")?];
    let id = "bench-c";
    for i in 0..iterations {
        let t = Instant::now();
        let p = made.ns("bare")?;
        made.drop_ns(&p)?;
        bare.push(t.elapsed());

        let p = made.ns("c")?;
        let veth = format!("btbv{i}");
        let t0 = Instant::now();
        let mut t = t0;
        let ip = ipam.allocate("bench", id, None)?;
        lap(0, &mut t);
        made.attach(&p, &veth, ip, gw)?;
        lap(1, &mut t);
        ports::publish(&state, id, ip, None, &spec, ports::Mode::Nat)?;
        lap(2, &mut t);
        setup.push(t0.elapsed());
        let t0 = Instant::now();
        let mut t = t0;
        ports::unpublish(&state, id)?;
        lap(3, &mut t);
        made.detach(&veth)?;
        lap(4, &mut t);
        ipam.release("bench", id)?;
        lap(5, &mut t);
        teardown.push(t0.elapsed());
        made.drop_ns(&p)?;
    }
    println!(
        "netns create+delete (baseline)         median {:>9.2?}",
        median(bare)
    );
    println!(
        "network setup (ip+veth+route+1 port)   median {:>9.2?}",
        median(setup)
    );
    println!(
        "network teardown                       median {:>9.2?}",
        median(teardown)
    );
    let names = [
        "ipam allocate",
        "veth attach (+addr, route)",
        "publish (nft)",
        "unpublish (nft)",
        "veth detach",
        "ipam release",
    ];
    for (name, v) in names.iter().zip(steps) {
        println!("  {name:<36} median {:>9.2?}", median(v));
    }

    // 2. throughput
    let (a, b) = (made.ns("a")?, made.ns("b")?);
    let (ipa, ipb) = (
        ipam.allocate("bench", "a", None)?,
        ipam.allocate("bench", "b", None)?,
    );
    made.attach(&a, "btbva", ipa, gw)?;
    made.attach(&b, "btbvb", ipb, gw)?;
    let rx = sink(Some(a.clone()), 5001)?;
    source(Some(&b), SocketAddr::from((ipa, 5001)))?;
    throughput("tcp namespace -> namespace (bridge)", rx)?;

    let bound = ports::publish(
        &state,
        "a",
        ipa,
        None,
        &[ports::parse_port_spec("5002")?],
        ports::Mode::Nat,
    )?;
    let rx = sink(Some(a.clone()), 5002)?;
    source(
        None,
        SocketAddr::from((Ipv4Addr::LOCALHOST, bound[0].host_port)),
    )?;
    throughput("tcp host -> 127.0.0.1:port (nft DNAT)", rx)?;
    ports::unpublish(&state, "a")?;

    let bound = ports::publish(
        &state,
        "a",
        ipa,
        None,
        &[ports::parse_port_spec("5003")?],
        ports::Mode::Proxy,
    )?;
    let (sd, proxy_id) = (state.clone(), "a".to_string());
    let proxy = std::thread::spawn(move || berth_net::proxy::serve(&sd, &proxy_id));
    std::thread::sleep(Duration::from_millis(300));
    let rx = sink(Some(a.clone()), 5003)?;
    let sent = source(
        None,
        SocketAddr::from((Ipv4Addr::LOCALHOST, bound[0].host_port)),
    );
    ports::unpublish(&state, "a")?;
    sent?;
    throughput("tcp host -> 127.0.0.1:port (proxy)", rx)?;
    proxy.join().map_err(|_| "proxy thread panicked")??;

    let rx = sink(None, 5004)?;
    source(None, SocketAddr::from((Ipv4Addr::LOCALHOST, 5004)))?;
    throughput("tcp host loopback (reference)", rx)?;
    Ok(())
}

fn main() -> Res<()> {
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    let made = Made {
        bridge: Some(format!("btbench{}", std::process::id() % 1000)),
        dir: std::env::temp_dir().join(format!("berth-netbench-{}", std::process::id())),
        ..Made::default()
    };
    fs_err::create_dir_all(&made.dir)?;
    let result = run(&made, iterations);
    made.clean();
    result
}
