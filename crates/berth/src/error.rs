//! Rendering an error chain for the user, once each.

/// Joins an error and its causes with ": ", skipping a cause whose text the message
/// already contains (library errors often show their source in their own text).
pub fn render(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    // A `hint:` line belongs at the end, after every cause.
    let mut lines: Vec<&str> = Vec::new();
    let mut hints: Vec<&str> = Vec::new();
    for l in out.lines() {
        if l.starts_with("hint:") {
            hints.push(l);
        } else {
            lines.push(l);
        }
    }
    let mut s = lines.join("\n");
    for h in hints {
        s.push('\n');
        s.push_str(h);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_causes_are_printed_once_and_hints_last() {
        let inner = std::io::Error::other("no such file");
        let e = anyhow::Error::new(inner)
            .context("reading x: no such file\nhint: create it")
            .context("loading bundle");
        assert_eq!(
            render(&e),
            "loading bundle: reading x: no such file\nhint: create it"
        );
    }
}
