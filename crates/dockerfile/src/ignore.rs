//! `.dockerignore` matching as Docker's builder does it (moby's pattern matcher):
//! Go `filepath.Match` wildcards (`*` and `?` stop at `/`, `[...]` classes, `\`
//! escapes) plus `**` for any number of directories; patterns are trimmed, cleaned
//! like Go's `path.Clean`, and a leading `/` is dropped; `!` makes an exception;
//! the last matching pattern wins; a pattern also matches everything below a
//! directory it matches; `#` lines are comments; the pattern `.` is ignored.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The compiled patterns of one ignore file.
#[derive(Debug, Clone, Default)]
pub struct IgnoreMatcher {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    exclusion: bool,
    tokens: Vec<Tok>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `?`: one character other than `/`.
    One,
    /// `*`: any run of characters other than `/`.
    Star,
    /// `**` or `**/` not at the end: nothing, or anything ending in `/`.
    Dirs,
    /// `**` at the end: anything.
    All,
    /// `[...]` / `[^...]`.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl IgnoreMatcher {
    /// Reads `.dockerignore` content (named `.dockerignore` in errors).
    pub fn parse(content: &str) -> Result<Self> {
        Self::parse_named(content, ".dockerignore")
    }

    /// Reads ignore-file content; `file` names it in errors.
    pub fn parse_named(content: &str, file: &str) -> Result<Self> {
        let content = content.strip_prefix('\u{feff}').unwrap_or(content);
        let mut patterns = Vec::new();
        for (i, raw) in content.lines().enumerate() {
            // Comments are recognised before trimming, as Docker does.
            if raw.starts_with('#') {
                continue;
            }
            let trimmed = raw.trim();
            if trimmed.is_empty() {
                continue;
            }
            let fail = |message: &str| Error::BadIgnorePattern {
                file: file.to_string(),
                line: i + 1,
                pattern: trimmed.to_string(),
                message: message.to_string(),
            };
            if let Some(p) = compile(trimmed).map_err(|m| fail(&m))? {
                patterns.push(p);
            }
        }
        Ok(IgnoreMatcher { patterns })
    }

    /// Compiles patterns given one by one (like `COPY --exclude`).
    pub fn from_patterns<S: AsRef<str>>(patterns: &[S]) -> Result<Self> {
        let mut out = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            let p = p.as_ref().trim();
            if p.is_empty() {
                continue;
            }
            let compiled = compile(p).map_err(|message| Error::BadIgnorePattern {
                file: "patterns".to_string(),
                line: i + 1,
                pattern: p.to_string(),
                message,
            })?;
            out.extend(compiled);
        }
        Ok(IgnoreMatcher { patterns: out })
    }

    /// The cleaned patterns, `!` included for exceptions.
    #[must_use]
    pub fn patterns(&self) -> Vec<String> {
        self.patterns
            .iter()
            .map(|p| {
                if p.exclusion {
                    format!("!{}", p.text)
                } else {
                    p.text.clone()
                }
            })
            .collect()
    }

    /// Whether `rel_path` (relative to the context, `/`-separated) is ignored.
    #[must_use]
    pub fn matches(&self, rel_path: &str) -> bool {
        let path = normalize(rel_path);
        let parents: Vec<&str> = parent_prefixes(&path);
        let chars: Vec<char> = path.chars().collect();
        let mut matched = false;
        for p in &self.patterns {
            // Only a pattern that could flip the outcome needs evaluating.
            if p.exclusion != matched {
                continue;
            }
            let hit = p.matches(&chars)
                || parents
                    .iter()
                    .any(|parent| p.matches(&parent.chars().collect::<Vec<_>>()));
            if hit {
                matched = !p.exclusion;
            }
        }
        matched
    }

    /// Whether the directory `dir` can be skipped without looking inside: it is
    /// ignored, and no `!` exception could re-include anything below it.
    #[must_use]
    pub fn can_skip_dir(&self, dir: &str) -> bool {
        if !self.matches(dir) {
            return false;
        }
        let mut prefix: Vec<char> = normalize(dir).chars().collect();
        prefix.push('/');
        !self
            .patterns
            .iter()
            .any(|p| p.exclusion && p.may_match_below(&prefix))
    }

    /// Whether there are no patterns at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

/// The ignore files to try for a Dockerfile, in order: `<Dockerfile>.dockerignore`
/// beside the Dockerfile, then `.dockerignore` at the context root (relative path).
#[must_use]
pub fn ignore_file_candidates(dockerfile: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(name) = dockerfile.file_name() {
        let mut specific = name.to_os_string();
        specific.push(".dockerignore");
        out.push(dockerfile.with_file_name(specific));
    }
    out.push(PathBuf::from(".dockerignore"));
    out
}

/// Go's `path.Clean` for `/`-separated paths.
#[must_use]
pub fn clean_path(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// A context-relative path as the matcher compares it.
fn normalize(p: &str) -> String {
    let c = clean_path(p);
    match c.strip_prefix('/') {
        Some("") => ".".to_string(),
        Some(rest) => rest.to_string(),
        None => c,
    }
}

/// `a`, `a/b` for `a/b/c`: the path's ancestors from the top.
fn parent_prefixes(path: &str) -> Vec<&str> {
    path.match_indices('/').map(|(i, _)| &path[..i]).collect()
}

/// One ignore-file line (trimmed, non-empty, not a comment) to a pattern; `None` for
/// the ignored pattern `.`.
fn compile(line: &str) -> Result<Option<Pattern>, String> {
    let (exclusion, body) = match line.strip_prefix('!') {
        Some(rest) => (true, rest.trim()),
        None => (false, line),
    };
    if body.is_empty() {
        return Err("an exception needs a pattern after !".to_string());
    }
    let mut text = clean_path(body);
    if text.len() > 1 && text.starts_with('/') {
        text.remove(0);
    }
    if text == "." {
        return Ok(None);
    }
    let tokens = tokenize(&text)?;
    Ok(Some(Pattern {
        text,
        exclusion,
        tokens,
    }))
}

fn tokenize(p: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                out.push(if i >= chars.len() {
                    Tok::All
                } else {
                    Tok::Dirs
                });
            }
            '*' => out.push(Tok::Star),
            '?' => out.push(Tok::One),
            '\\' => match chars.get(i) {
                Some(&n) => {
                    out.push(Tok::Lit(n));
                    i += 1;
                }
                None => out.push(Tok::Lit('\\')),
            },
            '[' => {
                let (tok, next) = class(&chars, i)?;
                out.push(tok);
                i = next;
            }
            c => out.push(Tok::Lit(c)),
        }
    }
    Ok(out)
}

/// Parses a class starting after `[`; returns it and the index after `]`.
fn class(chars: &[char], mut i: usize) -> Result<(Tok, usize), String> {
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let read = |i: &mut usize| -> Result<char, String> {
        let c = *chars.get(*i).ok_or("unterminated character class")?;
        *i += 1;
        if c == '\\' {
            let n = *chars.get(*i).ok_or("unterminated character class")?;
            *i += 1;
            return Ok(n);
        }
        Ok(c)
    };
    loop {
        match chars.get(i) {
            None => return Err("unterminated character class".to_string()),
            Some(']') if !ranges.is_empty() => return Ok((Tok::Class { negated, ranges }, i + 1)),
            Some(']') => return Err("empty character class".to_string()),
            Some(_) => {
                let lo = read(&mut i)?;
                let hi = if chars.get(i) == Some(&'-') && chars.get(i + 1) != Some(&']') {
                    i += 1;
                    read(&mut i)?
                } else {
                    lo
                };
                if hi < lo {
                    return Err(format!("bad range {lo}-{hi} in character class"));
                }
                ranges.push((lo, hi));
            }
        }
    }
}

impl Tok {
    fn single(&self, c: char) -> bool {
        match self {
            Tok::Lit(l) => *l == c,
            Tok::One => c != '/',
            // Docker turns classes into regular-expression classes, which may match `/`.
            Tok::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
            _ => false,
        }
    }
}

impl Pattern {
    fn matches(&self, text: &[char]) -> bool {
        let mut memo = vec![None; (self.tokens.len() + 1) * (text.len() + 1)];
        self.step(0, 0, text, false, &mut memo)
    }

    /// Whether the pattern can match some path that starts with `prefix` (which ends
    /// in `/`) and continues below it.
    fn may_match_below(&self, prefix: &[char]) -> bool {
        let mut memo = vec![None; (self.tokens.len() + 1) * (prefix.len() + 1)];
        self.step(0, 0, prefix, true, &mut memo)
    }

    /// Matches tokens from `pi` against text from `ti`. With `open`, the text is a
    /// prefix: reaching its end with tokens left counts as a (possible) match.
    fn step(
        &self,
        pi: usize,
        ti: usize,
        t: &[char],
        open: bool,
        memo: &mut [Option<bool>],
    ) -> bool {
        let key = pi * (t.len() + 1) + ti;
        if let Some(r) = memo[key] {
            return r;
        }
        let r = match self.tokens.get(pi) {
            None => ti == t.len() && !open,
            Some(_) if open && ti == t.len() => true,
            Some(Tok::All) => true,
            Some(Tok::Star) => {
                let mut k = ti;
                loop {
                    if self.step(pi + 1, k, t, open, memo) {
                        break true;
                    }
                    if k == t.len() || t[k] == '/' {
                        break false;
                    }
                    k += 1;
                }
            }
            Some(Tok::Dirs) => {
                self.step(pi + 1, ti, t, open, memo)
                    || (ti..t.len())
                        .filter(|&k| t[k] == '/')
                        .any(|k| self.step(pi + 1, k + 1, t, open, memo))
            }
            Some(tok) => {
                ti < t.len() && tok.single(t[ti]) && self.step(pi + 1, ti + 1, t, open, memo)
            }
        };
        memo[key] = Some(r);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_clean() {
        for (input, want) in [
            ("a/b/../c", "a/c"),
            ("./a//b/", "a/b"),
            ("/../a", "/a"),
            ("../a", "../a"),
            ("", "."),
            ("/", "/"),
            ("a/..", "."),
        ] {
            assert_eq!(clean_path(input), want, "{input}");
        }
    }

    #[test]
    fn candidates() {
        assert_eq!(
            ignore_file_candidates(Path::new("docker/app.Dockerfile")),
            vec![
                PathBuf::from("docker/app.Dockerfile.dockerignore"),
                PathBuf::from(".dockerignore")
            ]
        );
    }
}
