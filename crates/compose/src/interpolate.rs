//! Variable substitution in Compose values: `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`,
//! `${VAR:?e}`, `${VAR?e}`, `${VAR:+a}`, `${VAR+a}`, nested defaults, and `$$` for a `$`.
//!
//! [`interpolate_str`] works on one string; [`interpolate_tree`] applies it to every string
//! scalar of a YAML tree (mapping keys and `x-` extension subtrees are left alone) and turns
//! failures into [`Error`]s naming the file and the key path.

use serde_yaml_ng::Value;

use crate::error::{Error, Warning};

/// Why a string could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolateError {
    /// `${VAR:?msg}` or `${VAR?msg}` with VAR missing (or empty for `:?`).
    Missing {
        /// The variable.
        var: String,
        /// The text after `?`.
        message: String,
    },
    /// A `$` that starts no valid substitution, or an unclosed `${`.
    Invalid,
}

/// The result of interpolating one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpolated {
    /// The substituted text.
    pub value: String,
    /// Variables used without a default while unset (they became empty strings).
    pub unset: Vec<String>,
}

/// Substitutes variables in `input`, looking them up with `lookup`.
///
/// ```
/// use berth_compose::interpolate::interpolate_str;
/// let env = |k: &str| (k == "TAG").then(|| "3.19".to_string());
/// let out = interpolate_str("alpine:${TAG:-latest} $${HOME}", &env).unwrap();
/// assert_eq!(out.value, "alpine:3.19 ${HOME}");
/// ```
pub fn interpolate_str(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Interpolated, InterpolateError> {
    let mut unset = Vec::new();
    let value = substitute(input, lookup, &mut unset)?;
    Ok(Interpolated { value, unset })
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn substitute(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, InterpolateError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                out.push('$');
                i += 2;
            }
            Some('{') => {
                let close = matching_brace(&chars, i + 2).ok_or(InterpolateError::Invalid)?;
                let inner: String = chars[i + 2..close].iter().collect();
                out.push_str(&braced(&inner, lookup, unset)?);
                i = close + 1;
            }
            Some(&n) if is_name_start(n) => {
                let mut j = i + 1;
                while j < chars.len() && is_name_char(chars[j]) {
                    j += 1;
                }
                let name: String = chars[i + 1..j].iter().collect();
                match lookup(&name) {
                    Some(v) => out.push_str(&v),
                    None => unset.push(name),
                }
                i = j;
            }
            _ => return Err(InterpolateError::Invalid),
        }
    }
    Ok(out)
}

/// Index of the `}` closing a `${` whose body starts at `start`, skipping `$$` and nested `${…}`.
fn matching_brace(chars: &[char], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '$' if chars.get(i + 1) == Some(&'$') => i += 1,
            '$' if chars.get(i + 1) == Some(&'{') => {
                depth += 1;
                i += 1;
            }
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Evaluates the body of `${…}`; the word after an operator is evaluated only when used,
/// so `${SET:-${MISSING:?x}}` does not fail.
fn braced(
    inner: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, InterpolateError> {
    let name_len = inner
        .char_indices()
        .find(|&(_, c)| !is_name_char(c))
        .map_or(inner.len(), |(i, _)| i);
    let name = &inner[..name_len];
    if name.is_empty() || !name.starts_with(is_name_start) {
        return Err(InterpolateError::Invalid);
    }
    let rest = &inner[name_len..];
    let value = lookup(name);
    let (colon, op, word) = if let Some(r) = rest.strip_prefix(':') {
        let mut it = r.chars();
        (true, it.next(), it.as_str())
    } else {
        let mut it = rest.chars();
        (false, it.next(), it.as_str())
    };
    // With a colon, an empty value counts as missing.
    let present = match &value {
        Some(v) => !(colon && v.is_empty()),
        None => false,
    };
    match op {
        None if !colon => match value {
            Some(v) => Ok(v),
            None => {
                unset.push(name.to_string());
                Ok(String::new())
            }
        },
        Some('-') => match value {
            Some(v) if present => Ok(v),
            _ => substitute(word, lookup, unset),
        },
        Some('+') => {
            if present {
                substitute(word, lookup, unset)
            } else {
                Ok(String::new())
            }
        }
        Some('?') => match value {
            Some(v) if present => Ok(v),
            _ => Err(InterpolateError::Missing {
                var: name.to_string(),
                message: substitute(word, lookup, unset)?,
            }),
        },
        _ => Err(InterpolateError::Invalid),
    }
}

/// Interpolates every string scalar of `tree` in place.
///
/// `file` names the Compose file in errors; unset variables without defaults add one
/// warning each (Docker Compose says the same and uses an empty string).
pub fn interpolate_tree(
    tree: &mut Value,
    file: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<Warning>,
) -> Result<(), Error> {
    walk(tree, String::new(), file, lookup, warnings)
}

fn walk(
    node: &mut Value,
    path: String,
    file: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<Warning>,
) -> Result<(), Error> {
    match node {
        Value::String(s) => {
            let out = interpolate_str(s, lookup).map_err(|e| match e {
                InterpolateError::Missing { var, message } => Error::MissingVariable {
                    file: file.to_string(),
                    path: path.clone(),
                    var,
                    detail: message,
                },
                InterpolateError::Invalid => Error::BadInterpolation {
                    file: file.to_string(),
                    path: path.clone(),
                    value: s.clone(),
                },
            })?;
            for var in out.unset {
                warnings.push(Warning {
                    file: file.to_string(),
                    path: path.clone(),
                    message: format!("variable {var} is not set, using an empty string"),
                });
            }
            *s = out.value;
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, format!("{path}[{i}]"), file, lookup, warnings)?;
            }
        }
        Value::Mapping(map) => {
            for (key, value) in map.iter_mut() {
                let key = key_text(key);
                if key.starts_with("x-") {
                    continue;
                }
                let child = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                walk(value, child, file, lookup, warnings)?;
            }
        }
        Value::Tagged(tagged) => walk(&mut tagged.value, path, file, lookup, warnings)?,
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// A mapping key as text (keys are almost always strings; numbers and bools print as YAML).
pub(crate) fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => "null".to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("A".to_string(), "alpha".to_string()),
            ("EMPTY".to_string(), String::new()),
            ("B_2".to_string(), "two".to_string()),
            ("PORT".to_string(), "8080".to_string()),
            ("_U".to_string(), "under".to_string()),
        ])
    }

    fn run(input: &str) -> Result<String, InterpolateError> {
        let env = env();
        interpolate_str(input, &|k| env.get(k).cloned()).map(|o| o.value)
    }

    #[test]
    fn table() {
        let missing = |var: &str, message: &str| {
            Err(InterpolateError::Missing {
                var: var.to_string(),
                message: message.to_string(),
            })
        };
        let ok = |s: &str| Ok(s.to_string());
        let rows: Vec<(&str, Result<String, InterpolateError>)> = vec![
            ("plain", ok("plain")),
            ("", ok("")),
            ("$A", ok("alpha")),
            ("${A}", ok("alpha")),
            ("x$A.y", ok("xalpha.y")),
            ("$A$B_2", ok("alphatwo")),
            ("$_U", ok("under")),
            ("${_U}", ok("under")),
            ("$MISSING", ok("")),
            ("${MISSING}", ok("")),
            ("a${MISSING}b", ok("ab")),
            ("$A-x", ok("alpha-x")),
            ("${A:-d}", ok("alpha")),
            ("${EMPTY:-d}", ok("d")),
            ("${MISSING:-d}", ok("d")),
            ("${A-d}", ok("alpha")),
            ("${EMPTY-d}", ok("")),
            ("${MISSING-d}", ok("d")),
            ("${MISSING:-}", ok("")),
            ("${MISSING:-a b c}", ok("a b c")),
            ("${MISSING:-${A}}", ok("alpha")),
            ("${MISSING:-${ALSO:-deep}}", ok("deep")),
            ("${MISSING:-x${B_2}y}", ok("xtwoy")),
            ("${A:-${MISSING:?never evaluated}}", ok("alpha")),
            ("${A:?err}", ok("alpha")),
            ("${A?err}", ok("alpha")),
            ("${EMPTY?err}", ok("")),
            ("${EMPTY:?must be set}", missing("EMPTY", "must be set")),
            ("${MISSING:?must be set}", missing("MISSING", "must be set")),
            ("${MISSING?}", missing("MISSING", "")),
            ("${MISSING:?}", missing("MISSING", "")),
            ("${MISSING:?need $A}", missing("MISSING", "need alpha")),
            ("${A:+alt}", ok("alt")),
            ("${EMPTY:+alt}", ok("")),
            ("${MISSING:+alt}", ok("")),
            ("${A+alt}", ok("alt")),
            ("${EMPTY+alt}", ok("alt")),
            ("${MISSING+alt}", ok("")),
            ("${A:+${B_2}}", ok("two")),
            ("$$", ok("$")),
            ("$$A", ok("$A")),
            ("$${A}", ok("${A}")),
            ("cost: $$5", ok("cost: $5")),
            ("${PORT}:80", ok("8080:80")),
            ("127.0.0.1:${PORT:-80}:80/udp", ok("127.0.0.1:8080:80/udp")),
            ("${MISSING:-a}${MISSING:-b}", ok("ab")),
            ("${MISSING:-{json}}", ok("{json}")),
            ("${MISSING:-$$}", ok("$")),
            ("$", Err(InterpolateError::Invalid)),
            ("a $ b", Err(InterpolateError::Invalid)),
            ("$1", Err(InterpolateError::Invalid)),
            ("${}", Err(InterpolateError::Invalid)),
            ("${A", Err(InterpolateError::Invalid)),
            ("${1A}", Err(InterpolateError::Invalid)),
            ("${A*x}", Err(InterpolateError::Invalid)),
            ("${A:x}", Err(InterpolateError::Invalid)),
            ("é$A→", ok("éalpha→")),
        ];
        assert!(rows.len() >= 40);
        for (input, want) in rows {
            assert_eq!(run(input), want, "input {input:?}");
        }
    }

    #[test]
    fn unset_variables_are_reported() {
        let env = env();
        let out = interpolate_str("$X ${Y} ${Z:-d} ${A}", &|k| env.get(k).cloned()).unwrap();
        assert_eq!(out.value, "  d alpha");
        assert_eq!(out.unset, vec!["X".to_string(), "Y".to_string()]);
    }

    #[test]
    fn tree_errors_name_file_path_and_variable() {
        let mut tree: Value = serde_yaml_ng::from_str(
            "services:\n  db:\n    environment:\n      - ok=1\n      - PW=${DB_PASSWORD:?set a password}\n",
        )
        .unwrap();
        let err =
            interpolate_tree(&mut tree, "compose.yaml", &|_| None, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "compose.yaml: services.db.environment[1]: required variable DB_PASSWORD is missing a value: set a password\nhint: set DB_PASSWORD in the environment or in the .env file"
        );
    }

    #[test]
    fn tree_skips_keys_and_extensions_and_warns() {
        let mut tree: Value = serde_yaml_ng::from_str(
            "x-tmpl:\n  cmd: $1 invalid here\nservices:\n  $KEY:\n    image: img:${TAG}\n",
        )
        .unwrap();
        let mut warnings = Vec::new();
        interpolate_tree(&mut tree, "c.yaml", &|_| None, &mut warnings).unwrap();
        assert_eq!(tree["services"]["$KEY"]["image"], Value::from("img:"));
        assert_eq!(
            warnings[0].to_string(),
            "c.yaml: services.$KEY.image: variable TAG is not set, using an empty string"
        );
    }
}
