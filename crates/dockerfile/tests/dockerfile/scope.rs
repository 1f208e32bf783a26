//! ARG/ENV scoping, with the examples of Docker's Dockerfile reference.

use std::collections::HashMap;

use berth_dockerfile::{Instruction, Scope};

use crate::{df, s};

fn args(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect()
}

/// Walks stage `stage` and returns each instruction expanded, plus the final scope.
fn walk(
    src: &str,
    stage: usize,
    build_args: &HashMap<String, String>,
) -> (Vec<Instruction>, Scope) {
    let d = df(src);
    let mut scope = Scope::new(&d, build_args, Vec::new()).expect("scope");
    let out = d.stages[stage]
        .instructions
        .iter()
        .map(|i| scope.step(i, build_args).expect("step"))
        .collect();
    (out, scope)
}

fn users(v: &[Instruction]) -> Vec<String> {
    v.iter()
        .filter_map(|i| match i {
            Instruction::User(u) => Some(u.spec.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn arg_is_visible_only_after_its_declaration() {
    let src = "FROM busybox\nUSER ${username:-some_user}\nARG username\nUSER $username\n";
    let (v, _) = walk(src, 0, &args(&[("username", "what_user")]));
    assert_eq!(users(&v), s(&["some_user", "what_user"]));
}

#[test]
fn env_overrides_arg_of_the_same_name() {
    let src = "FROM ubuntu\nARG CONT_IMG_VER\nENV CONT_IMG_VER=v1.0.0\nUSER $CONT_IMG_VER\n";
    let (v, scope) = walk(src, 0, &args(&[("CONT_IMG_VER", "v2.0.1")]));
    assert_eq!(users(&v), s(&["v1.0.0"]));
    assert_eq!(
        scope.args(),
        vec![("CONT_IMG_VER".to_string(), "v2.0.1".to_string())]
    );
}

#[test]
fn env_defaulting_from_an_arg() {
    let src = "FROM ubuntu\nARG CONT_IMG_VER\nENV CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0}\nUSER $CONT_IMG_VER\n";
    let (v, _) = walk(src, 0, &args(&[("CONT_IMG_VER", "v2.0.1")]));
    assert_eq!(users(&v), s(&["v2.0.1"]));
    let (v, scope) = walk(src, 0, &args(&[]));
    assert_eq!(users(&v), s(&["v1.0.0"]));
    assert_eq!(
        scope.env(),
        vec![("CONT_IMG_VER".to_string(), "v1.0.0".to_string())]
    );
}

#[test]
fn global_arg_needs_redeclaring_in_the_stage() {
    let src =
        "ARG VERSION=latest\nFROM busybox:$VERSION\nUSER x$VERSION\nARG VERSION\nUSER $VERSION\n";
    let (v, _) = walk(src, 0, &args(&[]));
    assert_eq!(users(&v), s(&["x", "latest"]));
    let (v, _) = walk(src, 0, &args(&[("VERSION", "1.36")]));
    assert_eq!(users(&v), s(&["x", "1.36"]));
}

#[test]
fn arg_scope_ends_with_its_stage() {
    let src = "FROM busybox\nARG SETTINGS=a\nUSER $SETTINGS\nFROM busybox\nUSER x${SETTINGS}\n";
    let b = args(&[]);
    assert_eq!(users(&walk(src, 0, &b).0), s(&["a"]));
    assert_eq!(users(&walk(src, 1, &b).0), s(&["x"]));
}

#[test]
fn build_arg_overrides_default_and_undeclared_build_args_stay_hidden() {
    let src = "FROM busybox\nARG A=default\nUSER $A:${B:-none}\n";
    let (v, scope) = walk(src, 0, &args(&[("A", "given"), ("B", "hidden")]));
    assert_eq!(users(&v), s(&["given:none"]));
    assert_eq!(scope.args(), vec![("A".to_string(), "given".to_string())]);
}

#[test]
fn proxy_args_need_no_declaration() {
    let src = "FROM busybox\nUSER ${HTTP_PROXY}\n";
    let (v, scope) = walk(src, 0, &args(&[("HTTP_PROXY", "http://proxy:3128")]));
    assert_eq!(users(&v), s(&["http://proxy:3128"]));
    assert!(scope.args().is_empty());
}

#[test]
fn platform_args_work_in_from_and_after_declaration() {
    let src = "FROM --platform=$BUILDPLATFORM golang AS build\nUSER x$TARGETARCH\nARG TARGETARCH\nUSER $TARGETARCH\n";
    let b = args(&[("BUILDPLATFORM", "linux/amd64"), ("TARGETARCH", "arm64")]);
    let d = df(src);
    let global = d.global_env(&b).unwrap();
    let from = Instruction::From(d.stages[0].from.value.clone())
        .expand(&global)
        .unwrap();
    match from {
        Instruction::From(f) => assert_eq!(f.platform.as_deref(), Some("linux/amd64")),
        other => panic!("{other:?}"),
    }
    assert_eq!(users(&walk(src, 0, &b).0), s(&["x", "arm64"]));
}

#[test]
fn base_image_env_is_visible() {
    let d = df("FROM node\nWORKDIR $HOME/app\nENV PATH=$PATH:/app/bin\n");
    let b = args(&[]);
    let base = vec![
        ("HOME".to_string(), "/root".to_string()),
        ("PATH".to_string(), "/usr/bin".to_string()),
    ];
    let mut scope = Scope::new(&d, &b, base).unwrap();
    let i = &d.stages[0].instructions;
    assert_eq!(
        scope.step(&i[0], &b).unwrap(),
        Instruction::Workdir("/root/app".into())
    );
    scope.step(&i[1], &b).unwrap();
    assert_eq!(
        scope.env(),
        vec![
            ("HOME".to_string(), "/root".to_string()),
            ("PATH".to_string(), "/usr/bin:/app/bin".to_string())
        ]
    );
}
