//! `.env` and `env_file:` parsing in Compose's dotenv dialect: `KEY=VALUE`, `export KEY=…`,
//! `#` comments, single quotes (literal), double quotes (escapes, may span lines), unquoted
//! values with trailing ` # comments`, and `${VAR}` interpolation in unquoted and
//! double-quoted values against earlier lines and the given environment.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::interpolate::{InterpolateError, interpolate_str};

/// Parses dotenv text. `KEY` alone (no `=`) takes its value from `env` and is skipped when
/// `env` lacks it. Later lines may use earlier ones.
pub fn parse(
    text: &str,
    file: &str,
    env: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, Error> {
    let mut out: Vec<(String, String)> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let bad = |message: String| Error::EnvFile {
            file: file.to_string(),
            line: line_no,
            message,
        };
        let line = lines[i].trim_start();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, raw)) = line.split_once('=') else {
            let key = line.trim();
            check_key(key).map_err(&bad)?;
            if let Some(v) = env.get(key) {
                out.push((key.to_string(), v.clone()));
            }
            continue;
        };
        let key = key.trim();
        check_key(key).map_err(&bad)?;
        let raw = raw.trim_start();
        let lookup = |name: &str| {
            out.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| env.get(name).cloned())
        };
        let value = if let Some(rest) = raw.strip_prefix('\'') {
            let mut body = rest.to_string();
            while !body.contains('\'') {
                let next = lines
                    .get(i)
                    .ok_or_else(|| bad("unterminated single quote".into()))?;
                body.push('\n');
                body.push_str(next);
                i += 1;
            }
            let end = body.find('\'').unwrap_or(body.len());
            body[..end].to_string()
        } else if let Some(rest) = raw.strip_prefix('"') {
            let mut body = rest.to_string();
            while closing_quote(&body).is_none() {
                let next = lines
                    .get(i)
                    .ok_or_else(|| bad("unterminated double quote".into()))?;
                body.push('\n');
                body.push_str(next);
                i += 1;
            }
            let end = closing_quote(&body).unwrap_or(body.len());
            let unescaped = unescape(&body[..end]);
            expand(&unescaped, &lookup).map_err(&bad)?
        } else {
            let value = match raw.find(" #") {
                Some(pos) => &raw[..pos],
                None => raw,
            };
            expand(value.trim_end(), &lookup).map_err(&bad)?
        };
        out.push((key.to_string(), value));
    }
    Ok(out)
}

fn check_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!("{key:?} is not a variable name"))
    }
}

fn closing_quote(body: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            // `\$` stays an escaped dollar for the interpolation pass.
            Some('$') => out.push_str("$$"),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn expand(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    interpolate_str(value, lookup)
        .map(|o| o.value)
        .map_err(|e| match e {
            InterpolateError::Missing { var, message } => {
                format!("required variable {var} is missing a value: {message}")
            }
            InterpolateError::Invalid => format!("invalid interpolation format in {value:?}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_dialect() {
        let env = BTreeMap::from([("HOST_VAR".to_string(), "from-host".to_string())]);
        let text = "# comment\n\nA=1\nexport B = two words \nC='single $A #x'\nD=\"dq $A\\n\\\"q\\\"\"\nE=unquoted # comment\nF=${A}-${HOST_VAR}\nHOST_VAR\nMISSING_ONLY\nG=\"multi\nline\"\nH=\nI=a#b\n";
        let got = parse(text, ".env", &env).unwrap();
        let want: Vec<(String, String)> = [
            ("A", "1"),
            ("B", "two words"),
            ("C", "single $A #x"),
            ("D", "dq 1\n\"q\""),
            ("E", "unquoted"),
            ("F", "1-from-host"),
            ("HOST_VAR", "from-host"),
            ("G", "multi\nline"),
            ("H", ""),
            ("I", "a#b"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = parse("A=1\nnot a key=2\n", "app.env", &BTreeMap::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "app.env:2: \"not a key\" is not a variable name"
        );
        let err = parse("A=\"open\n", "app.env", &BTreeMap::new()).unwrap_err();
        assert_eq!(err.to_string(), "app.env:1: unterminated double quote");
    }
}
