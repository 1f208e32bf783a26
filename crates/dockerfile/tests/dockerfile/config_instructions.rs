//! Instructions that set image configuration or copy files, with their expected
//! structure and expansion.

use std::time::Duration;

use berth_dockerfile::{
    Arg, CommandForm, Healthcheck, Instruction, PortSpec, SourceKind, source_kind,
};

use crate::{body, df, env, kv, one, run_shell, s};

#[test]
fn label_multiple_quoted() {
    let i = one(
        "LABEL org.opencontainers.image.title=\"My App\" version=1.0 \"com.example.key\"='v w'\n",
    );
    assert_eq!(
        i,
        Instruction::Label(vec![
            kv("org.opencontainers.image.title", "\"My App\""),
            kv("version", "1.0"),
            kv("\"com.example.key\"", "'v w'"),
        ])
    );
    assert_eq!(
        i.expand(&env(&[])).unwrap(),
        Instruction::Label(vec![
            kv("org.opencontainers.image.title", "My App"),
            kv("version", "1.0"),
            kv("com.example.key", "v w"),
        ])
    );
}

#[test]
fn label_legacy_form() {
    assert_eq!(
        one("LABEL description  This is my app\n"),
        Instruction::Label(vec![kv("description", "This is my app")])
    );
}

#[test]
fn label_over_continuations() {
    let i = one("LABEL a=1 \\\n      b=\"two words\" \\\n      c=3\n");
    assert_eq!(
        i,
        Instruction::Label(vec![kv("a", "1"), kv("b", "\"two words\""), kv("c", "3")])
    );
}

#[test]
fn env_forms() {
    assert_eq!(
        one("ENV NODE_ENV=production PORT=3000\n"),
        Instruction::Env(vec![kv("NODE_ENV", "production"), kv("PORT", "3000")])
    );
    assert_eq!(
        one("ENV MY_NAME John Doe\n"),
        Instruction::Env(vec![kv("MY_NAME", "John Doe")])
    );
    let i = one("ENV MY_DOG=Rex\\ The\\ Dog MY_CAT=\"fluffy cat\"\n");
    assert_eq!(
        i.expand(&env(&[])).unwrap(),
        Instruction::Env(vec![
            kv("MY_DOG", "Rex The Dog"),
            kv("MY_CAT", "fluffy cat")
        ])
    );
}

#[test]
fn env_values_see_the_environment_before_the_instruction() {
    let i = one("ENV abc=bye def=$abc\n");
    assert_eq!(
        i.expand(&env(&[("abc", "hello")])).unwrap(),
        Instruction::Env(vec![kv("abc", "bye"), kv("def", "hello")])
    );
}

#[test]
fn env_path_extension() {
    let i = one("ENV PATH=/usr/local/go/bin:$PATH\n");
    assert_eq!(
        i.expand(&env(&[("PATH", "/usr/bin:/bin")])).unwrap(),
        Instruction::Env(vec![kv("PATH", "/usr/local/go/bin:/usr/bin:/bin")])
    );
}

#[test]
fn expose_forms() {
    let i = one("EXPOSE 80 443/tcp 53/udp 8000-8010\n");
    assert_eq!(
        i,
        Instruction::Expose(s(&["80", "443/tcp", "53/udp", "8000-8010"]))
    );
    assert_eq!(
        PortSpec::parse("8000-8010/UDP").unwrap(),
        PortSpec {
            start: 8000,
            end: 8010,
            protocol: "udp".into()
        }
    );
    assert!(PortSpec::parse("99999").is_err());
    assert!(PortSpec::parse("80/icmp").is_err());
}

#[test]
fn expose_variable_holding_several_ports() {
    let i = one("EXPOSE $PORTS ${EXTRA:-9090/udp}\n");
    assert_eq!(
        i.expand(&env(&[("PORTS", "80 443")])).unwrap(),
        Instruction::Expose(s(&["80", "443", "9090/udp"]))
    );
    let err = i
        .expand(&env(&[("PORTS", "http")]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "failed to expand \"$PORTS\": invalid port \"http\" in \"http\": expected a number 0-65535"
    );
}

#[test]
fn add_with_all_flags() {
    match one(
        "ADD --chown=app:app --chmod=644 --checksum=sha256:24454f830cdb --link --keep-git-dir=true --exclude=*.md --exclude=docs https://example.com/a.tar.gz /opt/\n",
    ) {
        Instruction::Add(a) => {
            assert_eq!(a.chown.as_deref(), Some("app:app"));
            assert_eq!(a.chmod.as_deref(), Some("644"));
            assert_eq!(a.checksum.as_deref(), Some("sha256:24454f830cdb"));
            assert!(a.link && a.keep_git_dir);
            assert_eq!(a.excludes, s(&["*.md", "docs"]));
            assert_eq!(a.sources, s(&["https://example.com/a.tar.gz"]));
            assert_eq!(a.dest, "/opt/");
            assert_eq!(source_kind(&a.sources[0], &a.heredocs), SourceKind::Url);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn add_source_kinds() {
    assert_eq!(
        source_kind("git@github.com:moby/buildkit.git#v0.10.1", &[]),
        SourceKind::Git
    );
    assert_eq!(
        source_kind("https://github.com/moby/buildkit.git", &[]),
        SourceKind::Git
    );
    assert_eq!(source_kind("HTTP://example.com/file", &[]), SourceKind::Url);
    assert_eq!(source_kind("app.tar.gz", &[]), SourceKind::Local);
    assert_eq!(source_kind("<<EOF", &[]), SourceKind::Local);
}

#[test]
fn add_local_archive_several_sources() {
    match one("ADD rootfs.tar.xz extra/ /\n") {
        Instruction::Add(a) => {
            assert_eq!(
                (a.sources.clone(), a.dest.as_str()),
                (s(&["rootfs.tar.xz", "extra/"]), "/")
            );
            assert!(!a.link);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn copy_from_stage_and_flags() {
    match one(
        "COPY --from=builder --chown=1000:1000 --chmod=0755 --link --parents --exclude=*.test --exclude=tmp/ /go/bin/app ./bin/ /usr/local/bin/\n",
    ) {
        Instruction::Copy(c) => {
            assert_eq!(c.from.as_deref(), Some("builder"));
            assert_eq!(c.chown.as_deref(), Some("1000:1000"));
            assert_eq!(c.chmod.as_deref(), Some("0755"));
            assert!(c.link && c.parents);
            assert_eq!(c.excludes, s(&["*.test", "tmp/"]));
            assert_eq!(c.sources, s(&["/go/bin/app", "./bin/"]));
            assert_eq!(c.dest, "/usr/local/bin/");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn copy_flag_values_may_be_quoted_and_bools_explicit() {
    match one("COPY --chown=\"app:staff\" --link=false a b\n") {
        Instruction::Copy(c) => {
            assert_eq!(c.chown.as_deref(), Some("app:staff"));
            assert!(!c.link);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn copy_json_form_with_spaces() {
    match one("COPY [\"my file.txt\", \"other file\", \"/dest dir/\"]\n") {
        Instruction::Copy(c) => {
            assert_eq!(c.sources, s(&["my file.txt", "other file"]));
            assert_eq!(c.dest, "/dest dir/");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn copy_expansion() {
    let i = one("COPY --chown=${UID}:${GID} --from=$STAGE ${SRC:-src}/ \\$literal $HOME/app/\n");
    match i
        .expand(&env(&[
            ("UID", "10"),
            ("GID", "20"),
            ("STAGE", "build"),
            ("HOME", "/home/u"),
        ]))
        .unwrap()
    {
        Instruction::Copy(c) => {
            assert_eq!(c.chown.as_deref(), Some("10:20"));
            assert_eq!(c.from.as_deref(), Some("build"));
            assert_eq!(c.sources, s(&["src/", "$literal"]));
            assert_eq!(c.dest, "/home/u/app/");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn copy_heredoc_source_is_not_expanded_but_kept() {
    let d = df("FROM alpine\nCOPY <<EOF $DIR/run.sh\n#!/bin/sh\necho $X\nEOF\n");
    match d.stages[0].instructions[0]
        .expand(&env(&[("DIR", "/usr/bin")]))
        .unwrap()
    {
        Instruction::Copy(c) => {
            assert_eq!(c.sources, s(&["<<EOF"]));
            assert_eq!(c.dest, "/usr/bin/run.sh");
            assert_eq!(
                source_kind(&c.sources[0], &c.heredocs),
                SourceKind::Heredoc("EOF".into())
            );
            assert_eq!(c.heredocs[0].content, "#!/bin/sh\necho $X\n");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn volume_forms() {
    assert_eq!(
        one("VOLUME [\"/data\", \"/var/log\"]\n"),
        Instruction::Volume(s(&["/data", "/var/log"]))
    );
    assert_eq!(
        one("VOLUME /data /cache\n"),
        Instruction::Volume(s(&["/data", "/cache"]))
    );
    assert_eq!(
        one("VOLUME $DATA\n")
            .expand(&env(&[("DATA", "/srv/data")]))
            .unwrap(),
        Instruction::Volume(s(&["/srv/data"]))
    );
}

#[test]
fn user_forms() {
    match one("USER app:staff\n") {
        Instruction::User(u) => assert_eq!((u.user(), u.group()), ("app", Some("staff"))),
        other => panic!("{other:?}"),
    }
    match one("USER 1000\n") {
        Instruction::User(u) => assert_eq!((u.user(), u.group()), ("1000", None)),
        other => panic!("{other:?}"),
    }
    match one("USER ${APP_UID}:${APP_GID:-0}\n")
        .expand(&env(&[("APP_UID", "10")]))
        .unwrap()
    {
        Instruction::User(u) => assert_eq!(u.spec, "10:0"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn workdir_and_expansion() {
    let v = body("WORKDIR /usr/src/app\nWORKDIR \"$HOME/my dir\"\n");
    assert_eq!(v[0], Instruction::Workdir("/usr/src/app".into()));
    assert_eq!(
        v[1].expand(&env(&[("HOME", "/root")])).unwrap(),
        Instruction::Workdir("/root/my dir".into())
    );
}

#[test]
fn arg_several_per_line_and_quoted_default() {
    assert_eq!(
        one("ARG USER=app UID=1000 NO_DEFAULT GREETING=\"hello world\"\n"),
        Instruction::Arg(vec![
            Arg {
                name: "USER".into(),
                default: Some("app".into())
            },
            Arg {
                name: "UID".into(),
                default: Some("1000".into())
            },
            Arg {
                name: "NO_DEFAULT".into(),
                default: None
            },
            Arg {
                name: "GREETING".into(),
                default: Some("\"hello world\"".into())
            },
        ])
    );
    assert_eq!(
        one("ARG GREETING=\"hello $who\"\n")
            .expand(&env(&[("who", "you")]))
            .unwrap(),
        Instruction::Arg(vec![Arg {
            name: "GREETING".into(),
            default: Some("hello you".into())
        }])
    );
}

#[test]
fn onbuild_wraps_instructions() {
    let v = body("ONBUILD COPY . /app/src\nONBUILD run make -C /app/src\n");
    match &v[0] {
        Instruction::Onbuild(o) => {
            assert_eq!(o.text, "COPY . /app/src");
            assert_eq!(o.instruction.name(), "COPY");
        }
        other => panic!("{other:?}"),
    }
    match &v[1] {
        Instruction::Onbuild(o) => {
            assert_eq!(o.text, "run make -C /app/src");
            assert_eq!(*o.instruction, run_shell("make -C /app/src"));
        }
        other => panic!("{other:?}"),
    }
    // ONBUILD is not expanded where it is written.
    assert_eq!(v[0].expand(&env(&[])).unwrap(), v[0]);
}

#[test]
fn stopsignal_and_maintainer() {
    let v = body("STOPSIGNAL SIGQUIT\nMAINTAINER Jane Doe <jane@example.com>\n");
    assert_eq!(v[0], Instruction::Stopsignal("SIGQUIT".into()));
    assert_eq!(
        v[1],
        Instruction::Maintainer("Jane Doe <jane@example.com>".into())
    );
    assert_eq!(
        one("STOPSIGNAL $SIG")
            .expand(&env(&[("SIG", "9")]))
            .unwrap(),
        Instruction::Stopsignal("9".into())
    );
}

#[test]
fn healthcheck_none_and_full() {
    assert_eq!(
        one("HEALTHCHECK NONE\n"),
        Instruction::Healthcheck(Healthcheck::None)
    );
    match one(
        "HEALTHCHECK --interval=30s --timeout=3s --start-period=1m30s --start-interval=500ms --retries=3 \\\n  CMD curl -f http://localhost/ || exit 1\n",
    ) {
        Instruction::Healthcheck(Healthcheck::Check(h)) => {
            assert_eq!(h.interval, Some(Duration::from_secs(30)));
            assert_eq!(h.timeout, Some(Duration::from_secs(3)));
            assert_eq!(h.start_period, Some(Duration::from_secs(90)));
            assert_eq!(h.start_interval, Some(Duration::from_millis(500)));
            assert_eq!(h.retries, Some(3));
            assert_eq!(
                h.command,
                CommandForm::Shell("curl -f http://localhost/ || exit 1".into())
            );
        }
        other => panic!("{other:?}"),
    }
    match one("healthcheck cmd [\"/bin/check\", \"--fast\"]\n") {
        Instruction::Healthcheck(Healthcheck::Check(h)) => {
            assert_eq!(h.command, CommandForm::Exec(s(&["/bin/check", "--fast"])));
            assert_eq!(h.interval, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn shell_instruction() {
    assert_eq!(
        one("SHELL [\"powershell\", \"-command\"]\n"),
        Instruction::Shell(s(&["powershell", "-command"]))
    );
    assert_eq!(
        one("SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n"),
        Instruction::Shell(s(&["/bin/bash", "-o", "pipefail", "-c"]))
    );
}

#[test]
fn expands_matches_docker() {
    let v = body(
        "ADD a b\nCOPY a b\nENV a=b\nEXPOSE 1\nLABEL a=b\nSTOPSIGNAL 9\nUSER u\nVOLUME /v\nWORKDIR /w\nARG a\nONBUILD RUN x\nRUN x\nCMD x\nENTRYPOINT x\nSHELL [\"sh\"]\nHEALTHCHECK NONE\nMAINTAINER m\n",
    );
    let expanded: Vec<&str> = v
        .iter()
        .filter(|i| i.expands())
        .map(Instruction::name)
        .collect();
    assert_eq!(
        expanded,
        vec![
            "ADD",
            "COPY",
            "ENV",
            "EXPOSE",
            "LABEL",
            "STOPSIGNAL",
            "USER",
            "VOLUME",
            "WORKDIR",
            "ARG"
        ]
    );
}

#[test]
fn used_vars_per_instruction() {
    let v = body(
        "COPY --chown=$U:${G:-$DEFAULT_G} $SRC /dst\nRUN echo $NOT_COUNTED\nENV A=$B C=${D:+x}\nARG X=${Y?required}\n",
    );
    let names = |i: &Instruction| i.used_vars('\\').unwrap().into_iter().collect::<Vec<_>>();
    assert_eq!(names(&v[0]), s(&["DEFAULT_G", "G", "SRC", "U"]));
    assert!(names(&v[1]).is_empty());
    assert_eq!(names(&v[2]), s(&["B", "D"]));
    assert_eq!(names(&v[3]), s(&["Y"]));
}
