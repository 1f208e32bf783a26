//! A real registry (Debian's `docker-registry`, the CNCF Distribution server) on a free
//! loopback port with a temporary storage directory, killed when the guard drops.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// Whether the registry binary is installed; tests print why they skip when it is not.
pub fn available() -> bool {
    if Path::new(REGISTRY_BIN).exists() {
        return true;
    }
    eprintln!("skipping: {REGISTRY_BIN} missing (apt-get install docker-registry)");
    false
}

/// A free loopback port (bound then released; the registry takes it right away).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running registry; killed and its storage removed on drop.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    pub addr: SocketAddr,
}

/// Options for [`Registry::start`].
#[derive(Default)]
pub struct Options {
    /// `user`/`password` pairs for htpasswd (bcrypt) authentication.
    pub users: Vec<(String, String)>,
}

impl Registry {
    pub fn start(opts: Options) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("storage");
        fs_err::create_dir_all(&storage).unwrap();
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            storage.display()
        );
        if !opts.users.is_empty() {
            let htpasswd = dir.path().join("htpasswd");
            let mut f = fs_err::File::create(&htpasswd).unwrap();
            for (user, password) in &opts.users {
                // Low cost: the registry checks it on every request and tests run many.
                let hash = bcrypt::hash(password, 4).unwrap();
                writeln!(f, "{user}:{hash}").unwrap();
            }
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let cfg = dir.path().join("config.yml");
        fs_err::write(&cfg, config).unwrap();
        let log = fs_err::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log.into_parts().0))
            .spawn()
            .unwrap();
        let mut reg = Registry { child, dir, addr };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            if let Ok(Some(status)) = reg.child.try_wait() {
                let log =
                    fs_err::read_to_string(reg.dir.path().join("registry.log")).unwrap_or_default();
                panic!("registry exited with {status}: {log}");
            }
            assert!(
                Instant::now() < deadline,
                "registry did not listen on {addr} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        reg
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The file holding a blob's bytes in the registry's filesystem storage.
    pub fn blob_data_path(&self, hex: &str) -> PathBuf {
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
