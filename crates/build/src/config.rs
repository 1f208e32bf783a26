//! Metadata instructions as changes to the image config JSON (`config.Env`, `Cmd`,
//! `Labels`, …) and history entries.

use berth_dockerfile::{CommandForm, Healthcheck, Instruction};
use serde_json::{Map, Value, json};

/// The stage's shell (`SHELL`, default `/bin/sh -c`).
pub fn shell(config: &Value) -> Vec<String> {
    strings(config.pointer("/config/Shell"))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()])
}

/// A JSON array of strings.
pub fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    })
}

/// argv of a command form with the stage's shell.
pub fn argv(form: &CommandForm, config: &Value) -> Vec<String> {
    match form {
        CommandForm::Exec(v) => v.clone(),
        CommandForm::Shell(s) => {
            let mut a = shell(config);
            a.push(s.clone());
            a
        }
    }
}

/// `config.Env` as pairs.
pub fn env_pairs(config: &Value) -> Vec<(String, String)> {
    strings(config.pointer("/config/Env"))
        .unwrap_or_default()
        .into_iter()
        .map(|e| match e.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (e, String::new()),
        })
        .collect()
}

/// The working directory (`/` when unset).
pub fn workdir(config: &Value) -> String {
    config
        .pointer("/config/WorkingDir")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("/")
        .to_owned()
}

fn as_map(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = json!({});
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

fn inner(config: &mut Value) -> &mut Map<String, Value> {
    as_map(as_map(config).entry("config").or_insert_with(|| json!({})))
}

fn object<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    as_map(m.entry(key).or_insert_with(|| json!({})))
}

/// Sets `KEY=VALUE` in `config.Env`, replacing an earlier value.
pub fn set_env(config: &mut Value, key: &str, value: &str) {
    let c = inner(config);
    let mut env = strings(c.get("Env")).unwrap_or_default();
    env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
    env.push(format!("{key}={value}"));
    c.insert("Env".into(), json!(env));
}

fn nanos(d: Option<std::time::Duration>) -> Option<u64> {
    d.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Applies a metadata instruction. `cmd_from_base`: the Cmd came from the base image
/// (an ENTRYPOINT then resets it, as Docker does).
pub fn apply(config: &mut Value, inst: &Instruction, cmd_from_base: &mut bool) {
    let sh = shell(config);
    match inst {
        Instruction::Env(kvs) => {
            for kv in kvs {
                set_env(config, &kv.key, &kv.value);
            }
        }
        Instruction::Label(kvs) => {
            let labels = object(inner(config), "Labels");
            for kv in kvs {
                labels.insert(kv.key.clone(), json!(kv.value));
            }
        }
        Instruction::Maintainer(m) => config["author"] = json!(m),
        Instruction::Expose(ports) => {
            let exposed = object(inner(config), "ExposedPorts");
            for p in ports {
                let p = if p.contains('/') {
                    p.to_ascii_lowercase()
                } else {
                    format!("{p}/tcp")
                };
                exposed.insert(p, json!({}));
            }
        }
        Instruction::Cmd(form) => {
            *cmd_from_base = false;
            let a = argv_with(form, &sh);
            inner(config).insert("Cmd".into(), json!(a));
        }
        Instruction::Entrypoint(form) => {
            let a = argv_with(form, &sh);
            let c = inner(config);
            c.insert("Entrypoint".into(), json!(a));
            if *cmd_from_base {
                c.insert("Cmd".into(), Value::Null);
            }
        }
        Instruction::User(u) => {
            inner(config).insert("User".into(), json!(u.spec));
        }
        Instruction::Volume(vs) => {
            let vols = object(inner(config), "Volumes");
            for v in vs {
                vols.insert(v.clone(), json!({}));
            }
        }
        Instruction::Stopsignal(s) => {
            inner(config).insert("StopSignal".into(), json!(s));
        }
        Instruction::Shell(s) => {
            inner(config).insert("Shell".into(), json!(s));
        }
        Instruction::Onbuild(o) => {
            let c = inner(config);
            let mut v = strings(c.get("OnBuild")).unwrap_or_default();
            v.push(o.text.clone());
            c.insert("OnBuild".into(), json!(v));
        }
        Instruction::Healthcheck(h) => {
            let hc = match h {
                Healthcheck::None => json!({"Test": ["NONE"]}),
                Healthcheck::Check(o) => {
                    let test = match &o.command {
                        CommandForm::Exec(v) => {
                            let mut t = vec!["CMD".to_owned()];
                            t.extend(v.iter().cloned());
                            t
                        }
                        CommandForm::Shell(s) => vec!["CMD-SHELL".to_owned(), s.clone()],
                    };
                    let mut m = Map::new();
                    m.insert("Test".into(), json!(test));
                    for (k, v) in [
                        ("Interval", nanos(o.interval)),
                        ("Timeout", nanos(o.timeout)),
                        ("StartPeriod", nanos(o.start_period)),
                        ("StartInterval", nanos(o.start_interval)),
                    ] {
                        if let Some(v) = v {
                            m.insert(k.into(), json!(v));
                        }
                    }
                    if let Some(r) = o.retries {
                        m.insert("Retries".into(), json!(r));
                    }
                    Value::Object(m)
                }
            };
            inner(config).insert("Healthcheck".into(), hc);
        }
        _ => {}
    }
}

fn argv_with(form: &CommandForm, sh: &[String]) -> Vec<String> {
    match form {
        CommandForm::Exec(v) => v.clone(),
        CommandForm::Shell(s) => {
            let mut a = sh.to_vec();
            a.push(s.clone());
            a
        }
    }
}

/// Appends a history entry (and a layer's diff id when `diff_id` is given).
pub fn record(config: &mut Value, created_by: &str, diff_id: Option<&str>) {
    let now = humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string();
    config["created"] = json!(now);
    let mut h = json!({"created": now, "created_by": created_by, "comment": "berth build"});
    match diff_id {
        Some(d) => {
            if !config
                .pointer("/rootfs/diff_ids")
                .is_some_and(Value::is_array)
            {
                config["rootfs"] = json!({"type": "layers", "diff_ids": []});
            }
            if let Some(Value::Array(ids)) = config.pointer_mut("/rootfs/diff_ids") {
                ids.push(json!(d));
            }
        }
        None => h["empty_layer"] = json!(true),
    }
    if !config.get("history").is_some_and(Value::is_array) {
        config["history"] = json!([]);
    }
    if let Some(Value::Array(hist)) = config.get_mut("history") {
        hist.push(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_dockerfile::parse;

    fn inst(text: &str) -> Instruction {
        parse(&format!("FROM scratch\n{text}\n"), "Dockerfile")
            .unwrap()
            .stages[0]
            .instructions[0]
            .value
            .clone()
    }

    #[test]
    fn metadata_lands_in_the_config() {
        let mut c = json!({"config": {"Cmd": ["sh"]}});
        let mut from_base = true;
        for t in [
            "ENV A=1 B=2",
            "ENV A=3",
            "EXPOSE 80 53/UDP",
            "ENTRYPOINT [\"/app\"]",
            "USER node",
            "LABEL x=y",
        ] {
            apply(&mut c, &inst(t), &mut from_base);
        }
        assert_eq!(c["config"]["Env"], json!(["B=2", "A=3"]));
        assert_eq!(
            c["config"]["ExposedPorts"],
            json!({"80/tcp": {}, "53/udp": {}})
        );
        assert_eq!(c["config"]["Entrypoint"], json!(["/app"]));
        assert_eq!(c["config"]["Cmd"], Value::Null);
        assert_eq!(c["config"]["User"], json!("node"));
        assert_eq!(c["config"]["Labels"], json!({"x": "y"}));
        apply(&mut c, &inst("CMD echo hi"), &mut from_base);
        assert_eq!(c["config"]["Cmd"], json!(["/bin/sh", "-c", "echo hi"]));
        record(&mut c, "RUN x", Some("sha256:aa"));
        record(&mut c, "ENV y", None);
        assert_eq!(c["rootfs"]["diff_ids"], json!(["sha256:aa"]));
        assert_eq!(c["history"][1]["empty_layer"], json!(true));
    }
}
