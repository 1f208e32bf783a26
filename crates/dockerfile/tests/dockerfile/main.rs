//! Integration tests for berth-dockerfile: a corpus of Dockerfile syntax with the
//! expected structure, expansion and .dockerignore tables, error texts, fixtures.

mod config_instructions;
mod errors;
mod expand_table;
mod fixtures;
mod ignore_table;
mod instructions;
mod robustness;
mod scope;
mod stages;
mod syntax;

use std::collections::HashMap;

use berth_dockerfile::{CommandForm, Dockerfile, Instruction, KeyValue, Run, parse};

/// Parses or panics with the error text.
pub fn df(src: &str) -> Dockerfile {
    match parse(src, "Dockerfile") {
        Ok(d) => d,
        Err(e) => panic!("parse failed: {e}\n--- source ---\n{src}"),
    }
}

/// The instructions of the only stage of `FROM scratch\n` + `body`.
pub fn body(body: &str) -> Vec<Instruction> {
    let d = df(&format!("FROM scratch\n{body}"));
    assert_eq!(d.stages.len(), 1);
    d.stages[0]
        .instructions
        .iter()
        .map(|l| l.value.clone())
        .collect()
}

/// The single instruction of `FROM scratch\n` + `line`.
pub fn one(line: &str) -> Instruction {
    let mut v = body(line);
    assert_eq!(v.len(), 1, "expected one instruction in {line:?}: {v:?}");
    v.remove(0)
}

/// The error text of parsing `src`.
pub fn err(src: &str) -> String {
    match parse(src, "Dockerfile") {
        Ok(d) => panic!("expected an error, parsed: {d:?}"),
        Err(e) => e.to_string(),
    }
}

pub fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_string()).collect()
}

pub fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: v.into(),
    }
}

pub fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect()
}

/// A plain shell-form RUN without flags.
pub fn run_shell(cmd: &str) -> Instruction {
    Instruction::Run(Run {
        mounts: vec![],
        network: None,
        security: None,
        command: CommandForm::Shell(cmd.into()),
        heredocs: vec![],
    })
}
