//! Merging several Compose files by the Compose specification's rules.
//!
//! Both sides are canonical trees (each file was parsed into the model and printed back in
//! the long syntax), so the rules can be applied by key:
//! - mappings merge recursively, the later file winning on scalars;
//! - `command`, `entrypoint` and `healthcheck.test` are replaced, not appended;
//! - `ports` are unique by host ip, target, published port and protocol, `volumes` by target:
//!   an entry with the same key is merged into the earlier one, others are appended;
//! - other sequences (`dns`, `cap_add`, `expose`, `profiles`…) are appended, duplicates
//!   dropped;
//! - `environment`, `labels`, `networks`, `depends_on`, `build.args` are mappings and so merge
//!   by key.

use serde_yaml_ng::{Mapping, Value};

/// Merges `over` into `base`, in place.
pub fn merge(base: &mut Value, over: Value) {
    merge_at(base, over, &[]);
}

fn merge_at(base: &mut Value, over: Value, path: &[&str]) {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => merge_mapping(b, o, path),
        (Value::Sequence(b), Value::Sequence(o)) => merge_sequence(b, o, path),
        (base, over) => *base = over,
    }
}

fn merge_mapping(base: &mut Mapping, over: Mapping, path: &[&str]) {
    for (key, value) in over {
        let name = key.as_str().unwrap_or_default().to_string();
        let mut child: Vec<&str> = path.to_vec();
        child.push(&name);
        if replaced(&child) {
            base.insert(key, value);
            continue;
        }
        match base.get_mut(&key) {
            Some(existing) => merge_at(existing, value, &child),
            None => {
                base.insert(key, value);
            }
        }
    }
}

/// Paths whose value an override replaces whole.
fn replaced(path: &[&str]) -> bool {
    matches!(
        path,
        ["services", _, "command" | "entrypoint"] | ["services", _, "healthcheck", "test"]
    )
}

fn merge_sequence(base: &mut Vec<Value>, over: Vec<Value>, path: &[&str]) {
    let key: Option<fn(&Value) -> Value> = match path {
        ["services", _, "ports"] => Some(port_key),
        ["services", _, "volumes"] => Some(|v| v.get("target").cloned().unwrap_or(Value::Null)),
        _ => None,
    };
    for item in over {
        match key {
            Some(key) => {
                let k = key(&item);
                match base.iter_mut().find(|b| key(b) == k) {
                    Some(existing) => merge_at(existing, item, &[]),
                    None => base.push(item),
                }
            }
            None => {
                if !base.contains(&item) {
                    base.push(item);
                }
            }
        }
    }
}

fn port_key(port: &Value) -> Value {
    let field = |name: &str| port.get(name).cloned().unwrap_or(Value::Null);
    let protocol = match field("protocol") {
        Value::Null => Value::from("tcp"),
        p => p,
    };
    Value::Sequence(vec![
        field("host_ip"),
        field("target"),
        field("published"),
        protocol,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(s: &str) -> Value {
        serde_yaml_ng::from_str(s).unwrap()
    }

    #[test]
    fn spec_rules() {
        let mut base = yaml(
            r#"
services:
  web:
    image: web:1
    command: [echo, foo]
    dns: [1.1.1.1]
    cap_add: [NET_ADMIN]
    environment: {A: "1", B: "2"}
    labels: {x: "1"}
    healthcheck: {test: [CMD, a, b], retries: 3}
    ports:
      - {target: 80, published: "8080", protocol: tcp}
      - {target: 443, published: "8443"}
    volumes:
      - {type: volume, source: data, target: /data}
      - {type: bind, source: /a, target: /a}
    networks: {front: null}
"#,
        );
        let over = yaml(
            r#"
services:
  web:
    image: web:2
    command: [echo, bar]
    dns: [8.8.8.8, 1.1.1.1]
    cap_add: [SYS_ADMIN]
    environment: {B: "two", C: "3"}
    healthcheck: {test: [CMD-SHELL, ok]}
    ports:
      - {target: 80, published: "8080"}
      - {target: 80, published: "9090"}
    volumes:
      - {type: volume, source: other, target: /data, read_only: true}
    networks: {back: {aliases: [b]}}
  extra:
    image: x
"#,
        );
        merge(&mut base, over);
        let want = yaml(
            r#"
services:
  web:
    image: web:2
    command: [echo, bar]
    dns: [1.1.1.1, 8.8.8.8]
    cap_add: [NET_ADMIN, SYS_ADMIN]
    environment: {A: "1", B: "two", C: "3"}
    labels: {x: "1"}
    healthcheck: {test: [CMD-SHELL, ok], retries: 3}
    ports:
      - {target: 80, published: "8080", protocol: tcp}
      - {target: 443, published: "8443"}
      - {target: 80, published: "9090"}
    volumes:
      - {type: volume, source: other, target: /data, read_only: true}
      - {type: bind, source: /a, target: /a}
    networks: {front: null, back: {aliases: [b]}}
  extra:
    image: x
"#,
        );
        assert_eq!(base, want);
    }

    #[test]
    fn entrypoint_replaced_even_when_shorter() {
        let mut base = yaml("services: {a: {entrypoint: [sh, -c, x]}}");
        merge(&mut base, yaml("services: {a: {entrypoint: [tini]}}"));
        assert_eq!(base, yaml("services: {a: {entrypoint: [tini]}}"));
    }
}
