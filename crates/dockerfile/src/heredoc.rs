//! Here-documents (`RUN <<EOF`, `COPY <<EOF /dst`, `<<-EOF`, `<<"EOF"`).

use crate::words;

/// A here-document attached to a `RUN`, `COPY` or `ADD` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter (`EOF` in `<<EOF`), without quotes.
    pub name: String,
    /// The body: every line up to the delimiter, each ending in `\n`; with `<<-`
    /// leading tabs are already removed.
    pub content: String,
    /// Unquoted delimiter: variables in the body are expanded (by the shell for `RUN`,
    /// by the builder for `COPY`/`ADD`). A quoted delimiter (`<<'EOF'`) disables that.
    pub expand: bool,
    /// Written as `<<-`: leading tabs were stripped from the body and the delimiter line.
    pub strip_tabs: bool,
}

/// A here-document opener found on an instruction line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    pub offset: usize,
    pub delimiter: String,
    pub expand: bool,
    pub strip_tabs: bool,
}

/// The instructions that may carry here-documents (as in BuildKit).
const HEREDOC_INSTRUCTIONS: [&str; 3] = ["RUN", "COPY", "ADD"];

/// Finds the here-document openers of an instruction line, in order.
pub(crate) fn detect(text: &str, escape: char) -> Vec<Spec> {
    let keyword_end = text.find(char::is_whitespace).unwrap_or(text.len());
    if !HEREDOC_INSTRUCTIONS
        .iter()
        .any(|k| k.eq_ignore_ascii_case(&text[..keyword_end]))
    {
        return Vec::new();
    }
    words::shell_words(&text[keyword_end..], keyword_end, escape)
        .into_iter()
        .filter_map(|(offset, word)| parse_opener(&word).map(|spec| Spec { offset, ..spec }))
        .collect()
}

/// Parses a `<<[-]NAME`, `<<[-]"NAME"` or `<<[-]'NAME'` word (not `<<<`).
fn parse_opener(word: &str) -> Option<Spec> {
    let rest = word.strip_prefix("<<")?;
    if rest.starts_with('<') {
        return None;
    }
    let (strip_tabs, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let (quoted, body) = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let inner = &rest[1..];
            let end = inner.find(q)?;
            (true, &inner[..end])
        }
        _ => (false, rest),
    };
    let delimiter: String = body
        .chars()
        .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .collect();
    if delimiter.is_empty() || (quoted && delimiter.len() != body.len()) {
        return None;
    }
    Some(Spec {
        offset: 0,
        delimiter,
        expand: !quoted,
        strip_tabs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openers() {
        let s = parse_opener("<<EOF").unwrap();
        assert_eq!(
            (s.delimiter.as_str(), s.expand, s.strip_tabs),
            ("EOF", true, false)
        );
        let s = parse_opener("<<-'END'").unwrap();
        assert_eq!(
            (s.delimiter.as_str(), s.expand, s.strip_tabs),
            ("END", false, true)
        );
        let s = parse_opener("<<\"x1\"").unwrap();
        assert_eq!((s.delimiter.as_str(), s.expand), ("x1", false));
        assert!(parse_opener("<<<here").is_none());
        assert!(parse_opener("<<").is_none());
        assert!(parse_opener("<EOF").is_none());
    }

    #[test]
    fn only_for_run_copy_add() {
        assert_eq!(detect("RUN cat <<A <<B", '\\').len(), 2);
        assert_eq!(detect("copy <<A /x", '\\').len(), 1);
        assert!(detect("CMD cat <<A", '\\').is_empty());
        assert!(detect("RUN echo '<<A'", '\\').is_empty());
    }
}
