//! A real registry (Debian's `docker-registry`, the CNCF Distribution server) on a free
//! loopback port with its configuration and storage in a temporary directory, killed and
//! removed when the guard drops.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `docker-registry` package installs the server.
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// How long a starting registry may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Whether the registry binary is installed; prints why the test skips when it is not.
pub fn available() -> bool {
    crate::installed(REGISTRY_BIN, "docker-registry")
}

/// A free loopback port (bound then released; the registry takes it right away).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding a free loopback port")
        .port()
}

/// A running registry: plain HTTP on `addr`, filesystem storage with deletes enabled.
/// Dropping it kills the server, then removes its directory (config, htpasswd, storage,
/// log), also when the test panics.
pub struct Registry {
    // Dropped after `Drop::drop` has killed the child, so the server never outlives its files.
    child: Child,
    dir: tempfile::TempDir,
    pub addr: SocketAddr,
}

impl Registry {
    /// Starts a registry and waits until it accepts connections. With `users`
    /// (`user`, `password` pairs), htpasswd (bcrypt) authentication is required.
    ///
    /// Panics with the server's log when it exits early or does not listen in time.
    pub fn start(users: &[(&str, &str)]) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("berth-registry-")
            .tempdir()
            .expect("creating the registry's temporary directory");
        let storage = dir.path().join("storage");
        fs_err::create_dir_all(&storage).expect("creating the registry's storage");
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            storage.display()
        );
        if !users.is_empty() {
            let htpasswd = dir.path().join("htpasswd");
            let mut lines = String::new();
            for (user, password) in users {
                // Low cost: the registry checks it on every request and tests run many.
                let hash = bcrypt::hash(password, 4).expect("hashing a test password");
                let _ = writeln!(lines, "{user}:{hash}");
            }
            fs_err::write(&htpasswd, lines).expect("writing the registry's htpasswd");
            let _ = write!(
                config,
                "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                htpasswd.display()
            );
        }
        let cfg = dir.path().join("config.yml");
        fs_err::write(&cfg, config).expect("writing the registry's config");
        let log_path = dir.path().join("registry.log");
        let log = fs_err::File::create(&log_path).expect("creating the registry's log");
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log.into_parts().0))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {REGISTRY_BIN}: {e}"));
        // From here on the guard owns the child: a panic below still kills it.
        let mut reg = Registry { child, dir, addr };
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(addr).is_err() {
            if let Ok(Some(status)) = reg.child.try_wait() {
                let log = fs_err::read_to_string(&log_path).unwrap_or_default();
                panic!("registry exited with {status}: {log}");
            }
            if Instant::now() >= deadline {
                let log = fs_err::read_to_string(&log_path).unwrap_or_default();
                panic!(
                    "registry did not listen on {addr} within {} s: {log}",
                    START_TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        reg
    }

    /// `127.0.0.1:PORT`, the registry part of an image reference.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The file holding a blob's bytes in the registry's filesystem storage (for tests
    /// that corrupt or inspect what was pushed).
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

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::path::Path;

    use super::*;

    /// The status line of `GET /v2/` (the Distribution API's version check).
    fn v2_status(addr: SocketAddr, authorization: Option<&str>) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        write!(
            s,
            "GET /v2/ HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        reply.lines().next().unwrap_or_default().to_owned()
    }

    #[test]
    fn answers_then_drop_kills_it_and_removes_its_files() {
        if !available() {
            return;
        }
        let reg = Registry::start(&[]);
        assert!(v2_status(reg.addr, None).contains(" 200 "));
        let (pid, dir, addr) = (reg.child.id(), reg.dir.path().to_owned(), reg.addr);
        assert!(dir.join("config.yml").exists());
        drop(reg);
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "pid {pid}");
        assert!(!dir.exists(), "{}", dir.display());
        assert!(TcpStream::connect(addr).is_err(), "{addr} still answers");
    }

    #[test]
    fn htpasswd_users_are_required() {
        if !available() {
            return;
        }
        let reg = Registry::start(&[("alice", "s3cret")]);
        assert!(v2_status(reg.addr, None).contains(" 401 "));
        let ok = v2_status(reg.addr, Some("Basic YWxpY2U6czNjcmV0"));
        assert!(ok.contains(" 200 "), "{ok}");
    }

    #[test]
    fn a_panicking_test_still_stops_the_registry() {
        if !available() {
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let result = std::thread::spawn(move || {
            let reg = Registry::start(&[]);
            tx.send((reg.child.id(), reg.dir.path().to_owned(), reg.addr))
                .unwrap();
            panic!("the test failed");
        })
        .join();
        assert!(result.is_err());
        let (pid, dir, addr) = rx.recv().unwrap();
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "pid {pid}");
        assert!(!dir.exists(), "{}", dir.display());
        assert!(TcpStream::connect(addr).is_err(), "{addr} still answers");
    }
}
