//! `berth info` / `system info` and `berth version`, in Docker's shapes.
//!
//! berth has no daemon: what Docker reports for its server describes berth's engine
//! and the host it runs on here.

use berth_engine::Paths;
use clap::Args;
use serde_json::{Value, json};

use crate::format::bytes_size;

/// Display system-wide information.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Format output using a Go template or `json`.
    #[arg(short, long)]
    pub format: Option<String>,
}

/// Show the berth version information.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Format output using a Go template or `json`.
    #[arg(short, long)]
    pub format: Option<String>,
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn os_arch() -> (String, String) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    };
    (std::env::consts::OS.to_owned(), arch.to_owned())
}

fn kernel() -> (String, String, String) {
    let u = nix::sys::utsname::uname().ok();
    let get = |f: fn(&nix::sys::utsname::UtsName) -> &std::ffi::OsStr| {
        u.as_ref()
            .map(|u| f(u).to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    (
        get(nix::sys::utsname::UtsName::release),
        get(nix::sys::utsname::UtsName::machine),
        get(nix::sys::utsname::UtsName::nodename),
    )
}

/// `PRETTY_NAME` and `VERSION_ID` from os-release.
fn os_release() -> (String, String) {
    let text = fs_err::read_to_string("/etc/os-release")
        .or_else(|_| fs_err::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_owned())
            .unwrap_or_default()
    };
    (field("PRETTY_NAME"), field("VERSION_ID"))
}

/// Docker's name for the file system under the data directory.
fn backing_fs(path: &std::path::Path) -> String {
    use nix::sys::statfs::{BTRFS_SUPER_MAGIC, EXT4_SUPER_MAGIC, TMPFS_MAGIC, XFS_SUPER_MAGIC};
    match nix::sys::statfs::statfs(path) {
        Ok(s) if s.filesystem_type() == EXT4_SUPER_MAGIC => "extfs".into(),
        Ok(s) if s.filesystem_type() == XFS_SUPER_MAGIC => "xfs".into(),
        Ok(s) if s.filesystem_type() == BTRFS_SUPER_MAGIC => "btrfs".into(),
        Ok(s) if s.filesystem_type() == TMPFS_MAGIC => "tmpfs".into(),
        Ok(s) => format!("{:#x}", s.filesystem_type().0),
        Err(_) => "unknown".into(),
    }
}

/// The `info` document (Docker's field names).
fn info_doc(paths: &Paths) -> anyhow::Result<Value> {
    let engine = super::super::container::engine(paths)?;
    let (all, running, paused, stopped) = engine.container_counts()?;
    let images = engine
        .store()
        .list_images(&berth_store::ImageFilter::default())?
        .len();
    let cgroup_version = match berth_cgroups::detect() {
        Ok(berth_cgroups::Mode::V2) => "2",
        Ok(_) => "1",
        Err(_) => "",
    };
    let swap = if cgroup_version == "2" {
        true
    } else {
        std::path::Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
    };
    let (kernel, machine, hostname) = kernel();
    let (os, os_version) = os_release();
    let (ostype, _) = os_arch();
    let exe = std::env::current_exe().unwrap_or_default();
    let mut security = vec!["name=seccomp,profile=default".to_owned()];
    if cgroup_version == "2" {
        security.push("name=cgroupns".into());
    }
    let forwarding =
        fs_err::read_to_string("/proc/sys/net/ipv4/ip_forward").is_ok_and(|v| v.trim() == "1");
    Ok(json!({
        "Containers": all,
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": stopped,
        "Images": images,
        "Driver": "overlayfs",
        "DriverStatus": [
            ["Backing Filesystem", backing_fs(&paths.data)],
            ["Supports d_type", "true"],
        ],
        "Plugins": {
            "Volume": ["local"],
            "Network": ["bridge", "host", "none", "container"],
            "Log": ["json-file", "none"],
        },
        "MemoryLimit": true,
        "SwapLimit": swap,
        "CpuCfsPeriod": true,
        "CpuCfsQuota": true,
        "CPUShares": true,
        "CPUSet": true,
        "PidsLimit": true,
        "IPv4Forwarding": forwarding,
        "Debug": false,
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": cgroup_version,
        "KernelVersion": kernel,
        "OperatingSystem": os,
        "OSVersion": os_version,
        "OSType": ostype,
        "Architecture": machine,
        "NCPU": std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        "MemTotal": berth_engine::system::host_memory(),
        "DockerRootDir": paths.data,
        "Name": hostname,
        "ServerVersion": VERSION,
        "Runtimes": {"berth": {"path": exe}},
        "DefaultRuntime": "berth",
        "InitBinary": "berth",
        "SecurityOptions": security,
        "Swarm": {"LocalNodeState": "inactive"},
        "LiveRestoreEnabled": false,
        "Warnings": if swap { json!([]) } else { json!(["WARNING: No swap limit support"]) },
    }))
}

/// Runs `berth info`.
pub fn info(paths: &Paths, args: &InfoArgs) -> anyhow::Result<()> {
    let d = info_doc(paths)?;
    if let Some(f) = &args.format {
        print_formatted(&d, f)?;
        return Ok(());
    }
    let s = |k: &str| match &d[k] {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    let mut out = String::from("Server:\n");
    for (label, key) in [
        ("Containers", "Containers"),
        (" Running", "ContainersRunning"),
        (" Paused", "ContainersPaused"),
        (" Stopped", "ContainersStopped"),
        ("Images", "Images"),
        ("Server Version", "ServerVersion"),
        ("Storage Driver", "Driver"),
    ] {
        out.push_str(&format!(" {label}: {}\n", s(key)));
    }
    for kv in d["DriverStatus"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {}: {}\n",
            kv[0].as_str().unwrap_or(""),
            kv[1].as_str().unwrap_or("")
        ));
    }
    out.push_str(&format!(" Logging Driver: {}\n", s("LoggingDriver")));
    out.push_str(&format!(" Cgroup Driver: {}\n", s("CgroupDriver")));
    out.push_str(&format!(" Cgroup Version: {}\n", s("CgroupVersion")));
    out.push_str(" Plugins:\n");
    for k in ["Volume", "Network", "Log"] {
        let names: Vec<&str> = d["Plugins"][k]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        out.push_str(&format!("  {k}: {}\n", names.join(" ")));
    }
    out.push_str(" Swarm: inactive\n");
    out.push_str(" Runtimes: berth\n Default Runtime: berth\n Init Binary: berth\n");
    out.push_str(" Security Options:\n");
    for o in d["SecurityOptions"].as_array().into_iter().flatten() {
        let mut parts = o.as_str().unwrap_or("").split(',');
        if let Some(name) = parts.next() {
            out.push_str(&format!("  {}\n", name.trim_start_matches("name=")));
        }
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                let mut k = k.to_owned();
                k[..1].make_ascii_uppercase();
                out.push_str(&format!("   {k}: {v}\n"));
            }
        }
    }
    for (label, key) in [
        ("Kernel Version", "KernelVersion"),
        ("Operating System", "OperatingSystem"),
        ("OSType", "OSType"),
        ("Architecture", "Architecture"),
        ("CPUs", "NCPU"),
    ] {
        out.push_str(&format!(" {label}: {}\n", s(key)));
    }
    out.push_str(&format!(
        " Total Memory: {}\n",
        bytes_size(d["MemTotal"].as_u64().unwrap_or(0))
    ));
    out.push_str(&format!(" Name: {}\n", s("Name")));
    out.push_str(&format!(" Docker Root Dir: {}\n", s("DockerRootDir")));
    out.push_str(" Debug Mode: false\n Live Restore Enabled: false\n");
    print!("{out}");
    for w in d["Warnings"].as_array().into_iter().flatten() {
        eprintln!("{}", w.as_str().unwrap_or(""));
    }
    Ok(())
}

/// Runs `berth version`.
pub fn version(args: &VersionArgs) -> anyhow::Result<()> {
    let (os, arch) = os_arch();
    let (kernel, _, _) = kernel();
    let cgroups = match berth_cgroups::detect() {
        Ok(m) => format!("{m:?}"),
        Err(e) => format!("unavailable ({e})"),
    };
    let doc = json!({
        "Client": {
            "Platform": {"Name": "berth"},
            "Version": VERSION,
            "Os": os,
            "Arch": arch,
        },
        "Server": {
            "Platform": {"Name": "berth (no daemon)"},
            "Version": VERSION,
            "Os": os,
            "Arch": arch,
            "KernelVersion": kernel,
            "Components": [
                {"Name": "Engine", "Version": VERSION},
                {"Name": "berth-runc", "Version": VERSION,
                 "Details": {"OCISpec": "1.2.0", "Cgroups": cgroups}},
            ],
        },
    });
    if let Some(f) = &args.format {
        return print_formatted(&doc, f);
    }
    print!(
        "Client: berth\n Version:           {VERSION}\n OS/Arch:           {os}/{arch}\n\n\
         Server: berth (no daemon: the engine runs in each berth process)\n Engine:\n  Version:          {VERSION}\n  OS/Arch:          {os}/{arch}\n  Kernel Version:   {kernel}\n berth-runc:\n  Version:          {VERSION}\n  OCI spec:         1.2.0\n  cgroups:          {cgroups}\n"
    );
    Ok(())
}

fn print_formatted(doc: &Value, format: &str) -> anyhow::Result<()> {
    if format == "json" {
        println!("{doc}");
    } else {
        println!("{}", crate::format::render(format, doc)?);
    }
    Ok(())
}
