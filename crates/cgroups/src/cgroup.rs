//! [`Cgroup`]: one logical cgroup across every mounted hierarchy, and its lifecycle.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::AT_FDCWD;
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, UnlinkatFlags, unlinkat};

use crate::stats::Stats;
use crate::{Error, Hierarchies, Mode, file, v1, v2};

/// Where one controller of a cgroup lives.
pub(crate) enum Ctl {
    /// The cgroup's directory in the v1 hierarchy of that controller.
    V1(PathBuf),
    /// The cgroup's directory in the unified hierarchy.
    V2(PathBuf),
}

/// One logical cgroup (an OCI `linux.cgroupsPath`) across all hierarchies.
///
/// Nothing touches the filesystem until [`Cgroup::create`] or another method runs; the
/// hierarchy layout is read from mountinfo on first use and kept.
#[derive(Debug)]
pub struct Cgroup {
    path: String,
    pub(crate) rel: PathBuf,
    hier: OnceLock<Hierarchies>,
}

/// Makes one directory; an existing one is fine.
pub(crate) fn mkdir(dir: &Path) -> Result<(), Error> {
    match std::fs::DirBuilder::new().create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(Error::Dir {
            op: "create",
            path: dir.to_path_buf(),
            source,
        }),
    }
}

fn mkdir_all(root: &Path, rel: &Path) -> Result<(), Error> {
    let mut dir = root.to_path_buf();
    for c in rel.components() {
        dir.push(c);
        mkdir(&dir)?;
    }
    Ok(())
}

/// Removes a cgroup directory and its child cgroups, deepest first. cgroupfs directories can
/// only be removed with rmdir, and only once no task and no child cgroup is left (EBUSY
/// either way): a leaf, the usual case, goes with one rmdir; children are looked for only
/// after a refusal. Tasks that were just killed may still be exiting, hence the retries on
/// EBUSY until `deadline`.
fn remove_tree(dir: &Path, deadline: Instant) -> Result<(), Error> {
    let mut delay = Duration::from_millis(5);
    let mut children_removed = false;
    loop {
        // rmdir(2) through nix keeps the raw errno that EBUSY is recognised by.
        match unlinkat(AT_FDCWD, dir, UnlinkatFlags::RemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => return Ok(()),
            Err(Errno::EBUSY) if !children_removed => {
                children_removed = true;
                for child in child_cgroups(dir)? {
                    remove_tree(&child, deadline)?;
                }
            }
            Err(Errno::EBUSY) if Instant::now() < deadline => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(100));
            }
            Err(e) => {
                return Err(Error::Dir {
                    op: "remove",
                    path: dir.to_path_buf(),
                    source: e.into(),
                });
            }
        }
    }
}

/// Reads cgroup.procs of `dir` and of every cgroup below it.
fn procs_recursive(dir: &Path, out: &mut Vec<i32>) -> Result<(), Error> {
    let path = dir.join("cgroup.procs");
    let Some(text) = file::read_opt(&path)? else {
        return Ok(());
    };
    for w in text.split_whitespace() {
        out.push(w.parse().map_err(|_| Error::Parse {
            path: path.clone(),
            content: w.to_string(),
        })?);
    }
    for child in child_cgroups(dir)? {
        procs_recursive(&child, out)?;
    }
    Ok(())
}

/// The child cgroups (subdirectories) of `dir`; none when `dir` went meanwhile.
fn child_cgroups(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = match fs_err::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::Io(e)),
    };
    Ok(entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect())
}

/// [`Hierarchies::detect`], once per process: it reads all of
/// `/proc/self/mountinfo`, which on a host with many containers is hundreds of
/// KiB the kernel formats anew for each read, and one `run` loads its cgroup
/// three times (create, OOM count, delete). Cgroup hierarchies are mounted at
/// boot and do not move under a running berth.
fn detect_once() -> Result<Hierarchies, Error> {
    static CACHE: std::sync::OnceLock<Hierarchies> = std::sync::OnceLock::new();
    if let Some(h) = CACHE.get() {
        return Ok(h.clone());
    }
    let h = Hierarchies::detect()?;
    Ok(CACHE.get_or_init(|| h).clone())
}

impl Cgroup {
    /// Validates `path` (an OCI `linux.cgroupsPath`, absolute or relative; both are placed
    /// under each hierarchy's root) without touching the filesystem.
    pub fn new(path: &str) -> Result<Cgroup, Error> {
        Ok(Cgroup {
            path: path.to_string(),
            rel: crate::path::relative(path)?,
            hier: OnceLock::new(),
        })
    }

    /// Like [`Cgroup::new`], with an explicit layout instead of the one in mountinfo (for
    /// example only the unified hierarchy of a hybrid host).
    pub fn with_hierarchies(path: &str, hierarchies: Hierarchies) -> Result<Cgroup, Error> {
        let cg = Cgroup::new(path)?;
        let _ = cg.hier.set(hierarchies);
        Ok(cg)
    }

    /// The cgroupsPath this cgroup was made from.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The validated path relative to each hierarchy root (`berth/abc`).
    pub fn relative(&self) -> &Path {
        &self.rel
    }

    /// The hierarchies in use (detected on first call).
    pub fn hierarchies(&self) -> Result<&Hierarchies, Error> {
        if let Some(h) = self.hier.get() {
            return Ok(h);
        }
        let h = detect_once()?;
        Ok(self.hier.get_or_init(|| h))
    }

    /// The host's cgroup layout.
    pub fn mode(&self) -> Result<Mode, Error> {
        Ok(self.hierarchies()?.mode())
    }

    /// This cgroup's directory in the v1 hierarchy holding `controller`, if mounted.
    pub fn v1_dir(&self, controller: &str) -> Result<Option<PathBuf>, Error> {
        Ok(self
            .hierarchies()?
            .v1_mount(controller)
            .map(|m| m.join(&self.rel)))
    }

    /// This cgroup's directory in the unified hierarchy, if mounted.
    pub fn unified_dir(&self) -> Result<Option<PathBuf>, Error> {
        Ok(self
            .hierarchies()?
            .unified
            .as_ref()
            .map(|u| u.mount_point.join(&self.rel)))
    }

    /// This cgroup's directory in every hierarchy: v1 ones first, then the unified one.
    pub fn dirs(&self) -> Result<Vec<PathBuf>, Error> {
        let h = self.hierarchies()?;
        let mut out: Vec<PathBuf> = h.v1.iter().map(|v| v.mount_point.join(&self.rel)).collect();
        out.extend(h.unified.as_ref().map(|u| u.mount_point.join(&self.rel)));
        Ok(out)
    }

    /// Where a controller lives: its v1 hierarchy if it has one, else the unified hierarchy
    /// if that offers it under `v2_name`.
    pub(crate) fn locate(&self, v1_name: &str, v2_name: &str) -> Result<Option<Ctl>, Error> {
        let h = self.hierarchies()?;
        if let Some(m) = h.v1_mount(v1_name) {
            return Ok(Some(Ctl::V1(m.join(&self.rel))));
        }
        if h.v2_has(v2_name) {
            return Ok(self.unified_dir()?.map(Ctl::V2));
        }
        Ok(None)
    }

    /// Like [`Cgroup::locate`] for devices and freezer, which v2 always has (BPF programs and
    /// cgroup.freeze) without listing them in cgroup.controllers.
    pub(crate) fn locate_builtin(&self, v1_name: &str) -> Result<Option<Ctl>, Error> {
        if let Some(d) = self.v1_dir(v1_name)? {
            return Ok(Some(Ctl::V1(d)));
        }
        Ok(self.unified_dir()?.map(Ctl::V2))
    }

    /// The directory whose cgroup.procs is authoritative for membership.
    fn primary_dir(&self) -> Result<PathBuf, Error> {
        let h = self.hierarchies()?;
        if h.mode() != Mode::V2 {
            for c in [
                "pids", "freezer", "memory", "cpu", "cpuacct", "devices", "blkio", "cpuset",
            ] {
                if let Some(d) = self.v1_dir(c)? {
                    return Ok(d);
                }
            }
        }
        if let Some(d) = self.unified_dir()? {
            return Ok(d);
        }
        self.dirs()?
            .into_iter()
            .next()
            .ok_or_else(|| Error::NoCgroupFs {
                path: PathBuf::from(crate::mount::MOUNTINFO),
            })
    }

    /// Creates the cgroup in every hierarchy (`mkdir -p`). v1 cpuset levels get their
    /// parent's cpus and mems; on v2 every controller berth drives that the parent offers is
    /// enabled in cgroup.subtree_control along the path.
    pub fn create(&self) -> Result<(), Error> {
        let h = self.hierarchies()?;
        for v in &h.v1 {
            if v.controllers.iter().any(|c| c == "cpuset") {
                v1::cpuset::create(&v.mount_point, &self.rel)?;
            } else {
                mkdir_all(&v.mount_point, &self.rel)?;
            }
        }
        if let Some(u) = &h.unified {
            v2::enable_controllers(&u.mount_point, &self.rel)?;
            mkdir(&u.mount_point.join(&self.rel))?;
        }
        Ok(())
    }

    /// Whether the cgroup directory exists.
    pub fn exists(&self) -> bool {
        self.primary_dir().is_ok_and(|d| d.is_dir())
    }

    /// Moves process `pid` into the cgroup in every hierarchy.
    pub fn add_process(&self, pid: i32) -> Result<(), Error> {
        for d in self.dirs()? {
            file::write(&d.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// Every process in the cgroup and its descendants, sorted.
    pub fn pids(&self) -> Result<Vec<i32>, Error> {
        let dir = self.primary_dir()?;
        if !dir.is_dir() {
            return Err(Error::Read {
                path: dir,
                source: std::io::Error::from(ErrorKind::NotFound),
            });
        }
        let mut out = Vec::new();
        procs_recursive(&dir, &mut out)?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn freezer(&self) -> Result<Ctl, Error> {
        self.locate_builtin("freezer")?
            .ok_or_else(|| Error::ControllerMissing {
                controller: "freezer".into(),
                field: "pause/resume".into(),
            })
    }

    /// Freezes every process (v1 freezer.state, v2 cgroup.freeze) and waits until frozen.
    pub fn freeze(&self) -> Result<(), Error> {
        match self.freezer()? {
            Ctl::V1(d) => v1::freezer::set(&d, "FROZEN"),
            Ctl::V2(d) => v2::freeze::set(&d, true),
        }
    }

    /// Thaws the cgroup.
    pub fn thaw(&self) -> Result<(), Error> {
        match self.freezer()? {
            Ctl::V1(d) => v1::freezer::set(&d, "THAWED"),
            Ctl::V2(d) => v2::freeze::set(&d, false),
        }
    }

    /// Whether the cgroup is frozen.
    pub fn is_frozen(&self) -> Result<bool, Error> {
        match self.freezer()? {
            Ctl::V1(d) => v1::freezer::is_frozen(&d),
            Ctl::V2(d) => v2::freeze::state(&d),
        }
    }

    /// Sends `signal` to every process in the cgroup.
    ///
    /// SIGKILL goes through v2's cgroup.kill where the kernel has it (5.14+): it cannot race
    /// with forks. Otherwise the cgroup is frozen while the signal goes out (so nothing forks
    /// in between) and thawed again if it was not frozen before.
    pub fn kill_all(&self, signal: i32) -> Result<(), Error> {
        let sig = Signal::try_from(signal).map_err(|_| Error::InvalidValue {
            field: "signal".into(),
            value: signal.to_string(),
            reason: "not a signal number".into(),
        })?;
        if sig == Signal::SIGKILL
            && let Some(d) = self.unified_dir()?
        {
            file::write_if_exists(&d.join("cgroup.kill"), "1")?;
        }
        let froze = !self.is_frozen().unwrap_or(true) && self.freeze().is_ok();
        let result = self.signal_each(sig);
        if froze {
            self.thaw()?;
        }
        result
    }

    fn signal_each(&self, sig: Signal) -> Result<(), Error> {
        for pid in self.pids()? {
            match kill(Pid::from_raw(pid), sig) {
                Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                Err(source) => {
                    return Err(Error::Signal {
                        pid,
                        signal: sig as i32,
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    /// Removes the cgroup (and any child cgroups) from every hierarchy. Missing directories
    /// are skipped; every failure is reported, not just the first.
    pub fn destroy(&self) -> Result<(), Error> {
        // One retry budget for the whole call: a task that will not leave should cost two
        // seconds, not two seconds per hierarchy.
        let deadline = Instant::now() + Duration::from_secs(2);
        let errors: Vec<Error> = self
            .dirs()?
            .iter()
            .filter_map(|d| remove_tree(d, deadline).err())
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Destroy {
                path: self.path.clone(),
                errors,
            })
        }
    }

    /// How many processes the OOM killer killed in this cgroup.
    pub fn oom_kill_count(&self) -> Result<u64, Error> {
        match self.locate("memory", "memory")? {
            Some(Ctl::V1(d)) => v1::memory::oom_kill_count(&d),
            Some(Ctl::V2(d)) => v2::memory::oom_kill_count(&d),
            None => Err(Error::ControllerMissing {
                controller: "memory".into(),
                field: "the OOM kill count".into(),
            }),
        }
    }

    /// Resource usage, in the shape `runc events --stats` prints.
    pub fn stats(&self) -> Result<Stats, Error> {
        let primary = self.primary_dir()?;
        if !primary.is_dir() {
            return Err(Error::Read {
                path: primary,
                source: std::io::Error::from(ErrorKind::NotFound),
            });
        }
        let mut s = Stats::default();
        // cpu.stat in the unified hierarchy carries usage even without the cpu controller.
        match self.v1_dir("cpuacct")? {
            Some(d) => v1::cpu::acct_stats(&d, &mut s)?,
            None => {
                if let Some(d) = self.unified_dir()? {
                    v2::cpu::stats(&d, &mut s)?;
                }
            }
        }
        if let Some(d) = self.v1_dir("cpu")? {
            v1::cpu::stats(&d, &mut s)?;
        }
        match self.locate("memory", "memory")? {
            Some(Ctl::V1(d)) => v1::memory::stats(&d, &mut s)?,
            Some(Ctl::V2(d)) => v2::memory::stats(&d, &mut s)?,
            None => {}
        }
        match self.locate("pids", "pids")? {
            Some(Ctl::V1(d)) => v1::pids::stats(&d, &mut s)?,
            Some(Ctl::V2(d)) => v2::pids::stats(&d, &mut s)?,
            None => {}
        }
        match self.locate("blkio", "io")? {
            Some(Ctl::V1(d)) => v1::blkio::stats(&d, &mut s)?,
            Some(Ctl::V2(d)) => v2::io::stats(&d, &mut s)?,
            None => {}
        }
        match self.locate("hugetlb", "hugetlb")? {
            Some(Ctl::V1(d)) => v1::hugetlb::stats(&d, &mut s)?,
            Some(Ctl::V2(d)) => v2::hugetlb::stats(&d, &mut s)?,
            None => {}
        }
        Ok(s)
    }
}
