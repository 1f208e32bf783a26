//! Larger real-world-style Dockerfiles under `tests/fixtures/`, each with its
//! expected structure.

use std::collections::HashMap;
use std::time::Duration;

use berth_dockerfile::{
    Arg, CommandForm, Dockerfile, Healthcheck, Instruction, MountType, Sharing, StageRef, parse,
};

use crate::s;

fn fixture(name: &str, src: &str) -> Dockerfile {
    parse(src, name).unwrap_or_else(|e| panic!("{e}"))
}

fn names(d: &Dockerfile, stage: usize) -> Vec<&'static str> {
    d.stages[stage]
        .instructions
        .iter()
        .map(|i| i.value.name())
        .collect()
}

fn no_args() -> HashMap<String, String> {
    HashMap::new()
}

#[test]
fn node_app() {
    let d = fixture(
        "node.Dockerfile",
        include_str!("../fixtures/node.Dockerfile"),
    );
    assert_eq!(d.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(
        d.global_args,
        vec![Arg {
            name: "NODE_VERSION".into(),
            default: Some("20.11.1".into())
        }]
    );
    let stage_names: Vec<_> = d
        .stages
        .iter()
        .map(|s| s.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(stage_names, s(&["base", "deps", "runtime"]));
    assert_eq!(names(&d, 0), vec!["WORKDIR", "ENV", "RUN"]);
    assert_eq!(names(&d, 1), vec!["COPY", "RUN"]);
    assert_eq!(
        names(&d, 2),
        vec!["COPY", "COPY", "USER", "EXPOSE", "HEALTHCHECK", "CMD"]
    );
    let env = d.global_env(&no_args()).unwrap();
    assert_eq!(
        d.base_of(0, &env).unwrap(),
        StageRef::Image("node:20.11.1-alpine".into())
    );
    match &d.stages[1].instructions[1].value {
        Instruction::Run(r) => {
            assert_eq!(r.mounts[0].kind, MountType::Cache);
            assert_eq!(r.command, CommandForm::Shell("npm ci --omit=dev".into()));
        }
        other => panic!("{other:?}"),
    }
    let hc = &d.stages[2].instructions[4];
    assert_eq!((hc.at.line, hc.end_line), (22, 23));
    match &hc.value {
        Instruction::Healthcheck(Healthcheck::Check(h)) => {
            assert_eq!(h.interval, Some(Duration::from_secs(30)));
            assert_eq!(
                h.command,
                CommandForm::Shell("wget -qO- http://localhost:3000/health || exit 1".into())
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        d.stages_for_target(None, &no_args()).unwrap(),
        vec![0, 1, 2]
    );
    assert_eq!(
        d.stages_for_target(Some("deps"), &no_args()).unwrap(),
        vec![0, 1]
    );
}

#[test]
fn python_app() {
    let d = fixture(
        "python.Dockerfile",
        include_str!("../fixtures/python.Dockerfile"),
    );
    assert_eq!(d.stages.len(), 2);
    assert_eq!(d.stages[1].name, None);
    assert_eq!(names(&d, 0), vec!["ENV", "WORKDIR", "RUN", "COPY", "RUN"]);
    match &d.stages[0].instructions[2].value {
        Instruction::Run(r) => assert_eq!(
            r.command,
            CommandForm::Shell("apt-get update  && apt-get install -y --no-install-recommends build-essential gcc  && rm -rf /var/lib/apt/lists/*".into())
        ),
        other => panic!("{other:?}"),
    }
    match &d.stages[0].instructions[4].value {
        Instruction::Run(r) => assert_eq!(r.mounts[0].sharing, Sharing::Locked),
        other => panic!("{other:?}"),
    }
    let label = d.stages[1].instructions[0].expand(&no_args()).unwrap();
    match label {
        Instruction::Label(kvs) => {
            assert_eq!(kvs.len(), 3);
            assert_eq!(kvs[0].value, "inventory api");
            assert_eq!(kvs[2].key, "maintainer");
        }
        other => panic!("{other:?}"),
    }
    let copy_conf = &d.stages[1].instructions[6];
    match &copy_conf.value {
        Instruction::Copy(c) => {
            assert_eq!(c.dest, "/etc/gunicorn.conf.py");
            assert_eq!(
                c.heredocs[0].content,
                "bind = \"0.0.0.0:8000\"\nworkers = 4\n"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((copy_conf.at.line, copy_conf.end_line), (24, 27));
    assert_eq!(
        names(&d, 1)[7..],
        ["USER", "EXPOSE", "STOPSIGNAL", "ENTRYPOINT", "CMD"]
    );
}

#[test]
fn go_app_cross_compiled() {
    let d = fixture("go.Dockerfile", include_str!("../fixtures/go.Dockerfile"));
    assert_eq!(d.directives.check.as_deref(), Some("error=true"));
    assert_eq!(d.stages[0].platform.as_deref(), Some("$BUILDPLATFORM"));
    assert_eq!(
        d.stages[0].instructions[0].value,
        Instruction::Arg(vec![
            Arg {
                name: "TARGETOS".into(),
                default: None
            },
            Arg {
                name: "TARGETARCH".into(),
                default: None
            }
        ])
    );
    match &d.stages[0].instructions[2].value {
        Instruction::Run(r) => {
            assert_eq!(r.mounts.len(), 3);
            assert_eq!(r.mounts[1].source.as_deref(), Some("go.sum"));
            assert!(r.mounts[1].readonly);
            assert_eq!(r.command, CommandForm::Shell("go mod download -x".into()));
        }
        other => panic!("{other:?}"),
    }
    match &d.stages[1].instructions[2].value {
        Instruction::Run(r) => assert!(
            matches!(&r.command, CommandForm::Shell(c) if c.contains("--uid \"${UID}\" appuser"))
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        d.stages[1].instructions.last().map(|i| i.value.clone()),
        Some(Instruction::Entrypoint(CommandForm::Exec(s(&[
            "/bin/server"
        ]))))
    );
    assert_eq!(d.stages_for_target(None, &no_args()).unwrap(), vec![0, 1]);
}

#[test]
fn rust_app_with_cargo_chef() {
    let d = fixture(
        "rust.Dockerfile",
        include_str!("../fixtures/rust.Dockerfile"),
    );
    assert_eq!(d.stages.len(), 4);
    assert_eq!(
        d.stages_for_target(Some("planner"), &no_args()).unwrap(),
        vec![0, 1]
    );
    assert_eq!(
        d.stages_for_target(None, &no_args()).unwrap(),
        vec![0, 1, 2, 3]
    );
    match &d.stages[2].instructions[1].value {
        Instruction::Run(r) => {
            assert_eq!(r.mounts[0].id.as_deref(), Some("cargo-registry"));
            assert_eq!(r.mounts[1].sharing, Sharing::Private);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        d.stages[3].instructions[1].value,
        Instruction::Volume(s(&["/data"]))
    );
}

#[test]
fn windows_backtick_escape_and_crlf() {
    let d = fixture(
        "windows.Dockerfile",
        include_str!("../fixtures/windows.Dockerfile"),
    );
    assert_eq!(d.directives.escape, '`');
    let i = &d.stages[0].instructions;
    assert_eq!(
        names(&d, 0),
        vec!["SHELL", "RUN", "WORKDIR", "COPY", "ENV", "USER", "CMD"]
    );
    assert_eq!(
        i[0].value,
        Instruction::Shell(s(&[
            "powershell",
            "-Command",
            "$ErrorActionPreference = 'Stop';"
        ]))
    );
    match &i[1].value {
        Instruction::Run(r) => assert_eq!(
            r.command,
            CommandForm::Shell(
                "New-Item -ItemType Directory C:\\app ;     Write-Host \"created\"".into()
            )
        ),
        other => panic!("{other:?}"),
    }
    match i[3].expand(&no_args()).unwrap() {
        Instruction::Copy(c) => assert_eq!(
            (c.sources, c.dest),
            (s(&["app\\"]), "C:\\app\\".to_string())
        ),
        other => panic!("{other:?}"),
    }
    match i[4].expand(&no_args()).unwrap() {
        Instruction::Env(kv) => assert_eq!(kv[0].value, "C:\\app"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        i[6].value,
        Instruction::Cmd(CommandForm::Exec(s(&["C:\\app\\server.exe"])))
    );
}

#[test]
fn heredoc_forms() {
    let d = fixture(
        "heredocs.Dockerfile",
        include_str!("../fixtures/heredocs.Dockerfile"),
    );
    let i = &d.stages[0].instructions;
    assert_eq!(
        names(&d, 0),
        vec!["ARG", "RUN", "RUN", "COPY", "RUN", "RUN"]
    );
    match &i[1].value {
        Instruction::Run(r) => {
            assert_eq!(r.command, CommandForm::Shell("<<EOT bash".into()));
            assert_eq!(
                r.heredocs[0].content,
                "  set -eux\n  apt-get update\n  apt-get install -y curl\n"
            );
        }
        other => panic!("{other:?}"),
    }
    match &i[2].value {
        Instruction::Run(r) => {
            let h = &r.heredocs[0];
            assert_eq!(
                (h.name.as_str(), h.expand, h.strip_tabs),
                ("SCRIPT", false, true)
            );
            assert_eq!(
                h.content,
                "echo \"$GREETING stays literal for the builder\"\n"
            );
        }
        other => panic!("{other:?}"),
    }
    match i[3].expand(&no_args()).unwrap() {
        Instruction::Copy(c) => {
            assert_eq!(c.sources, s(&["<<index.html", "<<robots.txt"]));
            assert_eq!(c.dest, "/usr/share/www/");
            assert_eq!(
                c.heredocs[0].content,
                "<html><body>$GREETING</body></html>\n"
            );
            assert!(c.heredocs[0].expand);
            assert_eq!(c.heredocs[1].content, "User-agent: *\n");
        }
        other => panic!("{other:?}"),
    }
    match &i[5].value {
        Instruction::Run(r) => {
            assert_eq!(r.heredocs.len(), 2);
            assert_eq!(r.heredocs[1].content, "second\n");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((i[5].at.line, i[5].end_line), (21, 25));
}

#[test]
fn onbuild_template() {
    let d = fixture(
        "onbuild.Dockerfile",
        include_str!("../fixtures/onbuild.Dockerfile"),
    );
    let triggers: Vec<String> = d.stages[0]
        .instructions
        .iter()
        .filter_map(|i| match &i.value {
            Instruction::Onbuild(o) => Some(o.text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        triggers,
        s(&[
            "COPY package*.json ./",
            "RUN npm install",
            "COPY . .",
            "ENV BUILT_FROM=template"
        ])
    );
    assert!(names(&d, 0).contains(&"MAINTAINER"));
    assert!(
        d.stages[0]
            .instructions
            .iter()
            .any(|i| i.value == Instruction::Healthcheck(Healthcheck::None))
    );
    assert_eq!(
        d.stages[0].instructions.last().map(|i| i.text.as_str()),
        Some("CMD npm start")
    );
}

#[test]
fn weird_spacing_and_case() {
    let d = fixture(
        "weird.Dockerfile",
        include_str!("../fixtures/weird.Dockerfile"),
    );
    assert_eq!(d.stages[0].name.as_deref(), Some("base"));
    assert_eq!(
        (d.stages[0].from.at.line, d.stages[0].from.at.column),
        (3, 2)
    );
    let i = &d.stages[0].instructions;
    assert_eq!(
        names(&d, 0),
        vec![
            "RUN",
            "COPY",
            "ENV",
            "EXPOSE",
            "ENTRYPOINT",
            "CMD",
            "RUN",
            "ARG",
            "VOLUME"
        ]
    );
    match &i[0].value {
        Instruction::Run(r) => assert_eq!(
            r.command,
            CommandForm::Shell("echo \"spaces\"    &&    \t  echo \"tabs\"".into())
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!((i[0].at.line, i[0].at.column, i[0].end_line), (4, 4, 7));
    match &i[1].value {
        Instruction::Copy(c) => assert_eq!(
            (c.sources.clone(), c.dest.as_str()),
            (s(&["a b.txt"]), "/dest/")
        ),
        other => panic!("{other:?}"),
    }
    match i[2].expand(&no_args()).unwrap() {
        Instruction::Env(kv) => {
            let pairs: Vec<(String, String)> = kv.into_iter().map(|k| (k.key, k.value)).collect();
            assert_eq!(
                pairs,
                vec![
                    ("A".into(), "1".into()),
                    ("B".into(), "two words".into()),
                    ("C".into(), "three words".into())
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(i[3].value, Instruction::Expose(s(&["80/tcp", "443"])));
    assert_eq!(
        i[5].value,
        Instruction::Cmd(CommandForm::Exec(s(&["echo", "ok"])))
    );
    match &i[6].value {
        Instruction::Run(r) => {
            assert_eq!(r.command, CommandForm::Shell("[\"echo\", not-json]".into()))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(i[8].value, Instruction::Volume(s(&["/v1", "/v2"])));
}
