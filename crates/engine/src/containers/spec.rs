//! Image config + `run` flags → the OCI runtime spec, with Docker's defaults: default
//! capabilities and seccomp profile, masked and read-only `/proc` paths, the standard
//! mounts and device rules. Pure: everything from the host or the rootfs (the user's
//! ids, devices, volume paths) is resolved by the caller and passed in.

use std::path::PathBuf;

use oci_spec::runtime::Spec;
use serde_json::{Value, json};

use super::image_config::ImageConfig;
use super::kernel_opts::NsMode;
use super::options::RunOptions;
use super::security;
use super::units;
use super::user::ResolvedUser;
use crate::{Error, Result};

/// Docker's default `PATH`.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Docker's masked paths.
pub const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Docker's read-only paths.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// A mount ready for the spec: host source already known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedMount {
    /// Path inside the container.
    pub target: String,
    /// Host path (bind) or `None` for a tmpfs.
    pub source: Option<PathBuf>,
    /// Extra options (tmpfs `size=…`, propagation).
    pub options: Vec<String>,
    /// Read-only.
    pub readonly: bool,
}

/// A host device for `--device`, already looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Path inside the container.
    pub path: String,
    /// `c` or `b`.
    pub kind: char,
    /// Major number.
    pub major: i64,
    /// Minor number.
    pub minor: i64,
    /// cgroup permissions (`rwm`).
    pub access: String,
    /// File mode.
    pub mode: u32,
}

/// Everything the spec is made from.
#[derive(Debug, Clone)]
pub struct SpecInput<'a> {
    /// Container id (the hostname defaults to its first 12 characters).
    pub id: &'a str,
    /// The flags.
    pub opts: &'a RunOptions,
    /// The image's config.
    pub image: &'a ImageConfig,
    /// The rootfs path.
    pub rootfs: PathBuf,
    /// The process user, resolved in the rootfs.
    pub user: ResolvedUser,
    /// Volumes, binds and tmpfs mounts.
    pub mounts: Vec<ResolvedMount>,
    /// Host files bind-mounted as `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`.
    pub etc_files: Vec<(String, PathBuf)>,
    /// `--device` entries.
    pub devices: Vec<Device>,
    /// The directory of [`super::init::prepare`] for `--init`.
    pub init_dir: Option<PathBuf>,
    /// Capabilities berth itself may grant (its bounding set).
    pub host_caps: Vec<String>,
}

/// The process's argv: entrypoint + cmd with Docker's rules (`--entrypoint` resets the
/// image's Cmd; an empty `--entrypoint ""` clears the image's entrypoint).
pub fn command_line(opts: &RunOptions, image: &ImageConfig) -> Result<Vec<String>> {
    let entrypoint: Vec<String> = match &opts.entrypoint {
        Some(e) if e.is_empty() => Vec::new(),
        Some(e) => vec![e.clone()],
        None => image.entrypoint.clone(),
    };
    let cmd = if !opts.cmd.is_empty() {
        opts.cmd.clone()
    } else if opts.entrypoint.is_some() {
        Vec::new()
    } else {
        image.cmd.clone()
    };
    let args: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if args.is_empty() {
        return Err(Error::Invalid {
            flag: "COMMAND",
            value: String::new(),
            hint: "no command specified: the image has no Cmd or Entrypoint; give one after the image name".into(),
        });
    }
    Ok(args)
}

/// The hostname: `-h` or the short id.
pub fn hostname(opts: &RunOptions, id: &str) -> String {
    opts.hostname
        .clone()
        .unwrap_or_else(|| id.chars().take(12).collect())
}

/// The environment: image env, `PATH` default, `HOSTNAME`, `TERM` with `-t`, `HOME`,
/// then `-e` (later entries win, as Docker).
pub fn environment(opts: &RunOptions, image: &ImageConfig, host: &str, home: &str) -> Vec<String> {
    let mut env: Vec<(String, String)> = Vec::new();
    let set = |kv: &str, env: &mut Vec<(String, String)>| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match env.iter_mut().find(|(key, _)| key == k) {
            Some(e) => e.1 = v.to_owned(),
            None => env.push((k.to_owned(), v.to_owned())),
        }
    };
    set(&format!("PATH={DEFAULT_PATH}"), &mut env);
    set(&format!("HOSTNAME={host}"), &mut env);
    for e in &image.env {
        set(e, &mut env);
    }
    if opts.tty {
        set("TERM=xterm", &mut env);
    }
    if !env.iter().any(|(k, _)| k == "HOME") {
        set(
            &format!("HOME={}", if home.is_empty() { "/" } else { home }),
            &mut env,
        );
    }
    for e in &opts.env {
        set(e, &mut env);
    }
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

fn default_mounts(opts: &RunOptions) -> Vec<Value> {
    let sys_ro = if opts.privileged { "rw" } else { "ro" };
    let shm = match opts.kernel.ipc.as_deref() {
        // Docker: no /dev/shm at all, or the host's.
        Some("none") => None,
        Some("host") => Some(
            json!({"destination": "/dev/shm", "type": "bind", "source": "/dev/shm", "options": ["rbind", "rprivate"]}),
        ),
        _ => Some(
            json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", format!("size={}", opts.kernel.shm_bytes())]}),
        ),
    };
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", sys_ro]}),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", sys_ro]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
    ];
    mounts.extend(shm);
    mounts
}

fn security_opts(opts: &RunOptions) -> Result<(Option<String>, bool, Option<String>)> {
    let mut seccomp = None;
    let mut nnp = false;
    let mut apparmor = None;
    for s in &opts.security_opt {
        let (k, v) = s.split_once(['=', ':']).unwrap_or((s.as_str(), ""));
        match k {
            "seccomp" => seccomp = Some(v.to_owned()),
            "no-new-privileges" => nnp = v.is_empty() || v == "true",
            "apparmor" => apparmor = Some(v.to_owned()),
            "label" => {}
            _ => {
                return Err(Error::Invalid {
                    flag: "--security-opt",
                    value: s.clone(),
                    hint: "use seccomp=unconfined|FILE, no-new-privileges, apparmor=PROFILE or label=…".into(),
                });
            }
        }
    }
    Ok((seccomp, nnp, apparmor))
}

/// Builds the OCI spec.
pub fn build(input: &SpecInput<'_>) -> Result<Spec> {
    let opts = input.opts;
    let host = hostname(opts, input.id);
    let mut args = command_line(opts, input.image)?;
    let env = environment(opts, input.image, &host, &input.user.home);
    let caps = security::capabilities(
        opts.privileged,
        &opts.cap_add,
        &opts.cap_drop,
        &input.host_caps,
    )?;
    let (seccomp_opt, nnp, apparmor) = security_opts(opts)?;
    let cwd = opts
        .workdir
        .clone()
        .filter(|w| !w.is_empty())
        .or_else(|| Some(input.image.working_dir.clone()).filter(|w| !w.is_empty()))
        .unwrap_or_else(|| "/".to_owned());
    if !cwd.starts_with('/') {
        return Err(Error::Invalid {
            flag: "--workdir",
            value: cwd,
            hint: "the working directory must be absolute".into(),
        });
    }
    let mut rlimits = Vec::new();
    for u in &opts.ulimits {
        let (t, soft, hard) = units::parse_ulimit(u)?;
        rlimits.push(json!({"type": t, "soft": soft, "hard": hard}));
    }
    let mut mounts = default_mounts(opts);
    let mut user_mounts: Vec<&ResolvedMount> = input.mounts.iter().collect();
    // Parents before children, as Docker sorts them.
    user_mounts.sort_by_key(|m| m.target.trim_end_matches('/').matches('/').count());
    mounts.retain(|m| {
        !user_mounts
            .iter()
            .any(|u| Some(u.target.as_str()) == m["destination"].as_str())
    });
    for (target, src) in &input.etc_files {
        if user_mounts.iter().any(|u| &u.target == target) {
            continue;
        }
        let mut o = vec!["rbind", "rprivate"];
        if opts.read_only {
            o.push("ro");
        }
        mounts.push(json!({"destination": target, "type": "bind", "source": src, "options": o}));
    }
    for m in user_mounts {
        let mut o: Vec<String> = Vec::new();
        match &m.source {
            Some(src) => {
                o.push("rbind".into());
                if !m
                    .options
                    .iter()
                    .any(|x| x.contains("shared") || x.contains("slave") || x.contains("private"))
                {
                    o.push("rprivate".into());
                }
                o.extend(m.options.iter().cloned());
                if m.readonly {
                    o.push("ro".into());
                }
                mounts.push(
                    json!({"destination": m.target, "type": "bind", "source": src, "options": o}),
                );
            }
            None => {
                o.extend(["nosuid", "nodev", "noexec"].map(String::from));
                o.extend(m.options.iter().cloned());
                if m.readonly {
                    o.push("ro".into());
                }
                mounts.push(json!({"destination": m.target, "type": "tmpfs", "source": "tmpfs", "options": o}));
            }
        }
    }
    if let Some(dir) = &input.init_dir {
        mounts.push(json!({"destination": super::init::INIT_DIR, "type": "bind", "source": dir, "options": ["rbind", "ro", "rprivate"]}));
        args = super::init::argv(dir.join("ld.so").exists(), args);
    }
    let k = &opts.kernel;
    let mut namespaces = Vec::new();
    for (kind, mode) in [
        ("pid", k.pid_mode()?),
        ("ipc", k.ipc_mode()?),
        ("uts", k.uts_mode()?),
    ] {
        // Another container's is joined by path when this one starts.
        if mode != NsMode::Host {
            namespaces.push(json!({"type": kind}));
        }
    }
    namespaces.push(json!({"type": "mount"}));
    if k.cgroupns.as_deref() == Some("private") {
        namespaces.push(json!({"type": "cgroup"}));
    }
    match opts.network.as_deref() {
        Some("host") => {}
        // Other modes get a namespace too; the engine's networks module points it at
        // the container's pinned one (or another container's) before start.
        _ => namespaces.push(json!({"type": "network"})),
    }
    let mut process = json!({
        "terminal": opts.tty,
        "user": {"uid": input.user.uid, "gid": input.user.gid},
        "args": args,
        "env": env,
        "cwd": cwd,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "noNewPrivileges": nnp,
        "oomScoreAdj": k.oom_score_adj.unwrap_or(0),
    });
    if !input.user.additional_gids.is_empty() {
        process["user"]["additionalGids"] = json!(input.user.additional_gids);
    }
    if !rlimits.is_empty() {
        process["rlimits"] = json!(rlimits);
    }
    if let Some(a) = apparmor.filter(|a| a != "unconfined" && !a.is_empty()) {
        process["apparmorProfile"] = json!(a);
    }
    let mut linux = json!({
        "namespaces": namespaces,
        "resources": super::resources::resources(opts, &input.devices)?,
    });
    let sysctl = k.sysctl(opts.network.as_deref())?;
    if !sysctl.is_empty() {
        linux["sysctl"] = Value::Object(sysctl);
    }
    if let Some(p) = k.cgroups_path(input.id) {
        linux["cgroupsPath"] = json!(p);
    }
    if !opts.privileged {
        linux["maskedPaths"] = json!(MASKED_PATHS);
        linux["readonlyPaths"] = json!(READONLY_PATHS);
        match seccomp_opt.as_deref() {
            Some("unconfined") => {}
            Some(file) if !file.is_empty() => {
                let text = fs_err::read_to_string(file).map_err(|e| Error::Io {
                    path: file.into(),
                    source: e,
                })?;
                let v: Value = serde_json::from_str(&text).map_err(|e| Error::Json {
                    what: format!("seccomp profile {file}"),
                    source: e,
                })?;
                linux["seccomp"] = v;
            }
            _ => linux["seccomp"] = security::default_seccomp(&caps)?,
        }
    }
    if !input.devices.is_empty() {
        linux["devices"] = json!(input
            .devices
            .iter()
            .map(|d| json!({"path": d.path, "type": d.kind.to_string(), "major": d.major, "minor": d.minor, "fileMode": d.mode, "uid": 0, "gid": 0}))
            .collect::<Vec<_>>());
    }
    let mut spec = json!({
        "ociVersion": "1.2.0",
        "process": process,
        "root": {"path": input.rootfs, "readonly": opts.read_only},
        "mounts": mounts,
        "linux": linux,
    });
    // With the host's UTS namespace the names are the host's own.
    if k.uts_mode()? != NsMode::Host {
        spec["hostname"] = json!(host);
        if let Some(d) = k.domainname.as_deref().filter(|d| !d.is_empty()) {
            spec["domainname"] = json!(d);
        }
    }
    let annotations = k.annotations();
    if !annotations.is_empty() {
        spec["annotations"] = Value::Object(annotations);
    }
    serde_json::from_value(spec).map_err(|e| Error::Json {
        what: "generated OCI spec".into(),
        source: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> (RunOptions, ImageConfig) {
        let img = ImageConfig {
            env: vec!["PATH=/custom".into(), "A=1".into()],
            cmd: vec!["sh".into()],
            entrypoint: vec!["/entry".into()],
            working_dir: "/w".into(),
            ..ImageConfig::default()
        };
        (RunOptions::default(), img)
    }

    fn input<'a>(opts: &'a RunOptions, img: &'a ImageConfig) -> SpecInput<'a> {
        SpecInput {
            id: "0123456789abcdef0123",
            opts,
            image: img,
            rootfs: "/r".into(),
            user: ResolvedUser::default(),
            mounts: vec![],
            etc_files: vec![("/etc/hosts".into(), "/h/hosts".into())],
            devices: vec![],
            init_dir: None,
            host_caps: security::all_caps(),
        }
    }

    #[test]
    fn docker_defaults() {
        let (opts, img) = base();
        let s = build(&input(&opts, &img)).unwrap();
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["hostname"], "0123456789ab");
        assert_eq!(v["process"]["args"], json!(["/entry", "sh"]));
        assert_eq!(v["process"]["cwd"], "/w");
        let env: Vec<&str> = v["process"]["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        assert!(env.contains(&"PATH=/custom"));
        assert!(env.contains(&"HOSTNAME=0123456789ab"));
        assert!(!env.iter().any(|e| e.starts_with("TERM=")));
        assert_eq!(
            v["process"]["capabilities"]["bounding"]
                .as_array()
                .unwrap()
                .len(),
            14
        );
        assert_eq!(
            v["linux"]["maskedPaths"].as_array().unwrap().len(),
            MASKED_PATHS.len()
        );
        assert!(
            v["linux"]["readonlyPaths"]
                .as_array()
                .unwrap()
                .contains(&json!("/proc/sys"))
        );
        assert_eq!(v["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
        let dests: Vec<&str> = v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["destination"].as_str().unwrap())
            .collect();
        for d in [
            "/proc",
            "/dev",
            "/dev/pts",
            "/dev/shm",
            "/dev/mqueue",
            "/sys",
            "/sys/fs/cgroup",
            "/etc/hosts",
        ] {
            assert!(dests.contains(&d), "{d} missing");
        }
        let ns: Vec<&str> = v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert!(ns.contains(&"network"));
    }

    #[test]
    fn flags_change_the_spec() {
        let (mut opts, img) = base();
        opts.tty = true;
        opts.entrypoint = Some("/bin/echo".into());
        opts.env = vec!["A=2".into()];
        opts.memory = Some(64 << 20);
        opts.pids_limit = Some(10);
        opts.nano_cpus = Some(1_500_000_000);
        opts.read_only = true;
        opts.privileged = true;
        opts.network = Some("host".into());
        opts.hostname = Some("box".into());
        let mut i = input(&opts, &img);
        i.mounts.push(ResolvedMount {
            target: "/dev/shm".into(),
            source: None,
            options: vec!["size=1m".into()],
            readonly: false,
        });
        i.init_dir = Some("/nonexistent/init".into());
        let v = serde_json::to_value(build(&i).unwrap()).unwrap();
        assert_eq!(
            v["process"]["args"],
            json!(["/dev/.berth-init/berth", "__init", "--", "/bin/echo"])
        );
        let env = v["process"]["env"].as_array().unwrap();
        assert!(env.contains(&json!("TERM=xterm")));
        assert!(env.contains(&json!("A=2")));
        assert!(!env.contains(&json!("A=1")));
        assert_eq!(v["linux"]["resources"]["memory"]["limit"], 64 << 20);
        assert_eq!(v["linux"]["resources"]["memory"]["swap"], 128 << 20);
        assert_eq!(v["linux"]["resources"]["pids"]["limit"], 10);
        assert_eq!(v["linux"]["resources"]["cpu"]["quota"], 150_000);
        assert_eq!(v["root"]["readonly"], true);
        assert!(v["linux"].get("seccomp").is_none());
        assert!(v["linux"].get("maskedPaths").is_none());
        assert_eq!(v["hostname"], "box");
        let ns = v["linux"]["namespaces"].as_array().unwrap();
        assert!(!ns.iter().any(|n| n["type"] == "network"));
        let shm: Vec<&Value> = v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["destination"] == "/dev/shm")
            .collect();
        assert_eq!(shm.len(), 1);
        assert!(
            shm[0]["options"]
                .as_array()
                .unwrap()
                .contains(&json!("size=1m"))
        );
    }

    #[test]
    fn bad_values_are_refused() {
        let (mut opts, img) = base();
        opts.memory = Some(1024);
        assert!(build(&input(&opts, &img)).is_err());
        let (mut opts, _) = base();
        opts.security_opt = vec!["bogus=1".into()];
        assert!(build(&input(&opts, &img)).is_err());
        let empty = ImageConfig::default();
        let opts = RunOptions::default();
        let e = build(&input(&opts, &empty)).unwrap_err().to_string();
        assert!(e.contains("no command"), "{e}");
        let (mut opts, img) = base();
        opts.entrypoint = Some(String::new());
        opts.cmd = vec!["ls".into()];
        assert_eq!(command_line(&opts, &img).unwrap(), vec!["ls"]);
    }
}
