//! `--link`: Docker's legacy links on the default bridge (hosts entries, environment
//! variables, Docker's errors), and links as extra names on a user-defined network.

use super::{Root, skip};

/// Serves "hello" on port 8080 until stopped.
const SERVE: &str = "while true; do echo hello | nc -l -p 8080; done";

#[test]
fn links_on_the_default_bridge_follow_docker() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let e = r.fails(
        &["run", "--rm", "--link", "nosuch:db", "alpine:test", "true"],
        125,
    );
    assert!(e.contains("could not get container for nosuch"), "{e}");
    assert!(r.all_ids().is_empty(), "a refused link makes no container");
    r.ok(&[
        "run",
        "-d",
        "--name",
        "db",
        "-e",
        "PASSWORD=secret",
        "--expose",
        "8080",
        "alpine:test",
        "sh",
        "-c",
        SERVE,
    ]);
    let ip = r.inspect("db", "{{.NetworkSettings.IPAddress}}");
    assert!(!ip.is_empty());
    let out = r.ok(&[
        "run",
        "--rm",
        "--name",
        "web",
        "--link",
        "db:sql",
        "alpine:test",
        "sh",
        "-c",
        "grep -w sql /etc/hosts; env | grep ^SQL_ | sort; nc sql 8080 </dev/null",
    ]);
    let hostname = r.inspect("db", "{{.Config.Hostname}}");
    assert!(
        out.contains(&format!("{ip}\tsql {hostname} db")),
        "hosts line missing: {out}"
    );
    for want in [
        format!("SQL_PORT=tcp://{ip}:8080"),
        format!("SQL_PORT_8080_TCP=tcp://{ip}:8080"),
        format!("SQL_PORT_8080_TCP_ADDR={ip}"),
        "SQL_PORT_8080_TCP_PORT=8080".to_owned(),
        "SQL_PORT_8080_TCP_PROTO=tcp".to_owned(),
        "SQL_NAME=/web/sql".to_owned(),
        "SQL_ENV_PASSWORD=secret".to_owned(),
    ] {
        assert!(out.lines().any(|l| l == want), "{want} missing: {out}");
    }
    assert!(!out.contains("SQL_ENV_PATH"), "{out}");
    assert!(
        out.trim_end().ends_with("hello"),
        "nc did not reach db: {out}"
    );

    // Shown as Docker shows it; a stopped target is Docker's start error.
    r.ok(&[
        "create",
        "--name",
        "app",
        "--link",
        "db",
        "alpine:test",
        "true",
    ]);
    assert_eq!(
        r.inspect("app", "{{json .HostConfig.Links}}"),
        "[\"/db:/app/db\"]"
    );
    r.ok(&["stop", "-t", "0", "db"]);
    let e = r.fails(&["start", "app"], 1);
    assert!(
        e.contains("Cannot link to a non running container: /db AS /app/db"),
        "{e}"
    );
    let e = r.fails(
        &[
            "run",
            "--rm",
            "--network",
            "host",
            "--link",
            "db",
            "alpine:test",
            "true",
        ],
        125,
    );
    assert!(
        e.contains("conflicting options: host type networking"),
        "{e}"
    );
}

#[test]
fn links_on_a_user_network_are_aliases() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let net = format!("lnk{}", std::process::id());
    r.ok(&["network", "create", &net]);
    // Links on user networks do not need the target to exist (as in Docker).
    r.ok(&[
        "create",
        "--name",
        "early",
        "--network",
        &net,
        "--link",
        "nosuch:x",
        "alpine:test",
        "true",
    ]);
    r.ok(&[
        "run",
        "-d",
        "--name",
        "db",
        "--network",
        &net,
        "alpine:test",
        "sh",
        "-c",
        SERVE,
    ]);
    let out = r.ok(&[
        "run",
        "--rm",
        "--network",
        &net,
        "--link",
        "db:store",
        "alpine:test",
        "sh",
        "-c",
        "nc store 8080 </dev/null; env | grep -c ^STORE_ || true",
    ]);
    assert_eq!(out.trim(), "hello\n0", "{out}");
    r.ok(&["rm", "-f", "db", "early"]);
    r.ok(&["network", "rm", &net]);
}
