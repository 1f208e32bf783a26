//! Test helpers: a cgroup guard that cleans up, gated child processes.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use berth_cgroups::{Cgroup, Hierarchies};

static N: AtomicU32 = AtomicU32::new(0);

/// Whether the real-kernel tests can run here; prints why not.
pub fn can_run() -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: cgroup tests need root");
        return false;
    }
    if let Err(e) = Hierarchies::detect() {
        eprintln!("skipping: no cgroup filesystem: {e}");
        return false;
    }
    true
}

/// A fresh cgroupsPath.
pub fn unique(tag: &str) -> String {
    format!(
        "/berth-test-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Owns a cgroup and the children spawned into it; Drop kills and removes everything.
pub struct Guard {
    pub cg: Cgroup,
    children: Vec<Child>,
}

impl Guard {
    /// A created cgroup on the host's real layout.
    pub fn new(tag: &str) -> Guard {
        Guard::with(Cgroup::new(&unique(tag)).unwrap())
    }

    /// A created cgroup that only uses the unified hierarchy (cgroup v2 code paths), if the
    /// host mounts one.
    pub fn unified_only(tag: &str) -> Option<Guard> {
        let h = Hierarchies::detect().unwrap();
        let unified = h.unified?;
        let only = Hierarchies {
            v1: Vec::new(),
            unified: Some(unified),
        };
        Some(Guard::with(
            Cgroup::with_hierarchies(&unique(tag), only).unwrap(),
        ))
    }

    /// A created child cgroup of this one.
    pub fn nested(&self, name: &str) -> Guard {
        let h = self.cg.hierarchies().unwrap().clone();
        Guard::with(Cgroup::with_hierarchies(&format!("{}/{name}", self.cg.path()), h).unwrap())
    }

    fn with(cg: Cgroup) -> Guard {
        assert!(!cg.exists());
        cg.create().unwrap();
        assert!(cg.exists());
        Guard {
            cg,
            children: Vec::new(),
        }
    }

    /// Starts `sh -c script` held at a gate, moves it into the cgroup, then opens the gate, so
    /// everything the script forks is born inside. Returns the child's index and pid.
    pub fn spawn_sh(&mut self, script: &str) -> (usize, i32) {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("read _gate; {script}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        self.cg.add_process(pid).unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"go\n").unwrap();
        drop(stdin);
        self.children.push(child);
        (self.children.len() - 1, pid)
    }

    /// Starts `sleep 300` and moves it into the cgroup.
    pub fn spawn_sleep(&mut self) -> (usize, i32) {
        let child = Command::new("sleep")
            .arg("300")
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        self.children.push(child);
        self.cg.add_process(pid).unwrap();
        (self.children.len() - 1, pid)
    }

    /// Waits for a child with a deadline; kills it if the deadline passes (then fails).
    pub fn wait(&mut self, idx: usize, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(st) = self.children[idx].try_wait().unwrap() {
                return st;
            }
            if start.elapsed() > limit {
                let _ = self.children[idx].kill();
                panic!("child {idx} did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stdout and stderr of a finished child.
    pub fn output(&mut self, idx: usize) -> (String, String) {
        use std::io::Read;
        let c = &mut self.children[idx];
        let mut out = String::new();
        let mut err = String::new();
        c.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        c.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        (out, err)
    }

    /// Reads a control file of this cgroup: from the v1 hierarchy of `v1_ctl` if mounted,
    /// else from the unified hierarchy.
    pub fn read(&self, v1_ctl: &str, v1_file: &str, v2_file: &str) -> String {
        let path = match self.cg.v1_dir(v1_ctl).unwrap() {
            Some(d) => d.join(v1_file),
            None => self.unified().join(v2_file),
        };
        fs_err::read_to_string(path).unwrap().trim().to_string()
    }

    pub fn unified(&self) -> PathBuf {
        self.cg.unified_dir().unwrap().expect("a unified hierarchy")
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.cg.thaw();
        let _ = self.cg.kill_all(9);
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Killed tasks may take a moment to leave; destroy retries on EBUSY.
        if let Err(e) = self.cg.destroy() {
            eprintln!("cleanup of {} failed: {e}", self.cg.path());
        }
    }
}

/// Field 3 (state) of /proc/<pid>/stat.
pub fn proc_state(pid: i32) -> char {
    let stat = fs_err::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.chars().next().unwrap()
}

/// utime + stime of a process, in clock ticks.
pub fn cpu_ticks(pid: i32) -> u64 {
    let stat = fs_err::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    // After the comm field: state is index 0, utime index 11, stime index 12.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// Polls `f` until it returns true or `limit` passes.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}
