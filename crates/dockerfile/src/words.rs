//! Splitting instruction arguments into words, keeping byte offsets for error locations.

/// Splits on whitespace; each word comes with its byte offset (plus `base`).
pub(crate) fn split_ws(s: &str, base: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(st)) => {
                out.push((base + st, &s[st..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((base + st, &s[st..]));
    }
    out
}

/// Splits on whitespace outside quotes; quotes and escape characters stay in the
/// words (they are removed later by expansion), as BuildKit's `parseWords` does.
pub(crate) fn shell_words(s: &str, base: usize, escape: char) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            word.push(c);
            escaped = false;
            continue;
        }
        if quote.is_none() && c.is_whitespace() {
            if let Some(st) = start.take() {
                out.push((base + st, std::mem::take(&mut word)));
            }
            continue;
        }
        if start.is_none() {
            start = Some(i);
        }
        word.push(c);
        if c == escape && quote != Some('\'') {
            escaped = true;
        } else if quote == Some(c) {
            quote = None;
        } else if quote.is_none() && (c == '"' || c == '\'') {
            quote = Some(c);
        }
    }
    if let Some(st) = start {
        out.push((base + st, word));
    }
    out
}

/// Removes quotes and escape characters from a flag value (`--chown="app"`).
pub(crate) fn unquote(s: &str, escape: char) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == escape && quote != Some('\'') {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else if quote == Some(c) {
            quote = None;
        } else if quote.is_none() && (c == '"' || c == '\'') {
            quote = Some(c);
        } else {
            out.push(c);
        }
    }
    out
}

/// The result of trying the JSON (exec) form.
pub(crate) enum Json {
    /// Not written as a JSON array at all.
    Absent,
    /// Looks like JSON (`[` ... `]`) but is not an array of strings.
    Invalid(String),
    /// Valid JSON, but an array holding something other than strings: an error in
    /// Docker, not a fallback to the shell form.
    NotStrings,
    /// A JSON array of strings.
    Array(Vec<String>),
}

/// Tries the JSON form: a JSON array of strings. Docker falls back to the shell
/// form when this fails, except for SHELL.
pub(crate) fn json_array(s: &str) -> Json {
    let t = s.trim();
    if !t.starts_with('[') {
        return Json::Absent;
    }
    match serde_json::from_str::<serde_json::Value>(t) {
        Ok(serde_json::Value::Array(items)) => {
            let strings: Option<Vec<String>> = items
                .into_iter()
                .map(|i| match i {
                    serde_json::Value::String(s) => Some(s),
                    _ => None,
                })
                .collect();
            strings.map_or(Json::NotStrings, Json::Array)
        }
        Ok(_) => Json::Invalid("not an array".to_string()),
        Err(e) => Json::Invalid(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_split_keeps_offsets() {
        assert_eq!(
            split_ws("  a bb\tc ", 4),
            vec![(6, "a"), (8, "bb"), (11, "c")]
        );
    }

    #[test]
    fn shell_words_keep_quotes() {
        let w: Vec<String> = shell_words(r#"a="x y" b='p q' c=d\ e"#, 0, '\\')
            .into_iter()
            .map(|(_, w)| w)
            .collect();
        assert_eq!(w, vec![r#"a="x y""#, "b='p q'", r"c=d\ e"]);
    }

    #[test]
    fn unquote_removes_quotes() {
        assert_eq!(unquote(r#""app":'grp'"#, '\\'), "app:grp");
        assert_eq!(unquote(r"a\ b", '\\'), "a b");
    }
}
