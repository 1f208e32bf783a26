//! `--link`: Docker's legacy links on the default bridge (hosts entries, environment
//! variables, Docker's errors, parents' hosts entries following a restarted target),
//! and links as extra names on a user-defined network, answered by its resolver to the
//! linking container alone.

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

#[test]
fn link_aliases_resolve_only_for_the_linking_container() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let net = format!("lnd{}", std::process::id());
    r.ok(&["network", "create", &net]);
    for (name, link) in [("db", None), ("other", None), ("web", Some("db:sql"))] {
        let mut args = vec!["run", "-d", "--name", name, "--network", &net];
        if let Some(l) = link {
            args.extend(["--link", l]);
        }
        args.extend(["alpine:test", "sleep", "300"]);
        r.ok(&args);
    }
    let db_ip = r.inspect(
        "db",
        &format!("{{{{.NetworkSettings.Networks.{net}.IPAddress}}}}"),
    );
    assert!(!db_ip.is_empty());
    // A link on a user network gets no /etc/hosts line (as in Docker), so whatever
    // Alpine's nslookup (musl's resolver) finds comes from the network's resolver.
    let hosts = r.ok(&["exec", "web", "cat", "/etc/hosts"]);
    assert!(!hosts.contains("sql"), "{hosts}");
    let lookup = |ctr: &str| {
        let o = r.run(&["exec", ctr, "nslookup", "sql"]);
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (found, out) = lookup("web");
    assert!(
        found && out.contains(&format!("Address 1: {db_ip}")),
        "web declared the link and must find sql at {db_ip}: {out}"
    );
    let (found, out) = lookup("other");
    assert!(
        !found && !out.contains(&db_ip),
        "other has no link; sql must not resolve for it: {out}"
    );
    // The name follows db: once it is gone from the network, web's question fails too.
    r.ok(&["rm", "-f", "db"]);
    let (found, out) = lookup("web");
    assert!(!found, "db left the network, sql must not resolve: {out}");
}

#[test]
fn a_restarted_link_target_updates_the_hosts_of_running_parents() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&["run", "-d", "--name", "db", "alpine:test", "sleep", "300"]);
    let old = r.inspect("db", "{{.NetworkSettings.IPAddress}}");
    let hostname = r.inspect("db", "{{.Config.Hostname}}");
    r.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--link",
        "db:sql",
        "alpine:test",
        "sleep",
        "300",
    ]);
    let line = |ip: &str| format!("{ip}\tsql {hostname} db\n");
    let hosts = r.ok(&["exec", "web", "cat", "/etc/hosts"]);
    assert!(hosts.contains(&line(&old)), "{hosts}");
    r.ok(&["stop", "-t", "0", "db"]);
    r.ok(&["start", "db"]);
    let new = r.inspect("db", "{{.NetworkSettings.IPAddress}}");
    // berth's IPAM hands addresses out in turn through the /16 (as Docker's does), so
    // the restart gets one after web's, never db's old one.
    assert_ne!(new, old, "db must come back at a new address");
    // Read from inside web: its /etc/hosts is a bind mount, so this also proves the
    // file was rewritten in place rather than replaced.
    let hosts = r.ok(&["exec", "web", "cat", "/etc/hosts"]);
    assert!(
        hosts.contains(&line(&new)) && !hosts.contains(&format!("{old}\t")),
        "web's hosts must point sql at {new}: {hosts}"
    );
}
