//! `--change` instructions for `import` (and later `commit`): a Dockerfile line that edits
//! the image config.

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

/// One parsed `--change` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChange {
    /// `CMD`.
    Cmd(Vec<String>),
    /// `ENTRYPOINT`.
    Entrypoint(Vec<String>),
    /// `ENV k=v …` (or `ENV k v`).
    Env(Vec<(String, String)>),
    /// `EXPOSE 80 53/udp`.
    Expose(Vec<String>),
    /// `LABEL k=v …`.
    Label(Vec<(String, String)>),
    /// `USER u[:g]`.
    User(String),
    /// `VOLUME ["/a"]` or `VOLUME /a /b`.
    Volume(Vec<String>),
    /// `WORKDIR /x`.
    Workdir(String),
    /// `STOPSIGNAL SIGTERM`.
    StopSignal(String),
}

/// Parses one `--change` value.
///
/// # Errors
/// [`Error::InvalidChange`] naming the instruction.
pub fn parse_change(text: &str) -> Result<ConfigChange> {
    let bad = |reason: &str| Error::InvalidChange {
        change: text.to_owned(),
        reason: reason.to_owned(),
    };
    let t = text.trim();
    let (word, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
    let rest = rest.trim();
    if rest.is_empty() {
        return Err(bad("missing arguments"));
    }
    let command = |form: &str| -> Result<Vec<String>> {
        if form.starts_with('[') {
            serde_json::from_str::<Vec<String>>(form)
                .map_err(|_| bad("a JSON form must be an array of strings"))
        } else {
            Ok(vec!["/bin/sh".to_owned(), "-c".to_owned(), form.to_owned()])
        }
    };
    Ok(match word.to_ascii_uppercase().as_str() {
        "CMD" => ConfigChange::Cmd(command(rest)?),
        "ENTRYPOINT" => ConfigChange::Entrypoint(command(rest)?),
        "ENV" => ConfigChange::Env(pairs(rest).ok_or_else(|| bad("expected KEY=VALUE"))?),
        "LABEL" => ConfigChange::Label(pairs(rest).ok_or_else(|| bad("expected KEY=VALUE"))?),
        "EXPOSE" => ConfigChange::Expose(
            rest.split_whitespace()
                .map(|p| {
                    let (port, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                    if port.parse::<u16>().is_err() || !matches!(proto, "tcp" | "udp" | "sctp") {
                        return Err(bad("expected PORT[/tcp|udp|sctp]"));
                    }
                    Ok(format!("{port}/{proto}"))
                })
                .collect::<Result<_>>()?,
        ),
        "USER" => ConfigChange::User(rest.to_owned()),
        "VOLUME" => ConfigChange::Volume(if rest.starts_with('[') {
            serde_json::from_str(rest)
                .map_err(|_| bad("a JSON form must be an array of strings"))?
        } else {
            rest.split_whitespace().map(str::to_owned).collect()
        }),
        "WORKDIR" => ConfigChange::Workdir(rest.to_owned()),
        "STOPSIGNAL" => ConfigChange::StopSignal(rest.to_owned()),
        _ => return Err(bad("unknown or unsupported instruction")),
    })
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2
        && ((s.starts_with('"') && s.ends_with('"')) || (s.starts_with('\'') && s.ends_with('\'')))
    {
        s[1..s.len() - 1].to_owned()
    } else {
        s.to_owned()
    }
}

/// `k=v k2="v 2"` or the old `k v w` form.
fn pairs(rest: &str) -> Option<Vec<(String, String)>> {
    let first = rest.split_whitespace().next()?;
    if !first.contains('=') {
        let (k, v) = rest.split_once(char::is_whitespace)?;
        return Some(vec![(k.to_owned(), unquote(v))]);
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut words = Vec::new();
    for c in rest.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    for w in words {
        let (k, v) = w.split_once('=')?;
        if k.is_empty() {
            return None;
        }
        out.push((k.to_owned(), unquote(v)));
    }
    Some(out)
}

impl ConfigChange {
    /// Applies the change to an image config's `config` object.
    pub fn apply(&self, cfg: &mut Map<String, Value>) {
        let strings = |v: &[String]| Value::from(v.to_vec());
        match self {
            Self::Cmd(c) => {
                cfg.insert("Cmd".into(), strings(c));
            }
            Self::Entrypoint(c) => {
                cfg.insert("Entrypoint".into(), strings(c));
            }
            Self::Env(kv) => {
                let mut env: Vec<String> = cfg
                    .get("Env")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                for (k, v) in kv {
                    let prefix = format!("{k}=");
                    env.retain(|e| !e.starts_with(&prefix));
                    env.push(format!("{k}={v}"));
                }
                cfg.insert("Env".into(), Value::from(env));
            }
            Self::Label(kv) => {
                let labels = cfg.entry("Labels").or_insert_with(|| json!({}));
                if !labels.is_object() {
                    *labels = json!({});
                }
                if let Some(m) = labels.as_object_mut() {
                    for (k, v) in kv {
                        m.insert(k.clone(), Value::from(v.clone()));
                    }
                }
            }
            Self::Expose(ports) => set_keys(cfg, "ExposedPorts", ports),
            Self::Volume(vols) => set_keys(cfg, "Volumes", vols),
            Self::User(u) => {
                cfg.insert("User".into(), Value::from(u.clone()));
            }
            Self::Workdir(w) => {
                cfg.insert("WorkingDir".into(), Value::from(w.clone()));
            }
            Self::StopSignal(s) => {
                cfg.insert("StopSignal".into(), Value::from(s.clone()));
            }
        }
    }
}

fn set_keys(cfg: &mut Map<String, Value>, field: &str, keys: &[String]) {
    let m = cfg.entry(field).or_insert_with(|| json!({}));
    if !m.is_object() {
        *m = json!({});
    }
    if let Some(m) = m.as_object_mut() {
        for k in keys {
            m.insert(k.clone(), json!({}));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_instruction() {
        assert_eq!(
            parse_change(r#"CMD ["sh"]"#).unwrap(),
            ConfigChange::Cmd(vec!["sh".into()])
        );
        assert_eq!(
            parse_change("ENTRYPOINT echo hi").unwrap(),
            ConfigChange::Entrypoint(vec!["/bin/sh".into(), "-c".into(), "echo hi".into()])
        );
        assert_eq!(
            parse_change(r#"ENV A=1 B="two words""#).unwrap(),
            ConfigChange::Env(vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into())
            ])
        );
        assert_eq!(
            parse_change("ENV A one two").unwrap(),
            ConfigChange::Env(vec![("A".into(), "one two".into())])
        );
        assert_eq!(
            parse_change("EXPOSE 80 53/udp").unwrap(),
            ConfigChange::Expose(vec!["80/tcp".into(), "53/udp".into()])
        );
        assert_eq!(
            parse_change("VOLUME /a /b").unwrap(),
            ConfigChange::Volume(vec!["/a".into(), "/b".into()])
        );
        assert_eq!(
            parse_change("stopsignal SIGINT").unwrap(),
            ConfigChange::StopSignal("SIGINT".into())
        );
        for bad in ["RUN true", "CMD", "EXPOSE http", "CMD [1]", "ENV =x"] {
            let e = parse_change(bad).unwrap_err().to_string();
            assert!(e.contains("invalid --change"), "{bad}: {e}");
        }
    }

    #[test]
    fn env_replaces_and_labels_merge() {
        let mut cfg = Map::new();
        parse_change("ENV A=1").unwrap().apply(&mut cfg);
        parse_change("ENV A=2 B=3").unwrap().apply(&mut cfg);
        parse_change("LABEL x=y").unwrap().apply(&mut cfg);
        parse_change("EXPOSE 80").unwrap().apply(&mut cfg);
        assert_eq!(
            Value::Object(cfg),
            json!({"Env": ["A=2", "B=3"], "Labels": {"x": "y"}, "ExposedPorts": {"80/tcp": {}}})
        );
    }
}
