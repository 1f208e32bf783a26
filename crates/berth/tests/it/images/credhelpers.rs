//! Docker credential helpers (`credsStore`, `credHelpers` in config.json) used by
//! login, push, pull and logout, with a small shell-script helper on `PATH` that keeps
//! each credential in a file and logs every call.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use crate::common::registry::{Berth, Registry, available, shared_images};

/// The helper `docker-credential-berthtest`: credentials as files under its store
/// directory (named after the server), every operation appended to `calls.log`.
struct Helper {
    dir: tempfile::TempDir,
}

impl Helper {
    fn new() -> Helper {
        let dir = tempfile::Builder::new()
            .prefix("berth-credhelper-")
            .tempdir()
            .unwrap();
        let store = dir.path().join("store");
        fs_err::create_dir_all(dir.path().join("bin")).unwrap();
        fs_err::create_dir_all(&store).unwrap();
        let script = format!(
            r#"#!/bin/sh
store={store}
echo "$1" >> "$store/calls.log"
key() {{ printf %s "$1" | tr '/:' '__'; }}
case "$1" in
get)
  f="$store/$(key "$(cat)")"
  [ -f "$f" ] || {{ echo "credentials not found in native keychain"; exit 1; }}
  cat "$f" ;;
store)
  input=$(cat)
  server=$(printf %s "$input" | sed 's/.*"ServerURL":"\([^"]*\)".*/\1/')
  printf %s "$input" > "$store/$(key "$server")" ;;
erase)
  f="$store/$(key "$(cat)")"
  [ -f "$f" ] || {{ echo "credentials not found in native keychain"; exit 1; }}
  rm "$f" ;;
*) echo "unknown operation $1" >&2; exit 2 ;;
esac
"#,
            store = store.display()
        );
        let bin = dir.path().join("bin/docker-credential-berthtest");
        fs_err::write(&bin, script).unwrap();
        fs_err::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        Helper { dir }
    }

    fn path_env(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// The file holding `server`'s credential.
    fn entry(&self, server: &str) -> PathBuf {
        self.dir
            .path()
            .join("store")
            .join(server.replace(['/', ':'], "_"))
    }

    fn calls(&self) -> Vec<String> {
        fs_err::read_to_string(self.dir.path().join("store/calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn reset_calls(&self) {
        let _ = fs_err::remove_file(self.dir.path().join("store/calls.log"));
    }
}

/// Runs berth with the helper on `PATH` and `stdin` fed in.
fn run(b: &Berth, h: &Helper, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = b
        .cmd(args)
        .env("PATH", h.path_env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn ok(b: &Berth, h: &Helper, args: &[&str]) -> String {
    let out = run(b, h, args, b"");
    assert!(
        out.status.success(),
        "berth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write_config(b: &Berth, doc: &serde_json::Value) {
    fs_err::write(b.docker_config.path().join("config.json"), doc.to_string()).unwrap();
}

fn config(b: &Berth) -> serde_json::Value {
    serde_json::from_str(
        &fs_err::read_to_string(b.docker_config.path().join("config.json")).unwrap(),
    )
    .unwrap()
}

fn alpine(images: &Path) -> String {
    images
        .join("alpine-3.10.9/alpine-minirootfs-3.10.9-x86_64.tar.gz")
        .display()
        .to_string()
}

#[test]
fn creds_store_serves_login_push_pull_and_logout() {
    if !available() {
        return;
    }
    let Some(images) = shared_images() else {
        return;
    };
    let reg = Registry::start(&[("alice", "s3cret")]);
    let host = reg.host();
    let h = Helper::new();
    let b = Berth::new();
    write_config(
        &b,
        &serde_json::json!({"credsStore": "berthtest", "psFormat": "x"}),
    );

    let out = run(
        &b,
        &h,
        &["login", "-u", "alice", "--password-stdin", &host],
        b"s3cret\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(h.calls(), ["store"]);
    let stored: serde_json::Value =
        serde_json::from_slice(&fs_err::read(h.entry(&host)).unwrap()).unwrap();
    assert_eq!(
        stored,
        serde_json::json!({"ServerURL": host, "Username": "alice", "Secret": "s3cret"})
    );
    // The file names the registry but holds no secret; other fields are kept.
    let cfg = config(&b);
    assert_eq!(cfg["auths"][&host], serde_json::json!({}));
    assert_eq!(cfg["psFormat"], "x");
    assert!(!cfg.to_string().contains("s3cret"));

    // push and pull authenticate with what the helper returns.
    h.reset_calls();
    let name = format!("{host}/private/alpine:3.10");
    ok(&b, &h, &["import", &alpine(&images), &name]);
    ok(&b, &h, &["push", &name]);
    assert!(h.calls().iter().all(|c| c == "get"), "{:?}", h.calls());
    assert!(!h.calls().is_empty(), "push never asked the helper");
    assert!(
        h.calls().len() <= 2,
        "the helper ran for every request: {:?}",
        h.calls()
    );
    ok(&b, &h, &["rmi", &name]);
    h.reset_calls();
    ok(&b, &h, &["pull", &name]);
    assert_eq!(h.calls(), ["get"]);

    // logout erases in the helper and in the file; a pull is then refused.
    h.reset_calls();
    assert_eq!(
        ok(&b, &h, &["logout", &host]),
        format!("Removing login credentials for {host}\n")
    );
    assert_eq!(h.calls(), ["erase"]);
    assert!(!h.entry(&host).exists());
    assert!(config(&b)["auths"].get(&host).is_none());
    ok(&b, &h, &["rmi", &name]);
    let out = run(&b, &h, &["pull", &name], b"");
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unauthorized") || err.contains("authentication"),
        "{err}"
    );
}

#[test]
fn cred_helpers_pick_a_helper_per_registry() {
    if !available() {
        return;
    }
    let Some(images) = shared_images() else {
        return;
    };
    let reg = Registry::start(&[("bob", "hunter2")]);
    let host = reg.host();
    let h = Helper::new();
    // The helper already holds bob's password (another tool stored it).
    fs_err::write(
        h.entry(&host),
        format!(r#"{{"ServerURL":"{host}","Username":"bob","Secret":"hunter2"}}"#),
    )
    .unwrap();
    let b = Berth::new();
    write_config(
        &b,
        &serde_json::json!({"credHelpers": {&host: "berthtest"}}),
    );
    let name = format!("{host}/team/alpine:1");
    ok(&b, &h, &["import", &alpine(&images), &name]);
    ok(&b, &h, &["push", &name]);
    assert!(h.calls().contains(&"get".to_owned()), "{:?}", h.calls());
    ok(&b, &h, &["rmi", &name]);
    ok(&b, &h, &["pull", &name]);

    // A registry whose helper is missing: a clear error naming the program.
    let c = Berth::new();
    write_config(
        &c,
        &serde_json::json!({"credHelpers": {&host: "nosuchhelper"}}),
    );
    let out = run(&c, &h, &["pull", &name], b"");
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("docker-credential-nosuchhelper") && err.contains("hint:"),
        "{err}"
    );
    assert_eq!(c.ok(&["images", "-q"]), "");
}
