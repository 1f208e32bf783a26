//! One or more cases per instruction, with the expected typed structure.

use berth_dockerfile::{Arg, CommandForm, Instruction, MountType, Network, Security, Sharing};

use crate::{body, df, env, one, run_shell, s};

#[test]
fn from_simple() {
    let d = df("FROM alpine:3.19\n");
    let st = &d.stages[0];
    assert_eq!(
        (st.base.as_str(), st.name.as_deref(), st.platform.as_deref()),
        ("alpine:3.19", None, None)
    );
}

#[test]
fn from_as_is_case_insensitive_and_name_lowercased() {
    let d = df("from node:20-alpine As Build\n");
    assert_eq!(d.stages[0].name.as_deref(), Some("build"));
}

#[test]
fn from_platform_and_digest() {
    let d = df("FROM --platform=$BUILDPLATFORM golang:1.22@sha256:0123abcd AS builder\n");
    let st = &d.stages[0];
    assert_eq!(st.platform.as_deref(), Some("$BUILDPLATFORM"));
    assert_eq!(st.base, "golang:1.22@sha256:0123abcd");
    let e = env(&[("BUILDPLATFORM", "linux/amd64")]);
    match st.instructions.first() {
        None => {}
        Some(_) => panic!("no instructions expected"),
    }
    let from = Instruction::From(st.from.value.clone()).expand(&e).unwrap();
    match from {
        Instruction::From(f) => assert_eq!(f.platform.as_deref(), Some("linux/amd64")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn global_args_before_from() {
    let d = df("ARG VERSION=3.19\nARG BASE\n# comment\nFROM alpine:${VERSION}\nARG VERSION\n");
    assert_eq!(
        d.global_args,
        vec![
            Arg {
                name: "VERSION".into(),
                default: Some("3.19".into())
            },
            Arg {
                name: "BASE".into(),
                default: None
            }
        ]
    );
    assert_eq!(d.stages[0].base, "alpine:${VERSION}");
    assert_eq!(
        d.stages[0].instructions[0].value,
        Instruction::Arg(vec![Arg {
            name: "VERSION".into(),
            default: None
        }])
    );
}

#[test]
fn run_shell_and_exec() {
    assert_eq!(
        one("RUN apk add --no-cache curl\n"),
        run_shell("apk add --no-cache curl")
    );
    match one("RUN [\"/bin/bash\", \"-c\", \"echo hello\"]\n") {
        Instruction::Run(r) => assert_eq!(
            r.command,
            CommandForm::Exec(s(&["/bin/bash", "-c", "echo hello"]))
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn run_invalid_json_falls_back_to_shell() {
    assert_eq!(one("RUN [\"echo\", hi]\n"), run_shell("[\"echo\", hi]"));
    assert_eq!(
        one("RUN ['single', 'quotes']\n"),
        run_shell("['single', 'quotes']")
    );
}

fn run_of(line: &str) -> berth_dockerfile::Run {
    match one(line) {
        Instruction::Run(r) => r,
        other => panic!("{other:?}"),
    }
}

#[test]
fn run_mount_cache() {
    let r = run_of(
        "RUN --mount=type=cache,target=/var/cache/apt,sharing=locked,id=apt apt-get update\n",
    );
    let m = &r.mounts[0];
    assert_eq!(m.kind, MountType::Cache);
    assert_eq!(m.target.as_deref(), Some("/var/cache/apt"));
    assert_eq!(m.sharing, Sharing::Locked);
    assert_eq!(m.id.as_deref(), Some("apt"));
    assert!(!m.readonly);
    assert_eq!(r.command, CommandForm::Shell("apt-get update".into()));
}

#[test]
fn run_mount_cache_with_mode_uid_gid() {
    let m = &run_of("RUN --mount=type=cache,dst=/root/.npm,mode=0755,uid=1000,gid=1000,sharing=private npm ci\n").mounts[0];
    assert_eq!(
        (m.mode, m.uid, m.gid, m.sharing),
        (Some(0o755), Some(1000), Some(1000), Sharing::Private)
    );
    assert_eq!(m.target.as_deref(), Some("/root/.npm"));
}

#[test]
fn run_mount_bind_default_readonly_and_rw() {
    let r = run_of(
        "RUN --mount=target=/src,source=app,from=builder --mount=type=bind,destination=/w,rw make\n",
    );
    assert_eq!(r.mounts.len(), 2);
    let (a, b) = (&r.mounts[0], &r.mounts[1]);
    assert_eq!(a.kind, MountType::Bind);
    assert!(a.readonly);
    assert_eq!(
        (a.source.as_deref(), a.from.as_deref()),
        (Some("app"), Some("builder"))
    );
    assert!(!b.readonly);
    assert_eq!(b.target.as_deref(), Some("/w"));
}

#[test]
fn run_mount_secret_and_ssh() {
    let r = run_of(
        "RUN --mount=type=secret,id=npmrc,target=/root/.npmrc,required=true,mode=0400 --mount=type=secret,id=TOKEN,env=TOKEN --mount=type=ssh,required git clone x\n",
    );
    let sec = &r.mounts[0];
    assert_eq!(sec.kind, MountType::Secret);
    assert_eq!(
        (sec.id.as_deref(), sec.required, sec.mode),
        (Some("npmrc"), true, Some(0o400))
    );
    assert_eq!(r.mounts[1].env.as_deref(), Some("TOKEN"));
    assert_eq!(r.mounts[2].kind, MountType::Ssh);
    assert!(r.mounts[2].required);
    assert_eq!(r.mounts[2].target, None);
}

#[test]
fn run_mount_tmpfs_size() {
    let m = &run_of("RUN --mount=type=tmpfs,target=/tmp,size=64m true\n").mounts[0];
    assert_eq!((m.kind, m.size), (MountType::Tmpfs, Some(64 * 1024 * 1024)));
}

#[test]
fn run_network_and_security() {
    let r = run_of("RUN --network=none --security=insecure make test\n");
    assert_eq!(
        (r.network, r.security),
        (Some(Network::None), Some(Security::Insecure))
    );
    assert_eq!(
        run_of("RUN --network=host true").network,
        Some(Network::Host)
    );
    assert_eq!(
        run_of("RUN --network=default true").network,
        Some(Network::Default)
    );
}

#[test]
fn run_mount_values_expand_but_command_does_not() {
    let d = df("FROM alpine\nRUN --mount=type=cache,target=$CACHE echo $CACHE\n");
    let e = env(&[("CACHE", "/c")]);
    match d.stages[0].instructions[0].expand(&e).unwrap() {
        Instruction::Run(r) => {
            assert_eq!(r.mounts[0].target.as_deref(), Some("/c"));
            assert_eq!(r.command, CommandForm::Shell("echo $CACHE".into()));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cmd_and_entrypoint_forms() {
    let v = body(
        "ENTRYPOINT [\"docker-entrypoint.sh\"]\nCMD [\"node\", \"server.js\"]\nCMD nginx -g 'daemon off;'\n",
    );
    assert_eq!(
        v[0],
        Instruction::Entrypoint(CommandForm::Exec(s(&["docker-entrypoint.sh"])))
    );
    assert_eq!(
        v[1],
        Instruction::Cmd(CommandForm::Exec(s(&["node", "server.js"])))
    );
    assert_eq!(
        v[2],
        Instruction::Cmd(CommandForm::Shell("nginx -g 'daemon off;'".into()))
    );
}

#[test]
fn exec_form_json_escapes() {
    assert_eq!(
        one("CMD [\"echo\", \"a \\\"quoted\\\" \\u00e9\", \"\"]\n"),
        Instruction::Cmd(CommandForm::Exec(s(&["echo", "a \"quoted\" é", ""])))
    );
    assert_eq!(one("CMD []\n"), Instruction::Cmd(CommandForm::Exec(vec![])));
}

#[test]
fn mount_defaults_follow_docker() {
    let r = run_of(
        "RUN --mount=type=cache,target=/root/.cache --mount=type=secret,target=/etc/token --mount=type=secret,id=aws --mount=type=ssh --mount=type=ssh,id=gh,target=/ssh true\n",
    );
    let m = &r.mounts;
    assert_eq!(m[0].id_or_default().as_deref(), Some("/root/.cache"));
    assert_eq!(m[1].id_or_default().as_deref(), Some("token"));
    assert_eq!(m[1].target_or_default(0).as_deref(), Some("/etc/token"));
    assert_eq!(
        m[2].target_or_default(0).as_deref(),
        Some("/run/secrets/aws")
    );
    assert_eq!(m[3].id_or_default().as_deref(), Some("default"));
    assert_eq!(
        m[3].target_or_default(0).as_deref(),
        Some("/run/buildkit/ssh_agent.0")
    );
    assert_eq!(
        (
            m[4].id_or_default().as_deref(),
            m[4].target_or_default(1).as_deref()
        ),
        (Some("gh"), Some("/ssh"))
    );
    assert_eq!(
        crate::err("FROM alpine\nRUN --mount=type=secret,required true\n"),
        "Dockerfile:2:5: bad value for --mount: \"type=secret,required\": expected an id=<secret> or a target=<path> for a secret"
    );
}
