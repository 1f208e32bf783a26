//! `berth oci`: real containers from a busybox bundle, checked from the inside.

use serde_json::{Value, json};

use crate::common::{BundleDir, Oci, skip_unless_root, unique_id};

#[test]
fn run_returns_the_program_output_and_exit_code() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let b = BundleDir::new(&["sh", "-c", "echo hello from berth; exit 3"]);
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!(code, 3, "stderr: {err}");
    assert_eq!(out, "hello from berth\n");
}

#[test]
fn hostname_domainname_cwd_env_and_user_are_applied() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let mut b = BundleDir::new(&[
        "sh",
        "-c",
        "hostname; cat /proc/sys/kernel/domainname; pwd; echo $GREETING; id -u; id -g; id -G",
    ]);
    b.spec["hostname"] = json!("box1");
    b.spec["domainname"] = json!("example.test");
    b.spec["process"]["cwd"] = json!("/tmp");
    b.spec["process"]["env"] = json!(["PATH=/bin", "GREETING=hi there"]);
    b.spec["process"]["user"] = json!({"uid": 65534, "gid": 65534, "additionalGids": [5, 7]});
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(
        out,
        "box1\nexample.test\n/tmp\nhi there\n65534\n65534\n65534 5 7\n"
    );
}

#[test]
fn capabilities_are_exactly_the_configured_sets() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let mut b = BundleDir::new(&[
        "sh",
        "-c",
        "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status",
    ]);
    let set = json!(["CAP_NET_BIND_SERVICE", "CAP_KILL"]);
    b.spec["process"]["capabilities"] = json!({
        "bounding": set, "effective": set, "permitted": set, "inheritable": set, "ambient": ["CAP_KILL"]
    });
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "stderr: {err}");
    // CAP_KILL = bit 5 (0x20), CAP_NET_BIND_SERVICE = bit 10 (0x400)
    assert!(out.contains("CapEff:\t0000000000000420"), "{out}");
    assert!(out.contains("CapBnd:\t0000000000000420"), "{out}");
    assert!(out.contains("CapAmb:\t0000000000000020"), "{out}");
}

#[test]
fn seccomp_denies_a_syscall_with_the_configured_errno() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let mut b = BundleDir::new(&[
        "sh",
        "-c",
        "mkdir /tmp/denied; echo rc=$?; grep ^Seccomp: /proc/self/status",
    ]);
    b.spec["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]
    });
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "stderr: {err}");
    assert!(out.contains("rc=1"), "{out}");
    assert!(
        err.contains("Permission denied"),
        "mkdir must fail with EACCES (13): {err}"
    );
    assert!(out.contains("Seccomp:\t2"), "filter mode must be on: {out}");
    assert!(!b.rootfs().join("tmp/denied").exists());
}

#[test]
fn masked_and_readonly_paths_and_readonly_root() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let mut b = BundleDir::new(&[
        "sh",
        "-c",
        "wc -c < /proc/timer_list; ls /proc/acpi | wc -l; echo 1 > /proc/sys/kernel/ns_last_pid; echo sys=$?; touch /newfile; echo root=$?",
    ]);
    b.spec["root"]["readonly"] = json!(true);
    b.spec["linux"]["maskedPaths"] =
        json!(["/proc/timer_list", "/proc/acpi", "/proc/does-not-exist"]);
    b.spec["linux"]["readonlyPaths"] = json!(["/proc/sys"]);
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out, "0\n0\nsys=1\nroot=1\n", "stderr: {err}");
    assert!(err.contains("Read-only file system"), "{err}");
}

#[test]
fn mounts_tmpfs_bind_and_readonly_bind() {
    if skip_unless_root() {
        return;
    }
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("data.txt"), "from the host\n").unwrap();
    let oci = Oci::new();
    let mut b = BundleDir::new(&[
        "sh",
        "-c",
        "cat /data/data.txt; echo x > /data/w; echo bind=$?; echo y > /rw/w && echo rw=ok; grep ' /scratch ' /proc/mounts",
    ]);
    let rw = tempfile::tempdir().unwrap();
    let mounts = b.spec["mounts"].as_array_mut().unwrap();
    mounts.push(json!({"destination": "/data", "type": "bind", "source": host.path(), "options": ["rbind", "ro"]}));
    mounts.push(
        json!({"destination": "/rw", "type": "bind", "source": rw.path(), "options": ["bind"]}),
    );
    mounts.push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=1777", "nosuid"]}));
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "stderr: {err}");
    assert!(
        out.starts_with("from the host\nbind=1\nrw=ok\n"),
        "{out} / {err}"
    );
    assert!(out.contains("tmpfs /scratch tmpfs rw,nosuid"), "{out}");
    assert!(out.contains("size=1024k"), "{out}");
    assert_eq!(std::fs::read_to_string(rw.path().join("w")).unwrap(), "y\n");
    assert!(!host.path().join("w").exists());
}

#[test]
fn user_namespace_maps_root_to_an_unprivileged_host_id() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let mut b = BundleDir::new(&[
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map; cat /proc/self/gid_map",
    ]);
    b.spec["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    b.spec["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.spec["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    // The rootfs must be reachable by the mapped root.
    let st = std::process::Command::new("chown")
        .args(["-R", "100000:100000"])
        .arg(b.rootfs())
        .status()
        .unwrap();
    assert!(st.success());
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "stderr: {err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
}

#[test]
fn lifecycle_create_start_state_kill_delete() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let b = BundleDir::new(&["sleep", "60"]);
    b.save();
    let id = unique_id("life");
    let pidfile = b.path().join("init.pid");
    let (ok, err) = oci.run_detached(&[
        "create",
        "--bundle",
        b.path().to_str().unwrap(),
        "--pid-file",
        pidfile.to_str().unwrap(),
        &id,
    ]);
    assert!(ok, "{err}");
    let st = oci.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], id.as_str());
    let pid = st["pid"].as_i64().unwrap();
    assert_eq!(std::fs::read_to_string(&pidfile).unwrap(), pid.to_string());
    assert_eq!(
        st["bundle"],
        json!(std::fs::canonicalize(b.path()).unwrap())
    );
    // The user's program has not run yet: init is berth, waiting on the fifo.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).starts_with("sleep"));

    let out = oci.run(&["start", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(oci.state(&id)["status"], "running");
    let out = oci.run(&["start", &id]);
    assert!(!out.status.success(), "starting twice must fail");

    let out = oci.run(&["delete", &id]);
    assert!(
        !out.status.success(),
        "deleting a running container needs --force"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));

    let out = oci.run(&["kill", &id, "KILL"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while oci.state(&id)["status"] != "stopped" {
        assert!(
            std::time::Instant::now() < deadline,
            "container did not stop"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(oci.state(&id).get("pid").is_none());
    let out = oci.run(&["delete", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = oci.run(&["state", &id]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
fn exec_runs_inside_the_running_container() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let mut b = BundleDir::new(&["sleep", "60"]);
    b.spec["hostname"] = json!("execbox");
    let id = oci.run_d(&b, "exec");
    let out = oci.run(&[
        "exec",
        &id,
        "sh",
        "-c",
        "hostname; echo $$; cat /proc/1/cmdline",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "execbox");
    assert_ne!(lines[1], "1", "exec'd process is not the init");
    assert!(lines[2].starts_with("sleep"), "{text}");
    let out = oci.run(&["exec", &id, "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    let out = oci.run(&["exec", &id, "no-such-program"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("executable file not found in $PATH"));
    let out = oci.run(&["ps", "--format", "json", &id]);
    let pids: Vec<i64> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(pids.len(), 1, "only the init runs now: {pids:?}");
}

#[test]
fn missing_program_is_127_and_non_executable_is_126_at_create() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let b = BundleDir::new(&["definitely-not-here"]);
    let (code, _, err) = oci.run_bundle(&b);
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("executable file not found in $PATH"), "{err}");
    let b = BundleDir::new(&["/etc/passwd"]);
    let (code, _, err) = oci.run_bundle(&b);
    assert_eq!(code, 126, "{err}");
    assert!(
        std::fs::read_dir(oci.state.path())
            .unwrap()
            .next()
            .is_none(),
        "failed run left state behind"
    );
}

#[test]
fn crlf_script_gets_a_hint() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let b = BundleDir::new(&["/run.sh"]);
    std::fs::write(b.rootfs().join("run.sh"), "#!/bin/sh\r\necho hi\r\n").unwrap();
    std::fs::set_permissions(
        b.rootfs().join("run.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let (code, _, err) = oci.run_bundle(&b);
    assert_eq!(code, 127);
    assert!(err.contains("Windows line endings"), "{err}");
}

#[test]
fn hooks_run_in_order_with_state_on_stdin() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    // The log lives in a directory bound into the container at the same path, because
    // createContainer/startContainer hooks run inside the container's mount namespace.
    let logdir = tempfile::tempdir().unwrap();
    let logp = logdir
        .path()
        .join("hooks.log")
        .to_str()
        .unwrap()
        .to_string();
    let mut b = BundleDir::new(&["true"]);
    b.spec["mounts"].as_array_mut().unwrap().push(json!({"destination": logdir.path(), "type": "bind", "source": logdir.path(), "options": ["bind"]}));
    let hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("read s; echo \"{name} $s\" >> {logp}")]});
    b.spec["hooks"] = json!({
        "prestart": [hook("prestart")],
        "createRuntime": [hook("createRuntime")],
        "createContainer": [hook("createContainer")],
        "startContainer": [hook("startContainer")],
        "poststart": [hook("poststart")],
        "poststop": [hook("poststop")],
    });
    let (code, _, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&logp).unwrap();
    let names: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
    for line in text.lines() {
        let (_, json) = line.split_once(' ').unwrap();
        let v: Value = serde_json::from_str(json).unwrap();
        assert!(v["id"].as_str().unwrap().starts_with("run-"));
        assert!(
            v["pid"].as_i64().unwrap_or(0) > 0 || line.starts_with("poststop"),
            "{line}"
        );
    }
}

#[test]
fn failing_hook_aborts_create_and_cleans_up() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let mut b = BundleDir::new(&["true"]);
    b.spec["hooks"] = json!({"createRuntime": [{"path": "/bin/false"}]});
    let (code, _, err) = oci.run_bundle(&b);
    assert_ne!(code, 0);
    assert!(err.contains("createRuntime hook /bin/false"), "{err}");
    assert!(
        std::fs::read_dir(oci.state.path())
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn bad_config_names_the_field_and_creates_nothing() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let mut b = BundleDir::new(&["true"]);
    b.spec["process"]["user"]["uid"] = json!("root");
    let (code, _, err) = oci.run_bundle(&b);
    assert_eq!(code, 1);
    assert!(err.contains("process.user.uid"), "{err}");
    let mut b = BundleDir::new(&["true"]);
    b.spec["linux"]["sysctl"] = json!({"vm.swappiness": "1"});
    let (code, _, err) = oci.run_bundle(&b);
    assert_eq!(code, 1);
    assert!(err.contains("not namespaced"), "{err}");
    assert!(
        std::fs::read_dir(oci.state.path())
            .map(|mut d| d.next().is_none())
            .unwrap_or(true)
    );
}

#[test]
fn joining_another_containers_network_namespace_by_path() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let a = BundleDir::new(&["sleep", "60"]);
    let ida = oci.run_d(&a, "neta");
    let pid = oci.state(&ida)["pid"].as_i64().unwrap();
    let mut b = BundleDir::new(&["readlink", "/proc/self/ns/net"]);
    for ns in b.spec["linux"]["namespaces"].as_array_mut().unwrap() {
        if ns["type"] == "network" {
            ns["path"] = json!(format!("/proc/{pid}/ns/net"));
        }
    }
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!(code, 0, "{err}");
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    assert_eq!(out.trim(), theirs.to_str().unwrap());
}

#[test]
fn rlimit_above_the_host_hard_limit_is_a_clear_error() {
    if skip_unless_root() {
        return;
    }
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut cur) };
    let has_sys_resource = caps_has_sys_resource();
    let oci = Oci::new();
    let mut b = BundleDir::new(&["sh", "-c", "ulimit -n"]);
    b.spec["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 512}]);
    let (code, out, err) = oci.run_bundle(&b);
    assert_eq!((code, out.as_str()), (0, "512\n"), "{err}");
    if has_sys_resource {
        return; // this host may raise limits; nothing to refuse
    }
    let mut b = BundleDir::new(&["true"]);
    let want = cur.rlim_max.saturating_mul(2).max(1 << 20);
    b.spec["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": want, "hard": want}]);
    let (code, _, err) = oci.run_bundle(&b);
    assert_ne!(code, 0);
    assert!(
        err.contains("RLIMIT_NOFILE") && err.contains("hint:"),
        "{err}"
    );
}

fn caps_has_sys_resource() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let eff = status.lines().find(|l| l.starts_with("CapEff:")).unwrap();
    let bits = u64::from_str_radix(eff.split_whitespace().nth(1).unwrap(), 16).unwrap();
    bits & (1 << 24) != 0
}

#[test]
fn pause_and_resume_freeze_the_container() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let b = BundleDir::new(&["sleep", "60"]);
    let id = oci.run_d(&b, "pause");
    let out = oci.run(&["pause", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(oci.state(&id)["status"], "paused");
    let out = oci.run(&["resume", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(oci.state(&id)["status"], "running");
    let out = oci.run(&["list", "--format", "json"]);
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], id.as_str());
}

#[test]
fn no_pivot_uses_chroot() {
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let b = BundleDir::new(&["sh", "-c", "echo ok; ls /"]);
    b.save();
    let id = unique_id("nopivot");
    let out = oci.run(&[
        "run",
        "--no-pivot",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok\n"));
}

#[test]
fn invoked_as_berth_runc_it_is_the_oci_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("berth-runc");
    std::os::unix::fs::symlink(crate::common::berth_bin(), &link).unwrap();
    let out = std::process::Command::new(&link)
        .arg("features")
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ociVersionMin"], "1.0.0");
    assert!(
        v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .contains(&json!("user"))
    );
}

#[test]
fn run_forwards_signals_to_the_container() {
    use std::io::{BufRead, BufReader};
    if skip_unless_root() {
        return;
    }
    let oci = Oci::new();
    let b = BundleDir::new(&[
        "sh",
        "-c",
        "trap 'echo got-term; exit 7' TERM; echo ready; sleep 30 & wait",
    ]);
    b.save();
    let id = unique_id("sig");
    let mut child = oci
        .cmd(&["run", "--bundle", b.path().to_str().unwrap(), &id])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(lines.next().unwrap().unwrap(), "got-term");
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(7),
        "berth returns the container's exit code"
    );
}
