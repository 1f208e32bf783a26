//! Docker's `--format` Go templates (`{{.Repository}}`, `{{json .}}`, `table …`), and the
//! aligned tables Docker prints, for every command that lists or inspects things.
//!
//! Templates are parsed and run by `gtmpl` (Go's text/template in Rust) with Docker's
//! extra functions (`json`, `join`, `lower`, `upper`, `title`, `truncate`, `pad`).
//!
//! ```ignore
//! let rows = vec![serde_json::json!({"ID": "abc", "Tag": "latest"})];
//! let out = format::render_table("table {{.ID}}\t{{.Tag}}", &rows, &[("ID", "IMAGE ID")])?;
//! ```

use std::collections::HashMap;

use anyhow::Context as _;
use gtmpl::{Context, FuncError, Template, Value};

/// serde_json → the template engine's value.
fn to_gtmpl(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(0.0))
            }
        }
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(to_gtmpl).collect()),
        serde_json::Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), to_gtmpl(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

/// The template engine's value → serde_json (for `{{json .}}`).
fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::NoValue | Value::Nil | Value::Function(_) => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into()
            } else if let Some(u) = n.as_u64() {
                u.into()
            } else {
                serde_json::Number::from_f64(n.as_f64().unwrap_or(0.0))
                    .map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
        }
        Value::Array(a) => a.iter().map(to_json).collect(),
        Value::Object(m) | Value::Map(m) => {
            // Sorted keys, so output is stable.
            let sorted: std::collections::BTreeMap<_, _> = m.iter().collect();
            serde_json::Value::Object(
                sorted
                    .into_iter()
                    .map(|(k, v)| (k.clone(), to_json(v)))
                    .collect(),
            )
        }
    }
}

fn arg_str(args: &[Value], i: usize) -> Result<String, FuncError> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Ok(v.to_string()),
        None => Err(FuncError::AtLeastXArgs("function".into(), i + 1)),
    }
}

fn f_json(args: &[Value]) -> Result<Value, FuncError> {
    let v = args.first().map(to_json).unwrap_or(serde_json::Value::Null);
    Ok(Value::String(v.to_string()))
}

fn f_join(args: &[Value]) -> Result<Value, FuncError> {
    let sep = arg_str(args, 1)?;
    match args.first() {
        Some(Value::Array(a)) => Ok(Value::String(
            a.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                })
                .collect::<Vec<_>>()
                .join(&sep),
        )),
        _ => Ok(Value::String(String::new())),
    }
}

fn f_lower(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(arg_str(args, 0)?.to_lowercase()))
}

fn f_upper(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(arg_str(args, 0)?.to_uppercase()))
}

fn f_title(args: &[Value]) -> Result<Value, FuncError> {
    let s = arg_str(args, 0)?;
    let mut c = s.chars();
    Ok(Value::String(match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }))
}

fn f_truncate(args: &[Value]) -> Result<Value, FuncError> {
    let s = arg_str(args, 0)?;
    let n: usize = arg_str(args, 1)?.parse().unwrap_or(usize::MAX);
    Ok(Value::String(s.chars().take(n).collect()))
}

fn f_pad(args: &[Value]) -> Result<Value, FuncError> {
    let s = arg_str(args, 0)?;
    let l: usize = arg_str(args, 1)?.parse().unwrap_or(0);
    let r: usize = arg_str(args, 2)?.parse().unwrap_or(0);
    Ok(Value::String(format!(
        "{}{s}{}",
        " ".repeat(l),
        " ".repeat(r)
    )))
}

fn template(text: &str) -> anyhow::Result<Template> {
    let mut t = Template::default();
    t.add_funcs(&[
        ("json", f_json as gtmpl::Func),
        ("join", f_join),
        ("lower", f_lower),
        ("upper", f_upper),
        ("title", f_title),
        ("truncate", f_truncate),
        ("pad", f_pad),
    ]);
    // Docker templates write `\t` and `\n` literally in the shell; they mean tab/newline.
    let text = text.replace("\\t", "\t").replace("\\n", "\n");
    t.parse(text)
        .map_err(|e| anyhow::anyhow!("template parsing error: {e}"))?;
    Ok(t)
}

/// Renders `tmpl` with `data` as `.` (one line of `--format`).
pub fn render(tmpl: &str, data: &serde_json::Value) -> anyhow::Result<String> {
    let t = template(tmpl)?;
    t.render(&Context::from(to_gtmpl(data)))
        .map_err(|e| anyhow::anyhow!("template: {e}"))
        .with_context(|| format!("executing --format {tmpl:?}"))
}

/// Whether a `--format` asks for a table (`table …`).
#[allow(dead_code)]
pub fn is_table(tmpl: &str) -> bool {
    tmpl.trim_start().starts_with("table")
}

/// The header line of a `table` template: every `{{.Field}}` becomes its column title
/// (`headers` maps field → title; others are upper-cased, Docker style).
fn header(tmpl: &str, headers: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = tmpl;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 2..start + end].trim();
        let field = inner
            .split_whitespace()
            .find(|w| w.starts_with('.'))
            .map(|w| w.trim_start_matches('.'))
            .unwrap_or(inner);
        let title = headers
            .iter()
            .find(|(f, _)| *f == field)
            .map_or_else(|| field.to_uppercase(), |(_, t)| (*t).to_owned());
        out.push_str(&title);
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// Renders rows with `tmpl` (Docker's `table` prefix adds a header) and aligns the
/// tab-separated columns as Docker's tabwriter does (min width 10, padding 3).
pub fn render_table(
    tmpl: &str,
    rows: &[serde_json::Value],
    headers: &[(&str, &str)],
) -> anyhow::Result<String> {
    let (table, body) = match tmpl.trim_start().strip_prefix("table") {
        Some(b) => (true, b.trim_start()),
        None => (false, tmpl),
    };
    let body = body.replace("\\t", "\t");
    let t = template(&body)?;
    let mut lines = Vec::new();
    if table {
        lines.push(header(&body, headers));
    }
    for r in rows {
        let s = t
            .render(&Context::from(to_gtmpl(r)))
            .map_err(|e| anyhow::anyhow!("template: {e}"))
            .with_context(|| format!("executing --format {tmpl:?}"))?;
        lines.push(s);
    }
    let mut out = tabwrite(&lines);
    if !table {
        // Without `table`, Docker prints exactly the template, one line per row.
        out = lines.iter().map(|l| format!("{l}\n")).collect();
    }
    Ok(out)
}

/// Aligns tab-separated cells: each column as wide as its widest cell plus 3, at least 10.
pub fn tabwrite(lines: &[String]) -> String {
    let rows: Vec<Vec<&str>> = lines.iter().map(|l| l.split('\t').collect()).collect();
    let ncols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; ncols];
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if i + 1 < r.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            out.push_str(c);
            if i + 1 < r.len() {
                let w = (widths[i] + 3).max(10);
                out.push_str(&" ".repeat(w - c.chars().count()));
            }
        }
        out.push('\n');
    }
    out
}

/// Docker's human sizes: decimal units, three significant digits (`4.22MB`, `123kB`).
pub fn human_size(bytes: u64) -> String {
    scaled_size(bytes, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB", "EB"], 3)
}

/// go-units `HumanSize`: decimal units, four significant digits (`16.43MB`), as
/// `system df` shows sizes.
pub fn human_size4(bytes: u64) -> String {
    scaled_size(bytes, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB", "EB"], 4)
}

/// Docker's binary sizes (go-units `BytesSize`): four significant digits (`1.5MiB`,
/// `23.47GiB`), as `stats` shows memory.
pub fn bytes_size(bytes: u64) -> String {
    scaled_size(
        bytes,
        1024.0,
        &["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"],
        4,
    )
}

/// `bytes` divided by `base` until below it, printed like Go's `%.{digits}g` (no
/// exponent, trailing zeros dropped) followed by the unit.
fn scaled_size(bytes: u64, base: f64, units: &[&str], digits: i32) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= base && i + 1 < units.len() {
        v /= base;
        i += 1;
    }
    let mut magnitude = 0;
    while magnitude + 1 < digits && v >= 10f64.powi(magnitude + 1) {
        magnitude += 1;
    }
    let decimals = usize::try_from(digits - 1 - magnitude).unwrap_or(0);
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    format!("{s}{}", units[i])
}

/// A prune report's block: `title`, one line per item, a blank line; nothing when
/// `items` is empty.
pub fn print_deleted(title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let mut out = format!("{title}\n");
    for i in items {
        out.push_str(i);
        out.push('\n');
    }
    println!("{out}");
}

/// Docker's "3 days ago" (go-units `HumanDuration`).
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    match () {
        () if s < 1 => "Less than a second".to_owned(),
        () if s == 1 => "1 second".to_owned(),
        () if s < 60 => format!("{s} seconds"),
        () if m == 1 => "About a minute".to_owned(),
        () if m < 60 => format!("{m} minutes"),
        () if h == 1 => "About an hour".to_owned(),
        () if h < 48 => format!("{h} hours"),
        () if h < 24 * 7 * 2 => format!("{d} days"),
        () if h < 24 * 30 * 2 => format!("{} weeks", d / 7),
        () if h < 24 * 365 * 2 => format!("{} months", d / 30),
        () => format!("{} years", d / 365),
    }
}

/// Seconds since `ns` (ns since the epoch) as Docker's `… ago`.
pub fn since_ns(ns: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    format!("{} ago", human_duration(now - ns / 1_000_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_json_and_tables() {
        let row = json!({"Repository": "alpine", "Tag": "3", "ID": "abc", "Labels": {"a": "b"}});
        assert_eq!(
            render("{{.Repository}}:{{.Tag}}", &row).unwrap(),
            "alpine:3"
        );
        assert_eq!(render("{{json .Labels}}", &row).unwrap(), r#"{"a":"b"}"#);
        assert_eq!(render("{{.ID}}\\t{{.Tag}}", &row).unwrap(), "abc\t3");
        let rows = vec![
            row.clone(),
            json!({"Repository": "busybox-long-name", "Tag": "latest", "ID": "def"}),
        ];
        let t = render_table(
            "table {{.Repository}}\t{{.ID}}",
            &rows,
            &[("ID", "IMAGE ID")],
        )
        .unwrap();
        assert_eq!(
            t,
            "REPOSITORY          IMAGE ID\nalpine              abc\nbusybox-long-name   def\n"
        );
        let plain = render_table("{{.ID}}", &rows, &[]).unwrap();
        assert_eq!(plain, "abc\ndef\n");
        assert!(render("{{.Nope", &row).is_err());
    }

    #[test]
    fn human_units() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(1500), "1.5kB");
        assert_eq!(human_size(4_220_000), "4.22MB");
        assert_eq!(human_size(123_456_789), "123MB");
        assert_eq!(bytes_size(742_400), "725KiB");
        assert_eq!(bytes_size(1_572_864), "1.5MiB");
        assert_eq!(bytes_size(25_200_000_000), "23.47GiB");
        assert_eq!(bytes_size(0), "0B");
        assert_eq!(human_size4(16_430_000), "16.43MB");
        assert_eq!(human_duration(3 * 86400), "3 days");
        assert_eq!(human_duration(90), "About a minute");
        assert_eq!(human_duration(5 * 3600), "5 hours");
        assert_eq!(human_duration(3 * 365 * 86400), "3 years");
    }
}
